#!/usr/bin/env bash
# Throwaway PostgreSQL servers for easel's tests.
#
#   hack/postgres.sh install     install Debian's postgresql package unless server
#                                binaries are already present (idempotent)
#   hack/postgres.sh start DIR   start a server with its data in DIR, listening on
#                                127.0.0.1 and a free port; prints exactly one line,
#                                its admin DSN, on stdout (logs: stderr, DIR/postgres.log).
#                                If a server is already running in DIR, prints its DSN.
#   hack/postgres.sh stop DIR    stop the server running in DIR (no-op if none)
#
# The server is for tests only: trust auth, fsync off. PostgreSQL refuses to run
# as root, so when this script runs as root the server runs as the "postgres" OS
# user and DIR is chowned to it (DIR's parent directories must be traversable by
# that user; a fresh directory under /tmp works).
set -euo pipefail
# Stop at once on ^C instead of, say, retrying an interrupted pg_ctl start.
trap 'exit 130' INT
trap 'exit 143' TERM

log() { echo "postgres.sh: $*" >&2; }
die() {
	log "error: $*"
	exit 1
}

usage() {
	echo "usage: $0 install | start DIR | stop DIR" >&2
	exit 2
}

# Prints the directory holding the newest installed server binaries.
pg_bindir() {
	local pgctl
	for pgctl in $(printf '%s\n' /usr/lib/postgresql/*/bin/pg_ctl | sort -rV); do
		if [[ -x $pgctl ]]; then
			dirname "$pgctl"
			return 0
		fi
	done
	if pgctl=$(command -v pg_ctl); then
		dirname "$pgctl"
		return 0
	fi
	return 1
}

# Runs a command as the server's owner, from inside $dir.
run_owner() {
	if ((EUID == 0)); then
		(cd "$dir" && runuser -u postgres -- "$@")
	else
		(cd "$dir" && "$@")
	fi
}

cmd_install() {
	local bindir
	if bindir=$(pg_bindir); then
		log "PostgreSQL server binaries found in $bindir"
		return 0
	fi
	command -v apt-get >/dev/null || die "no PostgreSQL server binaries found and no apt-get; install PostgreSQL yourself"
	local sudo=()
	if ((EUID != 0)); then
		command -v sudo >/dev/null || die "installing PostgreSQL needs root"
		sudo=(sudo)
	fi
	local apt=("${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -y -q)

	log "installing Debian's postgresql package"
	if ! apt-cache show postgresql >/dev/null 2>&1; then
		"${apt[@]}" update >&2
	fi
	if ! "${apt[@]}" install --no-install-recommends postgresql >&2; then
		log "install failed; refreshing package lists and retrying"
		"${apt[@]}" update >&2
		"${apt[@]}" install --no-install-recommends postgresql >&2
	fi
	bindir=$(pg_bindir) || die "postgresql installed but no pg_ctl found"
	log "PostgreSQL server binaries installed in $bindir"

	# The package creates and starts a default cluster on port 5432; tests use
	# their own servers, so stop it and keep it from starting at boot.
	if command -v pg_lsclusters >/dev/null; then
		local ver name port status _
		while read -r ver name port status _; do
			if [[ $status == online* ]]; then
				log "stopping the distribution's default cluster $ver/$name on port $port"
				"${sudo[@]}" pg_ctlcluster "$ver" "$name" stop >&2 || log "warning: could not stop cluster $ver/$name"
			fi
			if [[ -f /etc/postgresql/$ver/$name/start.conf ]]; then
				"${sudo[@]}" sed -i 's/^auto$/manual/' "/etc/postgresql/$ver/$name/start.conf"
			fi
		done < <(pg_lsclusters -h)
	fi
	if [[ -d /run/systemd/system ]]; then
		"${sudo[@]}" systemctl disable --now postgresql >&2 || true
	fi
}

# Prints a TCP port on 127.0.0.1 that nothing listens on (outside Linux's
# default ephemeral range). Racy by nature; cmd_start retries on failure.
free_port() {
	local port
	for _ in {1..100}; do
		port=$((15000 + RANDOM % 17000))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
			echo "$port"
			return 0
		fi
	done
	die "no free port found"
}

dsn() { echo "postgres://postgres@127.0.0.1:$1/postgres?sslmode=disable"; }

cmd_start() {
	local bindir
	bindir=$(pg_bindir) || die "PostgreSQL server binaries not found; run hack/postgres.sh install"
	mkdir -p "$dir"
	dir=$(cd "$dir" && pwd -P)
	if ((EUID == 0)); then
		id postgres >/dev/null 2>&1 || die "running as root needs a 'postgres' OS user to own the server"
		chown postgres: "$dir"
		runuser -u postgres -- test -w "$dir" -a -x "$dir" ||
			die "user postgres cannot write $dir (are its parent directories traversable?)"
	fi
	local data=$dir/data logfile=$dir/postgres.log port

	if [[ -f $data/postmaster.pid ]] && run_owner "$bindir/pg_ctl" status -D "$data" >/dev/null 2>&1; then
		port=$(sed -n 4p "$data/postmaster.pid")
		log "server already running in $dir on port $port"
		dsn "$port"
		return 0
	fi

	run_owner touch "$logfile"
	if [[ ! -f $data/PG_VERSION ]]; then
		log "initdb $data"
		run_owner "$bindir/initdb" -D "$data" -U postgres -A trust -E UTF8 --locale=C \
			--no-sync --no-instructions >>"$logfile" 2>&1 ||
			{ tail -n 20 "$logfile" >&2; die "initdb failed (log: $logfile)"; }
		cat >>"$data/postgresql.conf" <<-'EOF'

			# Added by hack/postgres.sh: throwaway test server.
			listen_addresses = '127.0.0.1'
			unix_socket_directories = ''
			max_connections = 200
			shared_buffers = 32MB
			fsync = off
			synchronous_commit = off
			full_page_writes = off
		EOF
	fi

	local started=
	for _ in 1 2 3 4 5; do
		port=$(free_port)
		log "starting server in $dir on 127.0.0.1:$port"
		if run_owner "$bindir/pg_ctl" start -D "$data" -l "$logfile" -w -t 60 -o "-p $port" >/dev/null; then
			started=1
			break
		fi
		log "start on port $port failed; retrying"
	done
	[[ -n $started ]] || { tail -n 20 "$logfile" >&2; die "could not start server (log: $logfile)"; }

	for _ in {1..300}; do
		if "$bindir/pg_isready" -q -h 127.0.0.1 -p "$port" -U postgres -d postgres; then
			dsn "$port"
			return 0
		fi
		sleep 0.1
	done
	tail -n 20 "$logfile" >&2
	die "server in $dir does not accept connections on port $port (log: $logfile)"
}

cmd_stop() {
	local data=$dir/data bindir
	if [[ ! -f $data/postmaster.pid ]]; then
		log "no server running in $dir"
		return 0
	fi
	bindir=$(pg_bindir) || die "PostgreSQL server binaries not found"
	if ! run_owner "$bindir/pg_ctl" status -D "$data" >/dev/null 2>&1; then
		log "no server running in $dir"
		return 0
	fi
	log "stopping server in $dir"
	run_owner "$bindir/pg_ctl" stop -D "$data" -m fast -w -t 60 >/dev/null ||
		run_owner "$bindir/pg_ctl" stop -D "$data" -m immediate -w -t 60 >/dev/null
}

case ${1:-} in
install)
	(($# == 1)) || usage
	cmd_install
	;;
start | stop)
	(($# == 2)) || usage
	dir=$2
	"cmd_$1"
	;;
*) usage ;;
esac
