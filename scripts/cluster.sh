#!/usr/bin/env bash
# The local cluster: N Inkroom "pods" (`python -m realtime.server.serve`) on loopback ports behind an
# nginx that stands in for the Kubernetes Ingress, sharing one PostgreSQL and one Redis.
#
#   scripts/cluster.sh up [N]     start N pods (default 2), migrate, start nginx; if already up: scale
#   scripts/cluster.sh scale N    add pods, or remove the highest ports (out of nginx first, then SIGTERM)
#   scripts/cluster.sh reload     re-render and reload nginx (e.g. after changing CLUSTER_LB)
#   scripts/cluster.sh status     one line per process this script started
#   scripts/cluster.sh down       stop exactly the processes recorded under $CLUSTER_DIR, by PID
#
# Every PID it starts is recorded under $CLUSTER_DIR (pods/<port>.pid, nginx/master.pid), and only
# those PIDs are ever signalled, after checking that the PID still runs the command we started
# (PIDs get reused). PostgreSQL and Redis are not started here: the cluster uses the running
# services (scripts/ensure-services.sh), or whatever CLUSTER_DATABASE_URL / CLUSTER_REDIS_URL
# name (the fault tests point them at a private Redis and a TCP proxy they control).
#
# Environment (all optional):
#   CLUSTER_DIR            state, logs, nginx prefix          (default: <repo>/.cluster)
#   CLUSTER_PORT           nginx listen port on 127.0.0.1      (default: 18310)
#   CLUSTER_POD_BASE_PORT  first pod port; pods take the next free ones (default: 18311)
#   CLUSTER_DATABASE_URL   (default: postgres://postgres@127.0.0.1:5432/inkroom_cluster; created if missing)
#   CLUSTER_REDIS_URL      (default: redis://127.0.0.1:6379/3)
#   CLUSTER_LB             roundrobin (default) | hash (board id, like the Ingress)
#   CLUSTER_PYTHON         (default: <repo>/.venv/bin/python)
#   NGINX                  (default: nginx on PATH, else /usr/sbin/nginx)
#   INKROOM_DRAIN_SECS     pod drain budget on SIGTERM (default here: 5)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CLUSTER_DIR="${CLUSTER_DIR:-$ROOT/.cluster}"
LB_PORT="${CLUSTER_PORT:-18310}"
POD_BASE_PORT="${CLUSTER_POD_BASE_PORT:-18311}"
DB_URL="${CLUSTER_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/inkroom_cluster}"
REDIS="${CLUSTER_REDIS_URL:-redis://127.0.0.1:6379/3}"
LB="${CLUSTER_LB:-roundrobin}"
PY="${CLUSTER_PYTHON:-$ROOT/.venv/bin/python}"
NGINX="${NGINX:-$(command -v nginx || echo /usr/sbin/nginx)}"
DRAIN_SECS="${INKROOM_DRAIN_SECS:-5}"
# Seconds between taking a pod out of nginx and SIGTERMing it: the local preStop sleep.
PRESTOP_SECS="${CLUSTER_PRESTOP_SECS:-0.5}"
# Seconds a pod may take to answer /readyz after it starts.
READY_TIMEOUT_SECS=30
# nginx's pod list is rebuilt on every change; ports above this many pods are never used.
MAX_PODS=30

PODS_DIR="$CLUSTER_DIR/pods"
cd "$ROOT"
NGX_DIR="$CLUSTER_DIR/nginx"

