# Offboard. `make help` lists the targets.

TEMPORAL_CLI_VERSION  := v1.5.1
WORKFLOWCHECK_VERSION := v0.6.0
# The full Temporal server and its SQL tool, for make cluster (scripts/cluster.sh).
TEMPORAL_SERVER_VERSION := v1.29.1

BIN           := $(CURDIR)/bin
TEMPORAL      := $(BIN)/temporal
WORKFLOWCHECK := $(BIN)/workflowcheck
TEMPORAL_SERVER   := $(BIN)/temporal-server
TEMPORAL_SQL_TOOL := $(BIN)/temporal-sql-tool
# Integration tests, the demo and the benchmarks start their dev server from this binary.
export TEMPORAL_CLI_PATH := $(TEMPORAL)

GO_TEST_FLAGS ?= -race -count=1 -timeout 30m
BENCH_ARGS    ?=

.DEFAULT_GOAL := help

.PHONY: help build lint fmt-check vet workflowcheck test bench chaos demo screenshots devserver devserver-stop \
	compose-secrets compose-up compose-down clean cluster cluster-stop test-cluster

help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z0-9_\/-]+:.*## / {printf "  %-18s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

# The tools are files: built once, when missing. Neither goes into our go.mod.
$(TEMPORAL):
	GOBIN=$(BIN) go install github.com/temporalio/cli/cmd/temporal@$(TEMPORAL_CLI_VERSION)

$(WORKFLOWCHECK):
	GOBIN=$(BIN) go install go.temporal.io/sdk/contrib/tools/workflowcheck@$(WORKFLOWCHECK_VERSION)

# go install names them server and sql: each is installed into a directory of its own, then renamed.
$(TEMPORAL_SERVER):
	GOBIN=$(BIN)/.install-server go install go.temporal.io/server/cmd/server@$(TEMPORAL_SERVER_VERSION)
	mv $(BIN)/.install-server/server $@ && rmdir $(BIN)/.install-server

$(TEMPORAL_SQL_TOOL):
	GOBIN=$(BIN)/.install-sql go install go.temporal.io/server/cmd/tools/sql@$(TEMPORAL_SERVER_VERSION)
	mv $(BIN)/.install-sql/sql $@ && rmdir $(BIN)/.install-sql

# Let `make bin/temporal` work as well as the absolute path.
bin/temporal: $(TEMPORAL) ## the Temporal CLI with its dev server (about 3 min on a cold cache)
bin/workflowcheck: $(WORKFLOWCHECK) ## the workflow determinism checker
bin/temporal-server: $(TEMPORAL_SERVER) ## the full Temporal server, for make cluster (about 2 min cold)
bin/temporal-sql-tool: $(TEMPORAL_SQL_TOOL) ## the Temporal server's SQL schema tool, for make cluster

build: ## compile every package and command
	go build ./...

fmt-check:
	@unformatted=$$(gofmt -l .); \
	if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi

vet:
	go vet ./...

# Vetted false positives, if any, go in workflowcheck.config.yaml (`decls: {pkg.Func: false}`) or
# take a `//workflowcheck:ignore` comment on the line.
WORKFLOWCHECK_CONFIG := $(wildcard workflowcheck.config.yaml)

workflowcheck: $(WORKFLOWCHECK)
	$(WORKFLOWCHECK) $(if $(WORKFLOWCHECK_CONFIG),-config $(WORKFLOWCHECK_CONFIG)) ./...

lint: fmt-check vet workflowcheck ## gofmt, go vet and workflowcheck, all clean

test: $(TEMPORAL) lint ## lint, then every test with the race detector (integration tests use bin/temporal)
	go test $(GO_TEST_FLAGS) ./...
	@# go test shows a passing package's output only with -v: say how many combinations were proven.
	@go test -count=1 -run 'TestEveryCombination$$' -v ./workflows | grep '^combinations:'

bench: $(TEMPORAL) ## run the benchmark (pass flags in BENCH_ARGS="...")
	go run ./bench $(BENCH_ARGS)

chaos: $(TEMPORAL) ## the benchmark with faults injected, 500 devices
	go run ./bench --chaos --devices 500

demo: $(TEMPORAL) ## the end-to-end demo against the simulator
	bash scripts/demo.sh

# Not part of test: it needs Debian's chromium (installed when missing) and the demo's ports.
screenshots: $(TEMPORAL) ## the Web UI screenshots of docs/operator.md, by headless Chromium
	bash scripts/screenshots.sh

devserver: $(TEMPORAL) ## start a local Temporal dev server (state in .offboard/, UI on :8233)
	bash scripts/devserver.sh start

