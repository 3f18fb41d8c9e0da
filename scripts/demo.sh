#!/usr/bin/env bash
# make demo: starts the Temporal dev server (SQLite in WAL mode, Web UI on 8233), the simulator and
# the worker, offboards a sample fleet through every path of the procedure, prints the outcomes
# and where to look, then keeps everything running until Ctrl-C, which stops what it started.
#
#   scripts/demo.sh                  the demo
#   scripts/demo.sh restart-worker   kill the worker (SIGKILL) and start it again, mid-demo
set -euo pipefail
cd "$(dirname "$0")/.."

# The settings, start_worker, build_binaries, start_stack and stop_stack (state in .offboard/demo).
source scripts/lib.sh

if [[ ${1:-} == restart-worker ]]; then
	kill -9 "$(cat "$data/worker.pid")" 2>/dev/null || true
	echo "worker killed (SIGKILL); starting a new one"
	start_worker
	exit 0
fi

build_binaries

cleanup() {
	trap - INT TERM EXIT
	echo
	echo "Stopping the worker, the simulator and the dev server ..."
	stop_stack
}
trap cleanup INT TERM EXIT

start_stack

bin/demo run --sim "http://$sim_addr"

cat <<MSG

Logs: $data/worker.log, $data/simulator.log, $data/temporal.log
Kill and restart the worker mid-flight: scripts/demo.sh restart-worker (in another terminal)
Everything keeps running for you to explore; press Ctrl-C to stop it.
MSG
while true; do sleep 3600; done
