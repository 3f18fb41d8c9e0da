#!/usr/bin/env bash
# scripts/certificate-screenshot.sh: the printable retirement certificate of docs/evidence.md,
# rendered by Debian's headless Chromium into docs/images/certificate.png. For the docs; make test
# does not run it. CERTIFICATE_HTML=file keeps the page itself (default: a temporary file).
#
# The certificate is of a real run: TestCertificateOfARealRun runs one device (wipe/ade, console
# wipe, a VPP license left at the delete) through the device workflow in the SDK's test
# environment into a signed archive and writes the page of its record (OFFBOARD_CERTIFICATE_OUT).
# It installs what is missing (chromium, a Japanese font) with apt-get.
set -euo pipefail
cd "$(dirname "$0")/.."

out=${CERTIFICATE_PNG:-docs/images/certificate.png}
html=${CERTIFICATE_HTML:-$(mktemp --suffix=.html)}
[[ $html == /* ]] || html=$PWD/$html

as_root() {
	if [[ $(id -u) == 0 ]]; then
		"$@"
	elif command -v sudo >/dev/null; then
		sudo "$@"
	else
		echo "certificate-screenshot: need root to run: $*" >&2
		exit 1
	fi
}

missing=()
command -v chromium >/dev/null || missing+=(chromium)
[[ -n $(fc-list :lang=ja family 2>/dev/null) ]] || missing+=(fonts-noto-cjk)
if ((${#missing[@]})); then
	as_root apt-get update
	DEBIAN_FRONTEND=noninteractive as_root apt-get install -y "${missing[@]}"
fi

mkdir -p "$(dirname "$out")"
OFFBOARD_CERTIFICATE_OUT=$html go test ./workflows -run '^TestCertificateOfARealRun$' -count=1 >/dev/null
# A4 at 96 dpi is 794 × 1123 CSS pixels; twice that for a sharp image.
chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --force-device-scale-factor=2 \
	--window-size=794,1123 --screenshot="$PWD/$out" "file://$html" 2>/dev/null
echo "wrote $out (from $html)"
