#!/usr/bin/env bash
# Runs the full Temporal server (not the dev server) on a local PostgreSQL, all on loopback: the
# schema, the namespace and the search attributes of internal/contract, the way a production
# cluster has them. docs/cluster.md says what it is for and what was measured on it.
#
#   scripts/cluster.sh [start]        start PostgreSQL and the Temporal server (no-op when running);
#                                     the first start creates the databases and the namespace
#   scripts/cluster.sh stop           stop both (the data stays)
#   scripts/cluster.sh status         say whether both run; exit 1 when not
#   scripts/cluster.sh restart-server SIGKILL the Temporal server process only (not PostgreSQL),
#                                     start it again and wait until it is ready: a crash
#   scripts/cluster.sh destroy        stop both and delete the data directory
#   scripts/cluster.sh namespace      on the running cluster, create CLUSTER_NAMESPACE with the
#                                     search attributes and wait until a workflow runs in it
#                                     (make bench --server cluster: a fresh namespace a measurement)
#
# Tools (make cluster builds them; none is in our go.mod):
#   bin/temporal-server     go.temporal.io/server/cmd/server@v1.29.1
#   bin/temporal-sql-tool   go.temporal.io/server/cmd/tools/sql@v1.29.1
#   bin/temporal            the CLI, for the namespace and the search attributes
# and PostgreSQL's server programs (initdb, pg_ctl, postgres; tested with PostgreSQL 15).
#
# Environment:
#   CLUSTER_DIR         data, config, pid files and logs            (default .offboard/cluster)
#   CLUSTER_PORT        frontend gRPC port; the other services use
#                       the next ports (see ports below)            (default 17233)
#   CLUSTER_PG_PORT     PostgreSQL port                             (default 55432)
#   CLUSTER_SHARDS      numHistoryShards, fixed on the first start  (default 4)
#   CLUSTER_NAMESPACE   the namespace to create                     (default default)
#   CLUSTER_WAIT        seconds to wait for each step               (default 90)
#   PG_BIN              directory of initdb and pg_ctl     (default: found on PATH or in
#                                                          /usr/lib/postgresql/*/bin)
#   TEMPORAL_SERVER, TEMPORAL_SQL_TOOL, TEMPORAL_CLI_PATH  the three tools (default bin/...)
#   TEMPORAL_SCHEMA_DIR the server module's schema/postgresql/v12 (default: from the module cache)
set -euo pipefail

abs() { case $1 in /*) echo "$1" ;; *) echo "$PWD/$1" ;; esac }
dir=${CLUSTER_DIR:+$(abs "$CLUSTER_DIR")}
server_bin=${TEMPORAL_SERVER:+$(abs "$TEMPORAL_SERVER")}
sql_tool=${TEMPORAL_SQL_TOOL:+$(abs "$TEMPORAL_SQL_TOOL")}
cli=${TEMPORAL_CLI_PATH:+$(abs "$TEMPORAL_CLI_PATH")}
cd "$(dirname "$0")/.."
dir=${dir:-$PWD/.offboard/cluster}
server_bin=${server_bin:-$PWD/bin/temporal-server}
sql_tool=${sql_tool:-$PWD/bin/temporal-sql-tool}
cli=${cli:-$PWD/bin/temporal}

server_version=v1.29.1
port=${CLUSTER_PORT:-17233}
pg_port=${CLUSTER_PG_PORT:-55432}
shards=${CLUSTER_SHARDS:-4}
namespace=${CLUSTER_NAMESPACE:-default}
wait_s=${CLUSTER_WAIT:-90}
address=127.0.0.1:$port

# The search attributes of internal/contract (all Keyword); docker-compose.yml registers the same.
search_attributes=(DeviceSerial OffboardPath OffboardStep WaitingOn FleetID)
# The two databases, each with its schema directory under schema/postgresql/v12.
databases=(temporal:temporal temporal_visibility:visibility)
db_user=temporal
db_password=temporal

pg_data=$dir/pg/data
pg_socket=$dir/pg/socket
pg_log=$dir/pg/postgresql.log
config_dir=$dir/config
server_pid=$dir/temporal-server.pid
server_log=$dir/temporal-server.log

log() { echo "cluster: $*"; }
die() {
	echo "cluster: $*" >&2
	exit 1
}

# PostgreSQL refuses to run as root: as root, its programs run as the postgres OS user.
as_pg() {
	if ((EUID == 0)); then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

find_pg_bin() {
	if [[ -n ${PG_BIN:-} ]]; then
		echo "$PG_BIN"
		return
	fi
	if command -v pg_ctl >/dev/null && command -v initdb >/dev/null; then
		dirname "$(command -v pg_ctl)"
		return
	fi
	local d
	for d in /usr/lib/postgresql/*/bin /usr/local/opt/postgresql*/bin /opt/homebrew/opt/postgresql*/bin; do
		[[ -x $d/pg_ctl ]] && echo "$d" && return
	done
	return 1
}

