# shellcheck shell=bash
# Shared by scripts/demo.sh and scripts/screenshots.sh: the settings of the worker and the
# simulator, as an operator would set them, and starting and stopping the stack they run on (the
# Temporal dev server, the simulator and the worker). Source it from the repository's root; set
# OFFBOARD_DATA first to keep the stack's state, logs and pid files apart (default .offboard/demo).

export OFFBOARD_DATA=${OFFBOARD_DATA:-.offboard/demo}
data=$OFFBOARD_DATA
sim_addr=${SIM_LISTEN:-127.0.0.1:8088}
mkdir -p "$data"

# The worker's and the simulator's shared settings, as an operator would set them.
export TEMPORAL_ADDRESS=127.0.0.1:7233 TEMPORAL_NAMESPACE=default
export CONSOLE_URL=http://$sim_addr CONSOLE_TOKEN_FILE=$data/console-token CONSOLE_MODE=automated
export APPLE_CLIENT_ID=BUSINESSAPI.offboard-demo APPLE_KEY_ID=demo-key APPLE_PRIVATE_KEY_FILE=$data/apple-key.pem
export APPLE_SERVER_ID=SIMULATED-MDM-SERVER APPLE_API_URL=http://$sim_addr APPLE_TOKEN_URL=http://$sim_addr/auth/oauth2/token
export NOTIFY_WEBHOOK_URL=http://$sim_addr/sim/user-inbox LOG_FORMAT=console
# The simulator runs an hour of device time a second and enforces Apple's budget (20 GETs a
# minute, 10 POSTs an hour) in its own time; the worker's Apple coordinator keeps the same budget
# in real time, so it is scaled the same way. Against the real Apple, leave both unset.
time_scale=3600
export APPLE_GET_PER_MINUTE=$((20 * time_scale)) APPLE_POST_PER_HOUR=$((10 * time_scale))

start_worker() {
	bin/worker >>"$data/worker.log" 2>&1 &
	echo $! >"$data/worker.pid"
}

build_binaries() {
	echo "Building ..."
	go build -o bin/ ./worker ./simulator ./starter ./demo
}

# start_stack makes the secrets, then starts the dev server, the simulator and the worker.
start_stack() {
	bin/demo keys --dir "$data"
	echo "Starting the Temporal dev server (Web UI http://localhost:8233) ..."
	scripts/devserver.sh start

	echo "Starting the simulator on $sim_addr (an hour of device time a second) ..."
	SIM_LISTEN=$sim_addr SIM_STATE_FILE=$data/simulator.json bin/simulator --time-scale "$time_scale" >>"$data/simulator.log" 2>&1 &
	echo $! >"$data/simulator.pid"
	for _ in $(seq 50); do
		(exec 3<>"/dev/tcp/${sim_addr%:*}/${sim_addr##*:}") 2>/dev/null && break
		sleep 0.2
	done

	echo "Starting the worker (log: $data/worker.log) ..."
	start_worker
}

# stop_stack stops the worker, the simulator and the dev server that start_stack started.
stop_stack() {
	[[ -f $data/worker.pid ]] && kill "$(cat "$data/worker.pid")" 2>/dev/null || true
	[[ -f $data/simulator.pid ]] && kill "$(cat "$data/simulator.pid")" 2>/dev/null || true
	wait 2>/dev/null || true
	scripts/devserver.sh stop || true
}