devserver-stop: ## stop the local dev server
	bash scripts/devserver.sh stop

# The full Temporal server on a local PostgreSQL (scripts/cluster.sh, docs/cluster.md): frontend on
# 127.0.0.1:17233, PostgreSQL on 127.0.0.1:55432, data in .offboard/cluster. Not part of test.
CLUSTER_TOOLS := $(TEMPORAL) $(TEMPORAL_SERVER) $(TEMPORAL_SQL_TOOL)

cluster: $(CLUSTER_TOOLS) ## start the full Temporal server on a local PostgreSQL (127.0.0.1:17233)
	bash scripts/cluster.sh start

cluster-stop: ## stop the cluster (its data stays in .offboard/cluster)
	bash scripts/cluster.sh stop

# A fresh cluster of its own (other ports, other data), deleted afterwards whatever the tests say.
CLUSTER_TEST_DIR     := $(CURDIR)/.offboard/cluster-test
CLUSTER_TEST_PORT    := 17333
CLUSTER_TEST_PG_PORT := 55433
CLUSTER_TEST_RUN     := TestFleetEndToEnd|TestOperator|Restart|Chaos|TestWorkerUpgradeDuringWait
CLUSTER_TEST_FLAGS   ?=
CLUSTER_TEST_ENV     := CLUSTER_DIR=$(CLUSTER_TEST_DIR) CLUSTER_PORT=$(CLUSTER_TEST_PORT) CLUSTER_PG_PORT=$(CLUSTER_TEST_PG_PORT)

test-cluster: $(CLUSTER_TOOLS) ## the integration suite's fleet, operator and restart tests on a fresh cluster
	@$(CLUSTER_TEST_ENV) bash scripts/cluster.sh destroy >/dev/null
	$(CLUSTER_TEST_ENV) bash scripts/cluster.sh start
	@status=0; \
	$(CLUSTER_TEST_ENV) OFFBOARD_TEST_TEMPORAL_ADDRESS=127.0.0.1:$(CLUSTER_TEST_PORT) \
		go test ./integration -run '$(CLUSTER_TEST_RUN)' -count=1 -timeout 30m $(CLUSTER_TEST_FLAGS) || status=$$?; \
	$(CLUSTER_TEST_ENV) bash scripts/cluster.sh destroy; \
	exit $$status

# docker compose reads the console token and Apple key from these files (dev-only, never committed).
# They are mounted as they are, so they must be readable by the containers' user (65532); the
# directory keeps them private on the host.
COMPOSE_SECRETS := .offboard/compose

compose-secrets: $(COMPOSE_SECRETS)/console-token $(COMPOSE_SECRETS)/apple-private-key.p8 \
	$(COMPOSE_SECRETS)/codec-keys $(COMPOSE_SECRETS)/codec-token $(COMPOSE_SECRETS)/intake-tokens ## make the dev secrets docker-compose.yml needs

$(COMPOSE_SECRETS)/console-token:
	@mkdir -p -m 700 $(@D)
	@od -An -N24 -tx1 /dev/urandom | tr -d ' \n' >$@ && chmod 644 $@
	@echo "wrote $@"

$(COMPOSE_SECRETS)/apple-private-key.p8:
	@mkdir -p -m 700 $(@D)
	@openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out $@ && chmod 644 $@
	@echo "wrote $@"

# The payload keys (docs/codec.md), the codec server's token and one intake caller, "hr-system",
# allowed to start wipes (docs/intake.md).
$(COMPOSE_SECRETS)/codec-keys:
	@mkdir -p -m 700 $(@D)
	@go run ./codec keygen -file $@ >/dev/null && chmod 644 $@
	@echo "wrote $@"

$(COMPOSE_SECRETS)/codec-token:
	@mkdir -p -m 700 $(@D)
	@od -An -N24 -tx1 /dev/urandom | tr -d ' \n' >$@ && chmod 644 $@
	@echo "wrote $@"

$(COMPOSE_SECRETS)/intake-tokens:
	@mkdir -p -m 700 $(@D)
	@echo "hr-system wipe $$(od -An -N24 -tx1 /dev/urandom | tr -d ' \n')" >$@ && chmod 644 $@
	@echo "wrote $@"

compose-up: compose-secrets ## build and start the whole stack with Docker (Temporal, UI, simulator, worker)
	docker compose up --build -d

compose-down: ## stop the Docker stack (add ARGS=-v to drop its data)
	docker compose down $(ARGS)

clean: ## remove built tools and test output (not .offboard/, which holds the dev server's data)
	rm -rf $(BIN) coverage.out coverage.html
