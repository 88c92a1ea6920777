#!/usr/bin/env bash
# Chromium for the console's browser tests (internal/testenv/browser).
#
#   hack/chromium.sh    install Debian's chromium package unless a Chromium is already on the
#                       PATH (idempotent); prints exactly one line, the browser's path, on
#                       stdout (progress goes to stderr)
#
# hack/test.sh exports that path as EASEL_CHROMIUM; to run the browser tests by hand:
#   EASEL_CHROMIUM=$(hack/chromium.sh) go test ./internal/console/
set -euo pipefail
trap 'exit 130' INT
trap 'exit 143' TERM

log() { echo "chromium.sh: $*" >&2; }
die() {
	log "error: $*"
	exit 1
}

# Prints the path of the first Chromium on the PATH.
chromium_path() {
	command -v chromium || command -v chromium-browser
}

if path=$(chromium_path); then
	log "Chromium found at $path"
	echo "$path"
	exit 0
fi

command -v apt-get >/dev/null || die "no Chromium on the PATH and no apt-get; install Chromium yourself"
sudo=()
if ((EUID != 0)); then
	command -v sudo >/dev/null || die "installing Chromium needs root"
	sudo=(sudo)
fi
apt=("${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -y -q)

log "installing Debian's chromium package"
if ! apt-cache show chromium >/dev/null 2>&1; then
	"${apt[@]}" update >&2
fi
if ! "${apt[@]}" install --no-install-recommends chromium >&2; then
	log "install failed; refreshing package lists and retrying"
	"${apt[@]}" update >&2
	"${apt[@]}" install --no-install-recommends chromium >&2
fi
path=$(chromium_path) || die "chromium installed but not found on the PATH"
log "Chromium installed at $path"
echo "$path"
