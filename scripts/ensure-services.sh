#!/usr/bin/env bash
# Make sure the services the test suite talks to are reachable: PostgreSQL, Redis, and the
# binaries the browser and cluster tests start (Chromium, nginx). Starts or installs what is
# missing when this machine allows it; otherwise fails with one line saying what to install.
set -euo pipefail

apt_install() {
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >/dev/null \
      || { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >/dev/null; }
  else
    echo "ensure-services: please install: $*" >&2
    exit 1
  fi
}

pg_up() { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; }
redis_up() { (exec 3<>/dev/tcp/127.0.0.1/6379) 2>/dev/null; }

if ! command -v pg_isready >/dev/null; then apt_install postgresql postgresql-client; fi
if ! pg_up; then
  if [ -d /etc/postgresql ]; then
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start || true
  fi
  for _ in $(seq 1 30); do pg_up && break; sleep 0.5; done
  pg_up || { echo "ensure-services: PostgreSQL is not reachable on 127.0.0.1:5432; install and start postgresql" >&2; exit 1; }
fi
# Trust auth as postgres is what the suite expects; make sure the test database exists.
psql -h 127.0.0.1 -U postgres -d postgres -tAc "select 1 from pg_database where datname='test'" | grep -q 1 \
  || psql -h 127.0.0.1 -U postgres -d postgres -qc "create database test" \
  || { echo "ensure-services: cannot create database 'test' as postgres on 127.0.0.1 (trust auth needed)" >&2; exit 1; }

# The sharded-layer tests (tests/realtime/test_layer_shards.py, tests/cluster) start private
# redis-server processes of their own on other ports: they need the binary, not a second service.
if ! command -v redis-server >/dev/null; then apt_install redis-server; fi
if ! redis_up; then
  mkdir -p /var/lib/redis /var/log/redis 2>/dev/null || true
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /tmp --logfile /tmp/inkroom-redis.log >/dev/null
  for _ in $(seq 1 30); do redis_up && break; sleep 0.2; done
  redis_up || { echo "ensure-services: Redis is not reachable on 127.0.0.1:6379; install redis-server" >&2; exit 1; }
fi

command -v chromium >/dev/null || apt_install chromium
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || apt_install nginx-light
echo "services: PostgreSQL, Redis, Chromium and nginx ready"
