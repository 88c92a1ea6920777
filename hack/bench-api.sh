#!/usr/bin/env bash
# Runs the API benchmark on SQLite and on PostgreSQL in one go (see docs/benchmarks.md):
#   ./hack/bench-api.sh [easel bench api flags, e.g. --clusters 10000 --duration 20s]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
hack/postgres.sh install
go build -o bin/easel ./cmd/easel
pgdir=$(mktemp -d "${TMPDIR:-/tmp}/easel-bench-pg.XXXXXX")
trap 'hack/postgres.sh stop "$pgdir" || true; rm -rf "$pgdir"' EXIT
dsn=$(hack/postgres.sh start "$pgdir")
bin/easel bench api "$@"
bin/easel bench api --db "$dsn" "$@"
