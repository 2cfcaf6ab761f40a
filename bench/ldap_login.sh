#!/usr/bin/env bash
# Directory login benchmark: IMAP LOGIN latency of a directoryServices user
# on loopback. Every such LOGIN asks the directory (nothing is cached): a
# new TLS connection to slapd, a bind as the service account, a search for
# the user and a read of the group, a bind as the user. The directory is the
# tests' OpenLDAP slapd, started by the same script (tests/fixtures/slapd/
# start.sh); the client is bench/imap_load.py (one first LOGIN, then REPEAT
# LOGINs, each on a new connection, LOGIN alone timed). Writes the
# "## Directory login" section of BENCHMARKS.md.
#
#   bench/ldap_login.sh                                     # release build, REPEAT=200
#   BIN=target/debug/archimap WRITE=0 bench/ldap_login.sh   # check the script: print, write nothing
#   NOTE='...' bench/ldap_login.sh                          # a remark to print with the figures
#
# Needs slapd and ldap-utils (installed when missing, as scripts/test does).
set -euo pipefail

REPEAT=${REPEAT:-200}
PORT=${PORT:-21993}          # archimap: PORT (imaps) and PORT+1 (STARTTLS)
WORK=${WORK:-/tmp/archimap-bench-ldap}
WRITE=${WRITE:-1}
NOTE=${NOTE:-}

REPO=$(cd "$(dirname "$0")/.." && pwd)
REPORT=$REPO/BENCHMARKS.md
die() { echo "ldap_login.sh: $*" >&2; exit 1; }

A_PID= S_PID=
cleanup() {
    [ -n "$A_PID" ] && kill "$A_PID" 2> /dev/null || true
    [ -n "$S_PID" ] && kill "$S_PID" 2> /dev/null || true
    rm -rf "$WORK/data" "$WORK/slapd"
}
trap cleanup EXIT
rm -rf "$WORK"
mkdir -p "$WORK/slapd"
if ! [ -x /usr/sbin/slapd ] || ! command -v ldapwhoami > /dev/null; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q && apt-get install -y -q slapd ldap-utils
fi

# 1. The binary, copied: others may rebuild target/ while this runs.
if [ -z "${BIN:-}" ]; then
    (cd "$REPO" && cargo build --release)
    BIN=${CARGO_TARGET_DIR:-$REPO/target}/release/archimap
    build="\`cargo build --release\` of commit $(git -C "$REPO" rev-parse --short HEAD)$(git -C "$REPO" diff --quiet HEAD -- src Cargo.toml Cargo.lock || echo ' plus uncommitted changes')"
else
    build="\`$BIN\` (given with BIN=)"
fi
cp "$BIN" "$WORK/archimap"

# 2. The directory.
LDAPS= CA=
while IFS='=' read -r key value; do
    case $key in pid) S_PID=$value ;; ldaps) LDAPS=$value ;; ca) CA=$value ;; esac
done < <("$REPO/tests/fixtures/slapd/start.sh" "$WORK/slapd")
[ -n "$S_PID" ] && [ -n "$LDAPS" ] || die "slapd did not start"

# 3. archimap: the directory's users synchronised, then served.
cat > "$WORK/archimap.toml" << CONF
data_dir = "$WORK/data"

[directory]
kind = "ldap"
urls = ["$LDAPS"]
ca_file = "$CA"
bind_dn = "cn=archimap,ou=services,dc=example,dc=com"
bind_password = "service-secret"
base_dn = "dc=example,dc=com"
groups = ["cn=archive-users,ou=groups,dc=example,dc=com"]
CONF
sync=$("$WORK/archimap" --config "$WORK/archimap.toml" directory sync | tail -1)
"$WORK/archimap" --config "$WORK/archimap.toml" serve --imaps "127.0.0.1:$PORT" \
    --starttls "127.0.0.1:$((PORT + 1))" > "$WORK/serve.log" 2>&1 &
A_PID=$!
for _ in $(seq 300); do
    grep -q " ready " "$WORK/serve.log" && break
    kill -0 "$A_PID" 2> /dev/null || die "archimap exited: $(tail -c 2000 "$WORK/serve.log")"
    sleep 0.1
done
grep -q " ready " "$WORK/serve.log" || die "archimap did not get ready"

# 4. The measurement.
load=$(cut -d' ' -f1 /proc/loadavg)
python3 "$REPO/bench/imap_load.py" login --port "$PORT" --ca "$WORK/data/tls/self-signed-cert.pem" \
    --user alice --password wonderland --repeat "$REPEAT" > "$WORK/login.json"
jv() { python3 -c 'import json, sys; print("%.1f" % json.load(open(sys.argv[1]))[sys.argv[2]])' "$WORK/login.json" "$1"; }
first=$(jv first_ms) median=$(jv repeat_median_ms) p99=$(jv repeat_p99_ms) max=$(jv repeat_max_ms)
met=$(awk "BEGIN { exit !($median < 50) }" && echo "**met**" || echo "**not met**")
slapd_version=$(/usr/sbin/slapd -VV 2>&1 | sed -n 's/.*slapd \([0-9.]*\).*/\1/p' | head -1)

section=$(cat << SECTION
## Directory login

Measured with \`bench/ldap_login.sh\` on $(date -u).

- Build: $build.
- Machine: $(nproc) CPUs ($(lscpu | sed -n 's/^Model name: *//p' | head -1)), $(awk '/MemTotal/ { printf "%.1f", $2 / 1048576 }' /proc/meminfo) GiB RAM, shared with
  other engineers' work; client, archimap and slapd on the same CPUs. Load average (1 min) before: $load.
- Command: \`REPEAT=$REPEAT bench/ldap_login.sh\`.
- Directory: OpenLDAP $slapd_version (Debian), the tests' fixture (\`tests/fixtures/slapd/start.sh\`):
  ldaps:// on 127.0.0.1, mdb, an ECDSA P-256 certificate, the group restriction read from the group's
  \`member\` values. \`archimap directory sync\`: \`$sync\`.
- Each LOGIN of \`alice\` (directoryServices) costs archimap a new TLS connection to slapd, a bind as the
  service account, a search for the user, a read of the group and a bind as the user: nothing is cached.
- Client: \`bench/imap_load.py login --repeat $REPEAT\` (Python $(python3 -c 'import platform; print(platform.python_version())'), ssl): implicit TLS to 127.0.0.1, one
  first LOGIN, then $REPEAT LOGINs, each on a new connection; connect, TLS handshake and greeting untimed.

| LOGIN of a directory user | ms |
| --- | ---: |
| first | $first |
| median of $REPEAT | $median |
| p99 | $p99 |
| max | $max |

Goal (from the issue): median under 50 ms: $median ms, $met.
${NOTE:+
Note: $NOTE
}
SECTION
)

. "$REPO/bench/write_section.sh"
write_section "$REPORT" "$section"