log() { printf 'cluster: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

# True when $1 is alive and its command line contains $2 (guards against PID reuse).
runs() {
  local pid="$1" what="$2"
  [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$what"
}

# True while $1 exists and is not a zombie: right after the fork the child still runs our own
# bash (its cmdline is not yet realtime.server.serve), so start-up checks use this instead of runs().
exists() {
  [ -n "$1" ] && [ -r "/proc/$1/status" ] && ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null
}

pod_pid() { cat "$PODS_DIR/$1.pid" 2>/dev/null || true; }
# A pod of *this* cluster: many people run realtime.server.serve on a shared machine, and a recycled
# PID must never make us signal theirs, so the pod's environment must name our state directory.
ours() {
  runs "$1" realtime.server.serve && tr '\0' '\n' <"/proc/$1/environ" 2>/dev/null \
    | grep -qxF -- "INKROOM_CLUSTER_DIR=$CLUSTER_DIR"
}
pod_alive() { ours "$(pod_pid "$1")"; }
nginx_pid() { cat "$NGX_DIR/master.pid" 2>/dev/null || true; }
# nginx rewrites its title to "nginx: master process <argv>", which names our prefix directory.
nginx_alive() { runs "$(nginx_pid)" "-p $NGX_DIR -c"; }

# Ports with a pid file, ascending.
recorded_ports() {
  local f
  for f in "$PODS_DIR"/*.pid; do
    [ -e "$f" ] || continue
    basename "$f" .pid
  done | sort -n
}

live_ports() {
  local port
  for port in $(recorded_ports); do
    pod_alive "$port" && echo "$port"
  done
  return 0
}

# Forget pods that died (SIGKILLed, crashed): their pid files would otherwise block the port.
reap_dead() {
  local port
  for port in $(recorded_ports); do
    pod_alive "$port" || { log "pod :$port is gone; forgetting it"; rm -f "$PODS_DIR/$port.pid"; }
  done
}

# The environment of every pod (and of migrate): the cluster's services, not the caller's.
pod_env() {
  POD_ENV=(
    DATABASE_URL="$DB_URL" REDIS_URL="$REDIS"
    CHANNEL_LAYER_PREFIX="${CLUSTER_CHANNEL_PREFIX:-inkroom-cluster}"
    SECRET_KEY="${SECRET_KEY:-inkroom-local-cluster-insecure-key}" DEBUG=0
    ALLOWED_HOSTS="127.0.0.1,localhost" HOST=127.0.0.1 BIND=
    INKROOM_DRAIN_SECS="$DRAIN_SECS" INKROOM_CLUSTER_DIR="$CLUSTER_DIR"
  )
}

ensure_database() {
  log "database: ensuring $(sed -E 's#//[^@]*@#//#' <<<"$DB_URL") exists and is migrated"
  if ! env "${POD_ENV[@]}" "$PY" - "$DB_URL" <<'PY'
from __future__ import annotations

import sys
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql

url = urlsplit(sys.argv[1])
name = url.path.lstrip("/")
admin = urlunsplit(url._replace(path="/postgres"))
with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
    if not conn.execute("select 1 from pg_database where datname = %s", (name,)).fetchone():
        conn.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
PY
  then
    die "cannot create the database (is PostgreSQL up? scripts/ensure-services.sh)"
  fi
  env "${POD_ENV[@]}" "$PY" manage.py migrate --noinput -v 0 || die "migrate failed"
}

wait_ready() {
  local port="$1" deadline=$((SECONDS + READY_TIMEOUT_SECS))
  while [ "$SECONDS" -lt "$deadline" ]; do
    exists "$(pod_pid "$port")" || die "pod :$port exited during start-up; see $CLUSTER_DIR/pod-$port.log"
    curl -fs -o /dev/null --max-time 2 "http://127.0.0.1:$port/readyz" && return 0
    sleep 0.2
  done
  die "pod :$port not ready after ${READY_TIMEOUT_SECS}s; see $CLUSTER_DIR/pod-$port.log"
}

start_pod() {
  local port="$1"
  # setsid: the pod is not in our process group, so ^C on `make cluster` or a test runner's
  # group kill never reaches it; `down` is the one way it stops. A plain backgrounded command
  # (no function, no subshell) so that $! is the PID that env, setsid and python exec into.
  env "${POD_ENV[@]}" PORT="$port" POD_NAME="pod-$port" setsid "$PY" -m realtime.server.serve \
    >>"$CLUSTER_DIR/pod-$port.log" 2>&1 </dev/null &
  echo $! >"$PODS_DIR/$port.pid"
  log "pod :$port started (pid $!)"
}

free_port() {
  local i port
  for ((i = 0; i < MAX_PODS; i++)); do
    port=$((POD_BASE_PORT + i))
    [ "$port" -eq "$LB_PORT" ] && continue
    [ -e "$PODS_DIR/$port.pid" ] || { echo "$port"; return 0; }
  done
  die "no free pod port (at most $MAX_PODS pods)"
}

render_nginx() {
  local servers="" port balance=""
  for port in "$@"; do
    # One failed connect takes a pod out for 2 s; nginx then retries the next pod.
    servers+="        server 127.0.0.1:$port max_fails=1 fail_timeout=2s;"$'\n'
  done
  [ -n "$servers" ] || servers="        server 127.0.0.1:1 down;"$'\n'
  [ "$LB" = hash ] && balance='hash $board_key consistent;'
  mkdir -p "$NGX_DIR/tmp"
  # Each proxied socket costs nginx two descriptors; stay within the hard limit we may raise to.
  local hard nofile
  hard="$(ulimit -Hn)"
  nofile=65536
  [ "$hard" != unlimited ] && [ "$hard" -lt "$nofile" ] && nofile="$hard"
  GENERATION="$(date +%s%N)"
  SERVERS="$servers" BALANCE="$balance" DIR="$NGX_DIR" PORT="$LB_PORT" NOFILE="$nofile" \
    CONNECTIONS="$((nofile / 2))" GENERATION="$GENERATION" "$PY" - \
    "$ROOT/scripts/cluster/nginx.conf.tmpl" "$NGX_DIR/nginx.conf" <<'PY'
from __future__ import annotations

import os
import sys

text = open(sys.argv[1]).read()
for key in ("SERVERS", "BALANCE", "DIR", "PORT", "NOFILE", "CONNECTIONS", "GENERATION"):
    text = text.replace(f"@{key}@", os.environ[key].rstrip("\n"))
open(sys.argv[2], "w").write(text)
PY
  "$NGINX" -t -q -p "$NGX_DIR" -c "$NGX_DIR/nginx.conf" -e "$NGX_DIR/error.log" \
    || die "nginx rejected $NGX_DIR/nginx.conf"
}

# Reload nginx and return once only the new configuration answers (several times in a row,
# since old and new workers briefly share the listening socket).
reload_nginx() {
  "$NGINX" -p "$NGX_DIR" -c "$NGX_DIR/nginx.conf" -e "$NGX_DIR/error.log" -s reload
  local url="http://127.0.0.1:$LB_PORT/__cluster/generation" streak=0 deadline=$((SECONDS + 10))
  while [ "$streak" -lt 5 ]; do
    [ "$SECONDS" -lt "$deadline" ] || die "nginx did not pick up the new configuration"
    if [ "$(curl -s --max-time 1 "$url")" = "$GENERATION" ]; then
      streak=$((streak + 1))
    else
      streak=0
      sleep 0.05
    fi
  done
  # The new workers answer first; the old worker stops accepting only once it has taken the
  # master's QUIT (its title then says "shutting down"). Until then a new connection may still
  # land under the old configuration (seen: one of four sockets hashed the old way).
  while [ "$(ps -o args= --ppid "$(nginx_pid)" | grep -cx 'nginx: worker process')" != 1 ]; do
    [ "$SECONDS" -lt "$deadline" ] || die "nginx's old worker did not stop accepting"
    sleep 0.05
  done
}

start_or_reload_nginx() {
  # shellcheck disable=SC2046
  render_nginx $(live_ports)
  if nginx_alive; then
    reload_nginx
    log "nginx reloaded: $(live_ports | tr '\n' ' ')"
    return 0
  fi
  setsid "$NGINX" -p "$NGX_DIR" -c "$NGX_DIR/nginx.conf" -e "$NGX_DIR/error.log" \
    >>"$NGX_DIR/stdout.log" 2>&1 </dev/null &
  echo $! >"$NGX_DIR/master.pid"
  local deadline=$((SECONDS + 10))
  until curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$LB_PORT/"; do
    nginx_alive || die "nginx exited; see $NGX_DIR/error.log"
    [ "$SECONDS" -lt "$deadline" ] || die "nginx not listening on :$LB_PORT"
    sleep 0.1
  done
  log "nginx on http://127.0.0.1:$LB_PORT ($LB) -> $(live_ports | tr '\n' ' ')"
}

# SIGTERM the given pods, wait for them to drain, SIGKILL what overruns.
stop_pods() {
  local port pid deadline
  for port in "$@"; do
    pid="$(pod_pid "$port")"
    ours "$pid" && kill -TERM "$pid" 2>/dev/null || true
  done
  deadline=$((SECONDS + ${DRAIN_SECS%.*} + 5))
  for port in "$@"; do
    pid="$(pod_pid "$port")"
    while ours "$pid" && [ "$SECONDS" -lt "$deadline" ]; do sleep 0.1; done
    if ours "$pid"; then
      log "pod :$port overran its drain; SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$PODS_DIR/$port.pid"
    log "pod :$port stopped"
  done
}

cmd_scale() {
  local want="$1" have port
  [[ "$want" =~ ^[0-9]+$ ]] && [ "$want" -ge 1 ] || die "scale needs a pod count >= 1"
  [ "$want" -le "$MAX_PODS" ] || die "at most $MAX_PODS pods"
  mkdir -p "$PODS_DIR"
  reap_dead
  mapfile -t have < <(live_ports)
  if [ "${#have[@]}" -lt "$want" ]; then
    local new=()
    while [ $((${#have[@]} + ${#new[@]})) -lt "$want" ]; do
      port="$(free_port)"
      start_pod "$port"
      new+=("$port")
    done
    for port in "${new[@]}"; do wait_ready "$port"; done
    start_or_reload_nginx
  elif [ "${#have[@]}" -gt "$want" ]; then
    local gone=("${have[@]:$want}")
    # Like Kubernetes: out of the load balancer first, then the grace sleep, then SIGTERM.
    if nginx_alive; then
      render_nginx "${have[@]:0:$want}"
      reload_nginx
      log "nginx reloaded without: ${gone[*]}"
      sleep "$PRESTOP_SECS"
    fi
    stop_pods "${gone[@]}"
  fi
  log "$want pod(s) up"
}

cmd_up() {
  local n="${1:-2}"
  mkdir -p "$PODS_DIR" "$NGX_DIR"
  [ -x "$PY" ] || die "no python at $PY (make setup)"
  [ -x "$NGINX" ] || die "nginx not found (scripts/ensure-services.sh installs it)"
  if [ -n "$(live_ports)" ] || nginx_alive; then
    log "already running; scaling to $n"
  else
    ensure_database
  fi
  cmd_scale "$n"
  nginx_alive || start_or_reload_nginx
  echo "http://127.0.0.1:$LB_PORT"
}

cmd_down() {
  local pid
  # shellcheck disable=SC2046
  [ -d "$PODS_DIR" ] && stop_pods $(recorded_ports)
  pid="$(nginx_pid)"
  if nginx_alive; then
    # SIGTERM is nginx's fast shutdown: it does not wait for open WebSockets like SIGQUIT would.
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do nginx_alive || break; sleep 0.1; done
    nginx_alive && kill -KILL "$pid" 2>/dev/null || true
    log "nginx stopped"
  fi
  rm -f "$NGX_DIR/master.pid"
}

cmd_status() {
  local port state
  for port in $(recorded_ports); do
    if ! pod_alive "$port"; then
      state=dead
    elif curl -fs -o /dev/null --max-time 2 "http://127.0.0.1:$port/readyz"; then
      state=ready
    else
      state=unready
    fi
    printf 'pod   :%s pid %s %s\n' "$port" "$(pod_pid "$port")" "$state"
  done
  if nginx_alive; then
    printf 'nginx :%s pid %s running\n' "$LB_PORT" "$(nginx_pid)"
  else
    printf 'nginx :%s stopped\n' "$LB_PORT"
  fi
}

pod_env
case "${1:-}" in
  up) cmd_up "${2:-2}" ;;
  scale)
    [ $# -ge 2 ] || die "usage: $0 scale N"
    # Scaling a cluster that is not running is starting it (database check included).
    if [ -z "$(live_ports)" ] && ! nginx_alive; then cmd_up "$2"; else cmd_scale "$2"; fi
    ;;
  reload)
    # Re-render nginx's configuration (e.g. after changing CLUSTER_LB) without touching pods.
    nginx_alive || die "the cluster is not running"
    start_or_reload_nginx
    ;;
  down) cmd_down ;;
  status) cmd_status ;;
  *) die "usage: $0 up [N] | scale N | reload | status | down" ;;
esac
