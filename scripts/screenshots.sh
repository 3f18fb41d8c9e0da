#!/usr/bin/env bash
# make screenshots: the Web UI screenshots of docs/operator.md, taken by Debian's headless Chromium.
# It installs what is missing (chromium, a Japanese font, playwright-core from npm; never a browser
# download), starts the stack as make demo does (state in .offboard/screenshots, fresh each run),
# starts one device in operator mode, waits until it waits on an operator, and has
# scripts/screenshots/shoot.js take, in docs/images:
#
#   operator-1-list.png        the workflow list filtered by WaitingOn="operator"
#   operator-2-details.png     the device's Current details: the instruction, Japanese labels and English
#   operator-3-update.png      More Actions → Send an Update, filled with the complete-step JSON
#   operator-4-next-step.png   after Submit: the device on its next step
#
# Everything it started is stopped on exit. It uses ports 7233, 8233 and 8088, as make demo does:
# stop the demo first.
set -euo pipefail
cd "$(dirname "$0")/.."

serial=${SCREENSHOTS_SERIAL:-F2LXK0A1HG7J}
images=docs/images
ui=http://localhost:8233
sim_listen=${SIM_LISTEN:-127.0.0.1:8088}

# as_root runs a command as root (apt-get), through sudo when this is not root.
as_root() {
	if [[ $(id -u) == 0 ]]; then
		"$@"
	elif command -v sudo >/dev/null; then
		sudo "$@"
	else
		echo "screenshots: need root to run: $*" >&2
		exit 1
	fi
}

apt_updated=
apt_install() {
	if [[ -z $apt_updated ]]; then
		as_root apt-get update
		apt_updated=1
	fi
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@"
}

# Debian's Chromium; without a Japanese font the console's labels in Current details would be boxes.
if [[ ! -x /usr/bin/chromium ]]; then
	echo "Installing chromium (Debian's package) ..."
	apt_install chromium
fi
if [[ -z $(fc-list :lang=ja family 2>/dev/null) ]]; then
	echo "Installing a Japanese font (fonts-ipafont-gothic) ..."
	apt_install fonts-ipafont-gothic
fi
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
	echo "Installing Node.js (Debian's package) ..."
	apt_install nodejs npm
fi
if (($(node -p 'process.versions.node.split(".")[0]') < 20)); then
	echo "screenshots: playwright-core needs Node.js 20 or newer; this is $(node --version)" >&2
	exit 1
fi
# playwright-core drives /usr/bin/chromium; it downloads no browser (and is told not to).
if [[ ! -f scripts/screenshots/node_modules/.package-lock.json ||
	scripts/screenshots/package-lock.json -nt scripts/screenshots/node_modules/.package-lock.json ]]; then
	echo "Installing playwright-core (npm ci in scripts/screenshots) ..."
	(cd scripts/screenshots && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund)
fi
[[ -x bin/temporal ]] || make bin/temporal

# The demo's ports must be free: this starts its own dev server, simulator and worker.
for port in 7233 8233 "${sim_listen##*:}"; do
	if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
		echo "screenshots: port $port is in use (is make demo running?); stop it first" >&2
		exit 1
	fi
done

# A fresh stack every run, so the list shows this one device.
export OFFBOARD_DATA=.offboard/screenshots
rm -rf "$OFFBOARD_DATA"
# The settings, build_binaries, start_stack and stop_stack, shared with scripts/demo.sh.
source scripts/lib.sh

build_binaries

profile=$(mktemp -d "${TMPDIR:-/tmp}/offboard-chromium.XXXXXX")
cleanup() {
	trap - INT TERM EXIT
	echo
	echo "Stopping the worker, the simulator and the dev server ..."
	stop_stack
	rm -rf "$profile"
}
trap cleanup INT TERM EXIT

start_stack

echo "Starting $serial in operator mode ..."
bin/demo seed --sim "http://$sim_addr" --serial "$serial" --enrollment ade
bin/starter start --serial "$serial" --enrollment ade --wipe --mode operator --yes \
	--requested-by "HR ticket 4711" --contact "user-$serial@example.com"

# Until visibility (what the Web UI lists) shows the device waiting on an operator.
for ((i = 0; ; i++)); do
	if bin/starter list --waiting-on operator --json | grep -q "\"Serial\":\"$serial\",[^}]*\"Step\":\"console-wipe\""; then
		break
	fi
	if ((i >= 120)); then
		echo "screenshots: $serial never waited on an operator; see $data/worker.log" >&2
		bin/starter status "$serial" >&2 || true
		exit 1
	fi
	sleep 0.5
done
bin/starter inbox

echo "Taking the screenshots with headless Chromium ($(/usr/bin/chromium --version 2>/dev/null)) ..."
node scripts/screenshots/shoot.js --ui "$ui" --serial "$serial" --step console-wipe --next await-greyed-out \
	--by alice --out "$images" --user-data-dir "$profile"

# The update went through the Web UI: the workflow agrees.
if ! bin/starter status "$serial" --json | grep -q '"current": "await-greyed-out"'; then
	echo "screenshots: $serial did not move on to await-greyed-out after the update" >&2
	bin/starter status "$serial" --history >&2
	exit 1
fi
bin/starter status "$serial" --history | sed -n '/^History:/,$p'
echo
echo "Screenshots in $images:"
ls -l "$images"/operator-*.png
