#!/usr/bin/env bash
# Builds the pinned Kubernetes binaries the local provider and its tests run:
# kube-apiserver, kube-controller-manager, kube-scheduler, kubectl, etcd, kwok.
#
#   hack/k8s-binaries.sh      build them unless cached; print the cache dir on stdout
#
# They are built from source through the Go module proxy (no other network is
# needed) into ${EASEL_K8S_CACHE:-$HOME/.cache/easel/k8s}/<kubernetes-version>/,
# outside the tree, so every checkout shares one build. The directory holds a
# VERSIONS file, written last, only once every binary has built and answered its
# version flag; internal/k8sbin trusts a directory only if VERSIONS matches its pins.
#
# A cold build takes about 6 minutes on 2 cores (module cache +1.2 GB, build cache
# +3.7 GB); a cached run returns at once. Progress goes to stderr, the full go
# output to <cache>/.<kubernetes-version>.log. The build happens in a staging
# directory renamed into place at the end, so an interrupted build never leaves a
# half-filled cache; a lock serialises concurrent runs.
#
# Keep the pins in step with internal/k8sbin/k8sbin.go.
set -euo pipefail

# The command running in the background, if any; see run.
child=
stop() {
	if [[ -n $child ]]; then
		kill -TERM -- "-$child" 2>/dev/null || kill -TERM "$child" 2>/dev/null || true
		wait "$child" 2>/dev/null || true
	fi
	exit "$1"
}
trap 'stop 130' INT
trap 'stop 143' TERM

KUBERNETES_VERSION=v1.34.4
ETCD_VERSION=v3.6.4
KWOK_VERSION=v0.8.0

