#!/usr/bin/env bash
# Login benchmark: what LOGIN costs archimap when the password check is not
# cached, for one or more builds side by side (to compare before and after a
# change on the same machine at the same time). Each build gets a copy of
# the same data directory with USERS integrated users and, over implicit TLS
# from 127.0.0.1 (bench/imap_load.py):
#   - the first LOGIN (an argon2id check) and the median of REPEAT LOGINs
#     that follow on new connections (cached checks);
#   - USERS first LOGINs of distinct users sent at once: logins per second,
#     the server's peak resident memory above its idle size, and what is
#     still held 3 s later;
#   - USERS failed LOGINs sent at once (`failed_login_delay_ms = 0`, so
#     that the checks, not the throttling delays, are measured).
# Writes the "## Login under load" section of BENCHMARKS.md.
#
#   bench/login.sh                                        # the release build
#   BINS="before=/tmp/old/archimap after=target/release/archimap" bench/login.sh
#   USERS=20 WRITE=0 BINS="dev=target/debug/archimap" bench/login.sh   # check the script
set -euo pipefail

USERS=${USERS:-100}
REPEAT=${REPEAT:-50}
# PORT (imaps), PORT+1 (STARTTLS), PORT+2 (admin API); default: free ones
PORT=${PORT:-$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}
WORK=${WORK:-/tmp/archimap-bench-login}
WRITE=${WRITE:-1}
NOTE=${NOTE:-}

REPO=$(cd "$(dirname "$0")/.." && pwd)
BINS=${BINS:-"archimap=${CARGO_TARGET_DIR:-$REPO/target}/release/archimap"}
LOAD="python3 $REPO/bench/imap_load.py"
REPORT=$REPO/BENCHMARKS.md
PASS=benchpw
# shellcheck source=bench/write_section.sh
. "$REPO/bench/write_section.sh"
die() { echo "login.sh: $*" >&2; exit 1; }
jv() { python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$@"; }

A_PID=
cleanup() { [ -n "$A_PID" ] && kill "$A_PID" 2> /dev/null || true; }
trap cleanup EXIT
rm -rf "$WORK"
mkdir -p "$WORK"

first_bin=${BINS%% *}
first_bin=${first_bin#*=}
[ -x "$first_bin" ] || die "no binary at $first_bin"
echo "creating $USERS users and u0" >&2
for i in $(seq 0 "$USERS"); do
    RUST_LOG=error "$first_bin" --data-dir "$WORK/template" user add "u$i" --password "$PASS" > /dev/null
done

rows=
for spec in $BINS; do
    label=${spec%%=*} bin=${spec#*=}
    [ -x "$bin" ] || die "no binary at $bin"
    rm -rf "$WORK/data" && cp -a "$WORK/template" "$WORK/data"
    printf '[limits]\nfailed_login_delay_ms = 1\nmax_connections_per_ip = %d\n' $((USERS * 2 + 10)) > "$WORK/config.toml"
    RUST_LOG=error "$bin" --data-dir "$WORK/data" --config "$WORK/config.toml" serve \
        --imaps "127.0.0.1:$PORT" --starttls "127.0.0.1:$((PORT + 1))" --api "127.0.0.1:$((PORT + 2))" &
    A_PID=$!
    for _ in $(seq 100); do (exec 3<> "/dev/tcp/127.0.0.1/$PORT") 2> /dev/null && break; sleep 0.1; done
    kill -0 "$A_PID" 2> /dev/null || die "$label did not start (port $PORT taken?)"
    common=(--port "$PORT" --password "$PASS" --server "$A_PID")
    $LOAD login "${common[@]}" --user u0 --repeat "$REPEAT" > "$WORK/$label-latency.json"
    $LOAD logins "${common[@]}" --user 'u%d' --conns "$USERS" > "$WORK/$label-first.json"
    $LOAD logins "${common[@]}" --user 'u%d' --conns "$USERS" --wrong > "$WORK/$label-failed.json"
    kill "$A_PID" && wait "$A_PID" 2> /dev/null || true
    A_PID=
    f=$WORK/$label-first.json x=$WORK/$label-failed.json l=$WORK/$label-latency.json
    [ "$(jv "$f" 'd["ok"]')" = "$USERS" ] || die "$label: not every first LOGIN succeeded: $(cat "$f")"
    [ "$(jv "$x" 'd["ok"]')" = 0 ] || die "$label: a wrong password was accepted"
    rows+="| $label | $(jv "$f" '"%.0f" % d["per_s"]') | $(jv "$f" '"%.0f" % ((d["hwm_kib"] - d["rss_before_kib"]) / 1024)') "
    rows+="| $(jv "$f" '"%.0f" % ((d["rss_after_kib"] - d["rss_before_kib"]) / 1024)') "
    rows+="| $(jv "$x" '"%.0f" % d["per_s"]') | $(jv "$l" '"%.1f" % d["first_ms"]') | $(jv "$l" '"%.2f" % d["repeat_median_ms"]') |"$'\n'
done

section="## Login under load

Measured with \`bench/login.sh\` on $(date -u) on $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')), load average $(cut -d' ' -f1 /proc/loadavg) at the end.

- Command: \`USERS=$USERS REPEAT=$REPEAT BINS=\"$BINS\" bench/login.sh\`.
- $USERS integrated users and one more for the latency (argon2id, default parameters: 19 MiB, t=2); \`failed_login_delay_ms = 0\`.
  All connections come from 127.0.0.1, the worst case for the per-address share of password checks.
- \"First logins\": $USERS connections opened, then one LOGIN of a distinct user on each, all sent at once;
  logins/s over the wall time from the first sent to the last answered; peak = the server's VmHWM minus
  its RSS before; held = its RSS 3 s after the connections closed minus before.
- \"Failed\": the same with a wrong password. \"First\"/\"repeated\": before those, on the fresh server, one
  LOGIN (an argon2id check), then the median of $REPEAT LOGINs on new connections (cached checks).
${NOTE:+- $NOTE
}
| build | first logins/s | peak MiB | held MiB | failed logins/s | first LOGIN ms | repeated LOGIN ms |
|---|---|---|---|---|---|---|
${rows%$'\n'}"
write_section "$REPORT" "$section"
