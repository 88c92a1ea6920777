#!/usr/bin/env bash
# Runs an easel-bench benchmark on SQLite and then on PostgreSQL in one go (see docs/benchmarks.md):
#   ./hack/bench-stores.sh api --clusters 10000 --duration 20s
#   ./hack/bench-stores.sh ingest --agents 200 --nodes 10 --duration 20s
# It builds bin/easel (the hub measured) and bin/easel-bench (which runs it as a child process).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
if (($# < 1)); then
	echo "usage: $0 api|ingest [easel-bench flags]" >&2
	exit 2
fi
hack/postgres.sh install
go build -o bin/easel ./cmd/easel
go build -o bin/easel-bench ./cmd/easel-bench
pgdir=$(mktemp -d "${TMPDIR:-/tmp}/easel-bench-pg.XXXXXX")
trap 'hack/postgres.sh stop "$pgdir" || true; rm -rf "$pgdir"' EXIT
dsn=$(hack/postgres.sh start "$pgdir")
bin/easel-bench "$@"
bin/easel-bench "$@" --db "$dsn"
