#!/usr/bin/env bash
# The test command for easel; .ci/run calls it and nothing else.
#
#   ./hack/test.sh                               gofmt, go vet and all tests
#   ./hack/test.sh -run Foo ./internal/store/    ... with these go test arguments instead of ./...
#
# Works on a fresh Debian machine as root: installs what the tests need, then
# runs every test against one shared throwaway PostgreSQL server.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

step() { printf '\n==> %s\n' "$*" >&2; }

step "Installing PostgreSQL (if missing)"
hack/postgres.sh install

step "Building the pinned Kubernetes binaries (cached after the first run)"
EASEL_K8S_BIN=$(hack/k8s-binaries.sh)
export EASEL_K8S_BIN
echo "EASEL_K8S_BIN=$EASEL_K8S_BIN" >&2

step "Installing Chromium for the console's browser tests (if missing)"
EASEL_CHROMIUM=$(hack/chromium.sh)
export EASEL_CHROMIUM
echo "EASEL_CHROMIUM=$EASEL_CHROMIUM" >&2

step "Starting the shared PostgreSQL server"
pgdir=$(mktemp -d "${TMPDIR:-/tmp}/easel-test-pg.XXXXXX")
cleanup() {
	hack/postgres.sh stop "$pgdir" || true
	rm -rf "$pgdir"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
EASEL_TEST_POSTGRES=$(hack/postgres.sh start "$pgdir")
export EASEL_TEST_POSTGRES
echo "EASEL_TEST_POSTGRES=$EASEL_TEST_POSTGRES" >&2

step "gofmt"
unformatted=$(gofmt -l .)
if [[ -n $unformatted ]]; then
	echo "These files are not gofmt-formatted (run gofmt -w on them):" >&2
	echo "$unformatted" >&2
	exit 1
fi

step "go vet"
go vet ./...

step "go test"
if (($# > 0)); then
	args=("$@")
else
	args=(./...)
fi
go test -race -count=1 -timeout 20m "${args[@]}"

# Every fuzz target in the tree runs for a bounded time after the tests: the parsers of what
# clients and agents send (cluster specs, profiles, agent reports, search filters) must never
# panic nor accept what is beyond a limit. go test -fuzz takes one target of one package per run,
# so they run one at a time, EASEL_FUZZTIME each (default 20000x: 20,000 inputs, a few seconds to
# about 15 s a target here). A count, not a duration: with a duration, Go's fuzz coordinator can
# fail a run that found nothing with a bare "context deadline exceeded" when its workers are
# starved at the deadline (golang/go#75804, seen here on a loaded machine; not fixed in go1.26).
# A failing input is saved under the package's testdata/fuzz and fails the run. Only the whole
# suite fuzzes: a run of chosen tests (arguments given) does not.
if (($# == 0)); then
	fuzztime=${EASEL_FUZZTIME:-20000x}
	step "go test -fuzz ($fuzztime per target)"
	targets=$(grep -rEo --include='*_test.go' '^func Fuzz[A-Za-z0-9_]+' . | sed 's/:func /:/' | sort)
	while IFS=: read -r file name; do
		[[ -n $name ]] || continue
		echo "$name ($(dirname "$file"))" >&2
		go test -run '^$' -fuzz "^${name}\$" -fuzztime "$fuzztime" "$(dirname "$file")"
	done <<<"$targets"
fi
