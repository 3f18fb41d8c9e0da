#!/usr/bin/env bash
# Runs a local Temporal dev server for Offboard: SQLite-backed (state survives restarts), with the
# search attributes of docs/contract.md registered, and returns once it answers health checks.
#
#   scripts/devserver.sh [start]   start in the background (no-op when already running)
#   scripts/devserver.sh stop      stop the server this script started
#   scripts/devserver.sh status    say whether it runs; exit 1 when it does not
#   scripts/devserver.sh run       run in the foreground (Ctrl-C stops it)
#
# Environment:
#   OFFBOARD_DATA          directory of the database, pid file and log   (default .offboard)
#   TEMPORAL_CLI_PATH      the temporal CLI                               (default bin/temporal)
#   DEVSERVER_IP           address to bind                               (default 127.0.0.1)
#   DEVSERVER_PORT         gRPC port                                     (default 7233)
#   DEVSERVER_UI_PORT      Web UI port                                   (default 8233)
#   DEVSERVER_WAIT         seconds to wait for health                    (default 60)
#   DEVSERVER_UI_CODEC     the Web UI's codec server endpoint            (default none)
set -euo pipefail

# Paths given in the environment are relative to the caller's directory; defaults to the repo's.
abs() { case $1 in /*) echo "$1" ;; *) echo "$PWD/$1" ;; esac }
data=${OFFBOARD_DATA:+$(abs "$OFFBOARD_DATA")}
cli=${TEMPORAL_CLI_PATH:+$(abs "$TEMPORAL_CLI_PATH")}
cd "$(dirname "$0")/.."
data=${data:-.offboard}
cli=${cli:-bin/temporal}
ip=${DEVSERVER_IP:-127.0.0.1}
port=${DEVSERVER_PORT:-7233}
ui_port=${DEVSERVER_UI_PORT:-8233}
wait_s=${DEVSERVER_WAIT:-60}
pidfile=$data/temporal.pid
logfile=$data/temporal.log

# The search attributes of docs/contract.md (all Keyword).
search_attributes=(DeviceSerial OffboardPath OffboardStep WaitingOn FleetID)

# server_args sets the array args to the start-dev command line (no mapfile: macOS has bash 3.2).
server_args() {
	args=(
		server start-dev
		--db-filename "$data/temporal.db"
		--sqlite-pragma journal_mode=wal
		--sqlite-pragma synchronous=normal
		--ip "$ip"
		--port "$port"
		--ui-port "$ui_port"
		--namespace default
		--log-level warn
	)
	[[ -n ${DEVSERVER_UI_CODEC:-} ]] && args+=(--ui-codec-endpoint "$DEVSERVER_UI_CODEC")
	local sa
	for sa in "${search_attributes[@]}"; do
		args+=(--search-attribute "$sa=Keyword")
	done
}

healthy() {
	"$cli" operator cluster health --address "$ip:$port" --command-timeout 2s >/dev/null 2>&1
}

running_pid() {
	[[ -f $pidfile ]] || return 1
	local pid
	pid=$(<"$pidfile")
	[[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null && echo "$pid"
}

need_cli() {
	if [[ ! -x $cli ]]; then
		echo "devserver: $cli not found; run 'make bin/temporal' first" >&2
		exit 1
	fi
}

# missing_search_attributes prints the contract's attributes the default namespace lacks.
missing_search_attributes() {
	local listed sa
	listed=$("$cli" operator search-attribute list --address "$ip:$port" --namespace default -o json 2>/dev/null) || return 1
	for sa in "${search_attributes[@]}"; do
		grep -q "\"$sa\"" <<<"$listed" || echo "$sa"
	done
}

start() {
	need_cli
	if pid=$(running_pid); then
		echo "devserver: already running (pid $pid) at $ip:$port"
		return 0
	fi
	if healthy; then
		echo "devserver: something else already serves $ip:$port; stop it or set DEVSERVER_PORT" >&2
		exit 1
	fi
	mkdir -p "$data"
	server_args
	# In its own session (where setsid exists) the server outlives a Ctrl-C sent to this shell.
	local detach=()
	if command -v setsid >/dev/null; then detach=(setsid); fi
	${detach[@]+"${detach[@]}"} "$cli" "${args[@]}" >>"$logfile" 2>&1 </dev/null &
	local pid=$!
	echo "$pid" >"$pidfile"

	local deadline=$((SECONDS + wait_s))
	until healthy; do
		if ! kill -0 "$pid" 2>/dev/null; then
			rm -f "$pidfile"
			echo "devserver: the server exited; last lines of $logfile:" >&2
			tail -n 20 "$logfile" >&2
			exit 1
		fi
		if ((SECONDS >= deadline)); then
			echo "devserver: not healthy after ${wait_s}s; see $logfile" >&2
			stop >/dev/null
			exit 1
		fi
		sleep 0.5
	done
	local missing
	until missing=$(missing_search_attributes) && [[ -z $missing ]]; do
		if ((SECONDS >= deadline)); then
			echo "devserver: search attributes not registered: ${missing:-unknown}; see $logfile" >&2
			exit 1
		fi
		sleep 0.5
	done
	echo "devserver: Temporal at $ip:$port, Web UI at http://$ip:$ui_port (pid $pid, data in $data)"
}

stop() {
	local pid
	if ! pid=$(running_pid); then
		rm -f "$pidfile"
		echo "devserver: not running"
		return 0
	fi
	kill -TERM "$pid"
	local i
	for ((i = 0; i < 100; i++)); do # up to 10 s for a clean SQLite shutdown
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		kill -KILL "$pid"
	fi
	rm -f "$pidfile"
	echo "devserver: stopped (pid $pid)"
}

status() {
	local pid
	if pid=$(running_pid) && healthy; then
		echo "devserver: running (pid $pid) at $ip:$port, Web UI at http://$ip:$ui_port"
	else
		echo "devserver: not running"
		return 1
	fi
}

run() {
	need_cli
	mkdir -p "$data"
	server_args
	exec "$cli" "${args[@]}"
}

case ${1:-start} in
start) start ;;
stop) stop ;;
status) status ;;
run) run ;;
*)
	echo "usage: $0 [start|stop|status|run]" >&2
	exit 2
	;;
esac