need_tools() {
	local t
	for t in "$server_bin" "$sql_tool" "$cli"; do
		[[ -x $t ]] || die "$t not found; run 'make cluster' (it builds the tools) or make bin/$(basename "$t")"
	done
	need_pg
}

need_pg() {
	pg_bin=$(find_pg_bin) || die "PostgreSQL's server programs (initdb, pg_ctl) not found; install PostgreSQL or set PG_BIN"
	if ((EUID == 0)) && ! id postgres >/dev/null 2>&1; then
		die "running as root, and there is no postgres OS user to run PostgreSQL as"
	fi
}

# schema_dir prints the server module's schema/postgresql/v12, downloading the module if needed
# (outside any module: nothing goes into our go.mod).
schema_dir() {
	if [[ -n ${TEMPORAL_SCHEMA_DIR:-} ]]; then
		echo "$TEMPORAL_SCHEMA_DIR"
		return
	fi
	local d
	d="$(go env GOMODCACHE)/go.temporal.io/server@$server_version/schema/postgresql/v12"
	if [[ ! -d $d ]]; then
		d=$(cd / && GOFLAGS= GO111MODULE=on go mod download -json "go.temporal.io/server@$server_version" |
			sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')/schema/postgresql/v12
	fi
	[[ -d $d/temporal/versioned ]] || die "no schema directory at $d; set TEMPORAL_SCHEMA_DIR"
	echo "$d"
}

pid_of() {
	[[ -f $1 ]] || return 1
	local pid
	pid=$(<"$1")
	[[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null && echo "$pid"
}

pg_running() { [[ -d $pg_data ]] && as_pg "$pg_bin/pg_ctl" -D "$pg_data" status >/dev/null 2>&1; }

# --- PostgreSQL ---------------------------------------------------------------------------------

start_pg() {
	if [[ ! -f $pg_data/PG_VERSION ]]; then
		mkdir -p "$dir/pg"
		rm -rf "$pg_data"
		mkdir -p "$pg_data" "$pg_socket"
		local pwfile=$dir/pg/pwfile
		printf '%s\n' "$db_password" >"$pwfile"
		if ((EUID == 0)); then chown -R postgres "$dir/pg"; fi
		chmod 700 "$pg_data"
		as_pg "$pg_bin/initdb" -D "$pg_data" --username "$db_user" --pwfile "$pwfile" \
			--auth scram-sha-256 --encoding UTF8 --locale C >"$dir/pg/initdb.log" 2>&1 ||
			{
				tail -n 20 "$dir/pg/initdb.log" >&2
				die "initdb failed"
			}
		rm -f "$pwfile"
		# Loopback only, a port of our own, and connections for every service's pools.
		cat >>"$pg_data/postgresql.conf" <<-EOF

			# scripts/cluster.sh
			listen_addresses = '127.0.0.1'
			port = $pg_port
			unix_socket_directories = '$pg_socket'
			max_connections = 300
		EOF
	fi
	if pg_running; then
		return 0
	fi
	as_pg "$pg_bin/pg_ctl" -D "$pg_data" -l "$pg_log" -w -t "$wait_s" start >/dev/null ||
		{
			tail -n 20 "$pg_log" >&2
			die "PostgreSQL did not start; see $pg_log"
		}
}

stop_pg() {
	pg_running || return 0
	as_pg "$pg_bin/pg_ctl" -D "$pg_data" -m fast -w stop >/dev/null
}

sql() {
	"$sql_tool" --plugin postgres12 --ep 127.0.0.1 -p "$pg_port" -u "$db_user" --pw "$db_password" "$@"
}

# setup_schema runs the steps of docker-compose.yml's temporal-schema for both databases, on every
# start: create, setup-schema -v 0.0, update-schema to the newest version. All three are idempotent
# (create ignores an existing database; setup-schema only adds the version tables when missing;
# update-schema applies only the versions not applied yet).
setup_schema() {
	local schema entry db sub
	schema=$(schema_dir)
	for entry in "${databases[@]}"; do
		db=${entry%%:*} sub=${entry#*:}
		sql --db "$db" create >>"$dir/schema.log" 2>&1 || die "create database $db failed; see $dir/schema.log"
		sql --db "$db" setup-schema -v 0.0 >>"$dir/schema.log" 2>&1 || die "setup-schema $db failed; see $dir/schema.log"
		sql --db "$db" update-schema -d "$schema/$sub/versioned" >>"$dir/schema.log" 2>&1 ||
			die "update-schema $db failed; see $dir/schema.log"
	done
}

# --- the Temporal server ------------------------------------------------------------------------

# write_config writes the server's static config (config/offboard.yaml) and its dynamic config.
write_config() {
	mkdir -p "$config_dir"
	local ds
	cat >"$config_dir/offboard.yaml" <<EOF
# Written by scripts/cluster.sh: edit the script, not this file.
log:
  stdout: true
  level: warn

persistence:
  defaultStore: postgres-default
  visibilityStore: postgres-visibility
  numHistoryShards: $shards
  datastores:
EOF
	for ds in default:temporal:20 visibility:temporal_visibility:10; do
		IFS=: read -r name db conns <<<"$ds"
		cat >>"$config_dir/offboard.yaml" <<EOF
    postgres-$name:
      sql:
        pluginName: postgres12
        databaseName: $db
        connectAddr: 127.0.0.1:$pg_port
        connectProtocol: tcp
        user: $db_user
        password: $db_password
        maxConns: $conns
        maxIdleConns: $conns
        maxConnLifetime: 1h
EOF
	done
	cat >>"$config_dir/offboard.yaml" <<EOF

global:
  membership:
    maxJoinDuration: 30s
    broadcastAddress: 127.0.0.1

services:
  frontend:
    rpc:
      grpcPort: $port
      httpPort: $((port + 10))
      membershipPort: $((port + 20))
      bindOnIP: 127.0.0.1
  history:
    rpc:
      grpcPort: $((port + 1))
      membershipPort: $((port + 21))
      bindOnIP: 127.0.0.1
  matching:
    rpc:
      grpcPort: $((port + 2))
      membershipPort: $((port + 22))
      bindOnIP: 127.0.0.1
  worker:
    rpc:
      grpcPort: $((port + 3))
      membershipPort: $((port + 23))
      bindOnIP: 127.0.0.1

clusterMetadata:
  enableGlobalNamespace: false
  failoverVersionIncrement: 10
  masterClusterName: active
  currentClusterName: active
  clusterInformation:
    active:
      enabled: true
      initialFailoverVersion: 1
      rpcName: frontend
      rpcAddress: $address

dcRedirectionPolicy:
  policy: noop

dynamicConfigClient:
  filepath: $config_dir/dynamicconfig.yaml
  pollInterval: 10s
EOF
	cat >"$config_dir/dynamicconfig.yaml" <<EOF
# Written by scripts/cluster.sh. Updates (the operator's complete-step) are on by default in
# v1.29; said here as the dev server's command line says it.
frontend.enableUpdateWorkflowExecution:
  - value: true
limit.maxIDLength:
  - value: 255
EOF
}

start_server() {
	if pid_of "$server_pid" >/dev/null; then
		return 0
	fi
	if cli_ok operator cluster health; then
		die "something else already serves $address; stop it or set CLUSTER_PORT"
	fi
	write_config
	# In its own session (where setsid exists) the server outlives a Ctrl-C sent to this shell.
	local detach=()
	if command -v setsid >/dev/null; then detach=(setsid); fi
	${detach[@]+"${detach[@]}"} "$server_bin" --root "$dir" --config config --env offboard --allow-no-auth start \
		>>"$server_log" 2>&1 </dev/null &
	echo $! >"$server_pid"
}

# stop_server stops the server with the signal given (TERM: a clean stop, KILL: a crash).
stop_server() {
	local pid i
	pid=$(pid_of "$server_pid") || {
		rm -f "$server_pid"
		return 0
	}
	kill "-$1" "$pid" 2>/dev/null || true
	for ((i = 0; i < 150; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		kill -KILL "$pid"
		sleep 0.2
	fi
	rm -f "$server_pid"
}

cli_ok() { "$cli" "$@" --address "$address" --command-timeout 5s >/dev/null 2>&1; }

# retry runs a command until it succeeds, or fails after CLUSTER_WAIT seconds; the server must stay up.
retry() {
	local what=$1
	shift
	local deadline=$((SECONDS + wait_s))
	until "$@"; do
		if ! pid_of "$server_pid" >/dev/null; then
			tail -n 30 "$server_log" >&2
			die "the Temporal server exited while waiting for $what; see $server_log"
		fi
		((SECONDS < deadline)) || die "no $what after ${wait_s}s; see $server_log"
		sleep 0.3
	done
}

# missing_search_attributes prints the contract's attributes the namespace lacks.
missing_search_attributes() {
	local listed sa
	listed=$("$cli" operator search-attribute list --address "$address" --namespace "$namespace" -o json 2>/dev/null) || return 1
	for sa in "${search_attributes[@]}"; do
		grep -q "\"$sa\"" <<<"$listed" || echo "$sa"
	done
}

namespace_visible() { cli_ok operator namespace describe --namespace "$namespace"; }
search_attributes_listed() {
	local missing
	missing=$(missing_search_attributes) && [[ -z $missing ]]
}

# create_search_attribute succeeds when the attribute is created or already there (a call whose
# answer was lost may have created it).
create_search_attribute() {
	cli_ok operator search-attribute create --namespace "$namespace" --type Keyword --name "$1" && return 0
	local missing
	missing=$(missing_search_attributes) && ! grep -qx "$1" <<<"$missing"
}

setup_namespace() {
	retry "answer to health checks" cli_ok operator cluster health
	if ! namespace_visible; then
		retry "namespace $namespace created" cli_ok operator namespace create --namespace "$namespace" --retention 72h
	fi
	retry "namespace $namespace visible" namespace_visible
	# One attribute a call: the CLI (v1.5) creates only the first --name of a call. Creating them can
	# fail until the new namespace is visible to every service: retry.
	local missing sa
	missing=$(missing_search_attributes) || missing="${search_attributes[*]}"
	for sa in $missing; do
		retry "search attribute $sa created" create_search_attribute "$sa"
	done
	retry "search attributes listed" search_attributes_listed
}

# probe: health answers before workflows can run. A workflow started with the five search
# attributes, listed by a visibility query on one of them, then terminated and deleted, proves the
# frontend, the history shards, visibility and the namespace's search attributes are all ready.
probe_start() {
	cli_ok workflow start --namespace "$namespace" --workflow-id "$probe_id" --type offboard-cluster-probe \
		--task-queue offboard-cluster-probe --execution-timeout 1m \
		--search-attribute "DeviceSerial=\"probe\"" --search-attribute "OffboardPath=\"probe\"" \
		--search-attribute "OffboardStep=\"probe\"" --search-attribute "WaitingOn=\"probe\"" \
		--search-attribute "FleetID=\"$probe_id\""
}
probe_listed() {
	local out
	out=$("$cli" workflow list --namespace "$namespace" --address "$address" --query "FleetID = '$probe_id'" -o json 2>/dev/null) &&
		grep -q "$probe_id" <<<"$out"
}
probe() {
	probe_id=cluster-probe-$$-$RANDOM
	retry "workflow started (a first workflow)" probe_start
	retry "workflow listed by visibility" probe_listed
	cli_ok workflow terminate --namespace "$namespace" --workflow-id "$probe_id" --reason "cluster.sh readiness probe" || true
	cli_ok workflow delete --namespace "$namespace" --workflow-id "$probe_id" || true
}

# --- commands -----------------------------------------------------------------------------------

start() {
	need_tools
	if pid_of "$server_pid" >/dev/null && pg_running && cli_ok operator cluster health; then
		log "already running at $address (PostgreSQL on 127.0.0.1:$pg_port, data in $dir)"
		return 0
	fi
	mkdir -p "$dir"
	local t0=$SECONDS t
	local ms0
	ms0=$(date +%s%N)
	step() { t=$(date +%s%N); printf '  %-30s %5d ms\n' "$1" $(((t - ms0) / 1000000)); ms0=$t; }
	start_pg
	step "PostgreSQL"
	setup_schema
	step "schema (both databases)"
	start_server
	setup_namespace
	step "server, namespace, attributes"
	probe
	step "first workflow"
	log "Temporal at $address, namespace $namespace (pid $(<"$server_pid")); PostgreSQL on 127.0.0.1:$pg_port; data in $dir; ready in $((SECONDS - t0)) s"
}

stop() {
	need_pg
	stop_server TERM
	stop_pg
	log "stopped (data kept in $dir)"
}

status() {
	need_tools
	local ok=0 pid
	if pg_running; then log "PostgreSQL running on 127.0.0.1:$pg_port"; else
		log "PostgreSQL not running"
		ok=1
	fi
	if pid=$(pid_of "$server_pid") && cli_ok operator cluster health; then
		log "Temporal server running (pid $pid) at $address"
	else
		log "Temporal server not running"
		ok=1
	fi
	return $ok
}

restart_server() {
	need_tools
	local pid
	pid=$(pid_of "$server_pid") || die "no Temporal server of this script runs (CLUSTER_DIR=$dir)"
	local ms0 t
	ms0=$(date +%s%N)
	stop_server KILL
	start_server
	retry "answer to health checks" cli_ok operator cluster health
	probe
	t=$(date +%s%N)
	log "killed the Temporal server (pid $pid, SIGKILL) and started it again (pid $(<"$server_pid")): ready in $(((t - ms0) / 1000000)) ms"
}

# add_namespace makes CLUSTER_NAMESPACE on a cluster that runs, as start makes the first one.
add_namespace() {
	need_tools
	pid_of "$server_pid" >/dev/null || die "no Temporal server of this script runs (CLUSTER_DIR=$dir): scripts/cluster.sh start"
	local ms0 t
	ms0=$(date +%s%N)
	setup_namespace
	probe
	t=$(date +%s%N)
	log "namespace $namespace ready at $address in $(((t - ms0) / 1000000)) ms"
}

destroy() {
	need_pg
	stop_server TERM
	stop_pg
	rm -rf "$dir"
	log "deleted $dir"
}

case ${1:-start} in
start) start ;;
stop) stop ;;
status) status ;;
restart-server) restart_server ;;
destroy) destroy ;;
namespace) add_namespace ;;
*)
	echo "usage: $0 [start|stop|status|restart-server|destroy|namespace]" >&2
	exit 2
	;;
esac
