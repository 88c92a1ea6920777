#!/usr/bin/env bash
# Builds easel and starts the hub on its embedded defaults: SQLite in ./.data, 127.0.0.1:8080.
# The first start writes the admin's password and API key to .data/initial-admin-password and
# .data/initial-admin-api-key (mode 0600) and prints the next commands to run.
#   ./hack/start.sh [easel server flags, e.g. --listen 127.0.0.1:9090]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
echo "==> Building the pinned Kubernetes binaries (first run only, about 6 minutes)" >&2
EASEL_K8S_BIN=$(hack/k8s-binaries.sh)
export EASEL_K8S_BIN
echo "==> Building bin/easel" >&2
go build -o bin/easel ./cmd/easel
echo "==> Starting the hub (Ctrl-C stops it; data in .data/)" >&2
echo "    The CLI is bin/easel: export PATH=\"$PWD/bin:\$PATH\"" >&2
exec bin/easel server --data-dir .data "$@"
