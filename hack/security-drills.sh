#!/usr/bin/env bash
# Replays two drills of the security review against a running hub and prints what it answered
# (docs/security.md records the numbers):
#   1. 300 requests whose HTTP method is a 20 KB made-up name, then the size of /metrics;
#   2. 320 wrong passwords for one account, then the right one.
#
#   hack/security-drills.sh HUB_URL EMAIL PASSWORD_FILE
#   e.g. hack/security-drills.sh http://127.0.0.1:8080 admin@easel.local .data/initial-admin-password
#
# It makes the account wait LoginWindow (15 minutes) before its next login: use a throwaway hub.
set -euo pipefail
hub=${1:?usage: $0 HUB_URL EMAIL PASSWORD_FILE}
email=${2:?usage: $0 HUB_URL EMAIL PASSWORD_FILE}
password=$(cat "${3:?usage: $0 HUB_URL EMAIL PASSWORD_FILE}")

metrics_bytes() { curl -sS "$hub/metrics" | wc -c; }
login() { # prints the status code and the Retry-After header, if any
	curl -sS -o /dev/null -D - -w '%{http_code}\n' -H 'Content-Type: application/json' \
		-d "{\"emailId\":\"$email\",\"password\":\"$1\"}" "$hub/v1/auth/authenticate" |
		awk 'tolower($1)=="retry-after:"{ra=$2} END{sub(/\r/,"",ra); print $0 (ra ? " Retry-After " ra : "")}'
}

before=$(metrics_bytes)
method=$(head -c 20000 /dev/zero | tr '\0' X)
for i in $(seq 300); do
	curl -sS -o /dev/null -X "$method$i" "$hub/v1/users/info"
done
echo "/metrics: $before bytes before, $(metrics_bytes) bytes after 300 requests with 20 KB methods"

start=$(date +%s.%N)
codes=$(for i in $(seq 320); do login "wrong-$i"; done | awk '{print $1}' | sort | uniq -c | awk '{printf "%s×%s ", $1, $2}')
end=$(date +%s.%N)
awk -v s="$start" -v e="$end" -v c="$codes" 'BEGIN{printf "320 wrong passwords in %.2f s: %s\n", e-s, c}'
echo "then the right password: $(login "$password")"
