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
# minute, 10 POSTs an hour) in its own time; the worker's Apple coordinator counts the same
# minute and hour. Against the real Apple, leave APPLE_BUDGET_TIME_SCALE unset (1).
time_scale=3600
export APPLE_BUDGET_TIME_SCALE=$time_scale

# Personal data (contacts, names, notes) is encrypted before it reaches Temporal: the worker and
# every client read the keys from CODEC_KEY_FILE; the codec server decodes for the Web UI, which
# the dev server points at it (docs/codec.md). The token in the UI's endpoint is for this local
# demo only.
export CODEC_KEY_FILE=$data/codec-keys CODEC_TOKEN_FILE=$data/codec-token CODEC_LISTEN=${CODEC_LISTEN:-127.0.0.1:8234}
export CODEC_CORS_ORIGIN=http://localhost:8233,http://127.0.0.1:8233

# Each device's retirement record is signed (Ed25519, a key made for this demo) and kept in the
# demo's own archive, so `bin/starter evidence verify` checks the demo's records (docs/evidence.md).
export EVIDENCE_DIR=$data/evidence EVIDENCE_SIGNING_KEY_FILE=$data/evidence-key.pem

start_worker() {
	bin/worker >>"$data/worker.log" 2>&1 &
	echo $! >"$data/worker.pid"
}

build_binaries() {
	echo "Building ..."
	go build -o bin/ ./worker ./simulator ./starter ./demo ./codec
}

# start_stack makes the secrets, then starts the dev server, the simulator and the worker.
start_stack() {
	bin/demo keys --dir "$data"
	[[ -s $CODEC_KEY_FILE ]] || bin/codec keygen -file "$CODEC_KEY_FILE" >/dev/null
	[[ -s $CODEC_TOKEN_FILE ]] || (umask 077 && od -An -N24 -tx1 /dev/urandom | tr -d ' \n' >"$CODEC_TOKEN_FILE")
	[[ -s $EVIDENCE_SIGNING_KEY_FILE ]] || bin/starter evidence keygen --file "$EVIDENCE_SIGNING_KEY_FILE" >/dev/null
	echo "Starting the codec server on $CODEC_LISTEN (decodes payloads for the Web UI) ..."
	bin/codec >>"$data/codec.log" 2>&1 &
	echo $! >"$data/codec.pid"
	echo "Starting the Temporal dev server (Web UI http://localhost:8233) ..."
	DEVSERVER_UI_CODEC="http://$CODEC_LISTEN/t/$(<"$CODEC_TOKEN_FILE")" scripts/devserver.sh start

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
	[[ -f $data/codec.pid ]] && kill "$(cat "$data/codec.pid")" 2>/dev/null || true
	wait 2>/dev/null || true
	scripts/devserver.sh stop || true
}