# The staging modules (k8s.io/api, k8s.io/client-go, ...) are versioned v0.X.Y
# for Kubernetes v1.X.Y.
STAGING_VERSION=v0.${KUBERNETES_VERSION#v1.}
BINARIES=(kube-apiserver kube-controller-manager kube-scheduler kubectl etcd kwok)
VERSIONS="kubernetes $KUBERNETES_VERSION
etcd $ETCD_VERSION
kwok $KWOK_VERSION"

root=${EASEL_K8S_CACHE:-$HOME/.cache/easel/k8s}
dir=$root/$KUBERNETES_VERSION

log() { printf 'k8s-binaries.sh: [%4ds] %s\n' "$SECONDS" "$*" >&2; }
die() {
	log "error: $*"
	exit 1
}

# Reports whether $1 holds every binary and a VERSIONS file matching the pins.
complete() {
	local bin
	[[ -f $1/VERSIONS && $(<"$1/VERSIONS") == "$VERSIONS" ]] || return 1
	for bin in "${BINARIES[@]}"; do
		[[ -f $1/$bin && -x $1/$bin ]] || return 1
	done
}

# The fast path: no lock, no go command. VERSIONS appears only through the final
# rename, so a directory that has it is complete.
if complete "$dir"; then
	echo "$dir"
	exit 0
fi

command -v go >/dev/null || die "the go command is not on PATH"
mkdir -p "$root"
exec 9>"$root/.$KUBERNETES_VERSION.lock"
if ! flock -n 9; then
	log "Waiting for another build of $dir to finish"
	# In the background so that a signal ends the wait (see run). The lock
	# belongs to the open file, which this shell keeps.
	flock 9 &
	child=$!
	wait "$child"
	child=
fi
# That other build may have filled the cache while we waited.
if complete "$dir"; then
	echo "$dir"
	exit 0
fi

stage=$root/.$KUBERNETES_VERSION.staging
old=$root/.$KUBERNETES_VERSION.old
gologfile=$root/.$KUBERNETES_VERSION.log
work=$(mktemp -d "${TMPDIR:-/tmp}/easel-k8s-build.XXXXXX")
cleanup() {
	rm -rf "$work" "$stage" "$old"
}
trap cleanup EXIT
# Left over by a build that was killed; we hold the lock, so nobody else owns them.
rm -rf "$stage" "$old"
mkdir -p "$stage"
: >"$gologfile"

# Runs a command with its output in the log; shows the log's tail on failure.
# The command runs in the background, in a process group of its own, because
# bash defers traps until a foreground command ends (minutes for go build); this
# way a signal to the script stops at once, and takes the compilers and linkers
# with it.
run() {
	local rc=0
	setsid "$@" >>"$gologfile" 2>&1 &
	child=$!
	wait "$child" || rc=$?
	child=
	if ((rc != 0)); then
		tail -n 30 "$gologfile" >&2
		die "$* failed (full output: $gologfile)"
	fi
}

# Deterministic, self-contained builds whatever the caller's go env says:
# module mode outside any workspace, static binaries as Kubernetes releases them.
export GOWORK=off GO111MODULE=on GOFLAGS=-mod=mod CGO_ENABLED=0

log "Building into $dir (go output: $gologfile)"

log "Downloading k8s.io/kubernetes@$KUBERNETES_VERSION"
run go -C "$work" mod download k8s.io/kubernetes@"$KUBERNETES_VERSION"
kubegomod=$(go env GOMODCACHE)/k8s.io/kubernetes@$KUBERNETES_VERSION/go.mod
[[ -f $kubegomod ]] || die "$kubegomod not found after go mod download"

# go install ...@version refuses kubernetes because its go.mod replaces the
# staging modules with ./staging/... directories. A module of our own that
# requires kubernetes must replace each of them with its published version.
# sample-cli-plugin and sample-controller are not published (the proxy answers
# 403) and nothing we build imports them.
mapfile -t staging < <(
	awk '$2 == "=>" && $3 ~ /^\.\/staging\// { print $1 } $1 == "replace" && $3 == "=>" && $4 ~ /^\.\/staging\// { print $2 }' "$kubegomod" |
		grep -vx -e k8s.io/sample-cli-plugin -e k8s.io/sample-controller
)
((${#staging[@]} > 0)) || die "no ./staging replace directives found in $kubegomod"

log "Resolving the kubernetes module graph (${#staging[@]} staging modules at $STAGING_VERSION)"
mkdir "$work/kubernetes"
cat >"$work/kubernetes/tools.go" <<'EOF'
//go:build tools

package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
EOF
replaces=()
for m in "${staging[@]}"; do
	replaces+=("-replace=$m=$m@$STAGING_VERSION")
done
run go -C "$work/kubernetes" mod init easel.invalid/k8s-binaries
run go -C "$work/kubernetes" mod edit -require=k8s.io/kubernetes@"$KUBERNETES_VERSION" "${replaces[@]}"
run go -C "$work/kubernetes" mod tidy

# Without these the binaries report v0.0.0, which kubectl version skew checks
# and the apiserver's emulation version logic take at face value.
major=${KUBERNETES_VERSION#v}
major=${major%%.*}
minor=${KUBERNETES_VERSION#v*.}
minor=${minor%%.*}
ldflags=
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
	ldflags+=" -X $pkg.gitVersion=$KUBERNETES_VERSION -X $pkg.gitMajor=$major"
	ldflags+=" -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean"
done

log "Building kube-apiserver, kube-controller-manager, kube-scheduler and kubectl $KUBERNETES_VERSION"
run go -C "$work/kubernetes" build -trimpath -ldflags="${ldflags# }" -o "$stage/" \
	k8s.io/kubernetes/cmd/kube-apiserver \
	k8s.io/kubernetes/cmd/kube-controller-manager \
	k8s.io/kubernetes/cmd/kube-scheduler \
	k8s.io/kubernetes/cmd/kubectl

log "Building etcd $ETCD_VERSION"
mkdir "$work/etcd"
cat >"$work/etcd/main.go" <<'EOF'
// Command etcd is the upstream etcd server, built from its Go module.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
EOF
run go -C "$work/etcd" mod init easel.invalid/etcd
run go -C "$work/etcd" mod edit -require=go.etcd.io/etcd/server/v3@"$ETCD_VERSION"
run go -C "$work/etcd" mod tidy
run go -C "$work/etcd" build -trimpath -o "$stage/etcd" .

log "Building kwok $KWOK_VERSION"
run env GOBIN="$stage" go -C "$work" install -trimpath sigs.k8s.io/kwok/cmd/kwok@"$KWOK_VERSION"

log "Checking versions"
# Prints the output of a version command if it contains the expected string.
check() {
	local want=$1 out
	shift
	out=$("$@" 2>&1) || die "$* failed: $out"
	[[ $out == *"$want"* ]] || die "$* printed \"$out\", want it to contain \"$want\""
	log "  ${out%%$'\n'*}"
}
check "Kubernetes $KUBERNETES_VERSION" "$stage/kube-apiserver" --version
check "Kubernetes $KUBERNETES_VERSION" "$stage/kube-controller-manager" --version
check "Kubernetes $KUBERNETES_VERSION" "$stage/kube-scheduler" --version
check "Client Version: $KUBERNETES_VERSION" "$stage/kubectl" version --client
check "etcd Version: ${ETCD_VERSION#v}" "$stage/etcd" --version
check "${KWOK_VERSION#v}" "$stage/kwok" --version

# VERSIONS last and atomically, then the whole directory into place.
printf '%s\n' "$VERSIONS" >"$stage/VERSIONS.tmp"
mv "$stage/VERSIONS.tmp" "$stage/VERSIONS"
if [[ -e $dir ]]; then
	# Incomplete or built with other pins: replace it.
	mv "$dir" "$old"
fi
mv "$stage" "$dir"
rm -rf "$old"
complete "$dir" || die "$dir is incomplete after the build"

log "Done: $(du -sh "$dir" | cut -f1) in $dir"
echo "$dir"
