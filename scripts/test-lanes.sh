#!/usr/bin/env bash
# `make test`'s pytest run: the suite in two lanes at once, the browser tests (tests/frontend) and
# everything else. Each lane mostly waits on other processes (Chromium, servers, pods, the
# database), so two lanes on two cores take little more than the longer one.
#
# The lanes share nothing that a test could see: the browser lane gets its own test database
# (DATABASE_URL's name + "_browser"), its own channel-layer and cache prefix (each lane's is
# CHANNEL_LAYER_PREFIX + "-browser" or "-rest"), and its own half of the test port range. Its output is kept in test-artifacts/browser-lane.log and printed after
# the other lane's; the exit status is non-zero when either lane failed.
#
# Usage: scripts/test-lanes.sh PYTHON [pytest args for both lanes]
set -uo pipefail
cd "$(dirname "$0")/.."

py=${1:?usage: scripts/test-lanes.sh PYTHON [pytest args]}
shift

database_url=${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test}
prefix=${CHANNEL_LAYER_PREFIX:-inkroom-test}
ports=${INKROOM_TEST_PORTS:-18150-18199}
lo=${ports%-*}
hi=${ports#*-}
mid=$(((lo + hi) / 2))

mkdir -p test-artifacts
browser_log=test-artifacts/browser-lane.log

# pytest exits 5 when a lane collects nothing (e.g. a -k that matches only the other lane).
ok() { [ "$1" -eq 0 ] || [ "$1" -eq 5 ]; }

# The browser lane's database: the name with "_browser", any ?query kept after it.
database_base=${database_url%%\?*}
browser_database_url="${database_base}_browser${database_url#"$database_base"}"

DATABASE_URL="$browser_database_url" CHANNEL_LAYER_PREFIX="${prefix}-browser" \
  INKROOM_TEST_PORTS="$((mid + 1))-${hi}" \
  "$py" -m pytest tests/frontend "$@" >"$browser_log" 2>&1 &
browser_pid=$!

# Neither lane's prefix may begin with the other's: tests flush the layer by prefix
# (`<prefix>*`), which would delete the other lane's servers' groups and messages.
DATABASE_URL="$database_url" CHANNEL_LAYER_PREFIX="${prefix}-rest" INKROOM_TEST_PORTS="${lo}-${mid}" \
  "$py" -m pytest --ignore=tests/frontend "$@"
rest=$?

wait "$browser_pid"
browser=$?
echo
echo "===== browser lane (tests/frontend; whole log in $browser_log) ====="
cat "$browser_log"

if ok "$rest" && ok "$browser"; then
  exit 0
fi
echo "failed: tests outside tests/frontend exited $rest, the browser lane $browser" >&2
exit 1
