#!/usr/bin/env bash
# Journal intake benchmark (issue 16): CLIENTS concurrent SMTP sessions
# deliver N generated messages to archimap's journal receiver (per-user
# journal addresses, full-text indexing on), against Dovecot's LMTP
# delivering the same messages into the same number of mailboxes, same run.
# Writes the "## Journal intake" section of BENCHMARKS.md.
#
#   bench/journal.sh                                  # N=20000 USERS=20 CLIENTS=4 RUNS=3
#   N=2000 RUNS=1 WRITE=0 bench/journal.sh            # quick check
#
# Messages: the first N of bench/corpus.py's big.mbox (the one bench/imap.sh
# makes; made here if missing), message i to user i mod USERS.
# Needs root (Dovecot's setup script adds a system user), dovecot-lmtpd.
set -euo pipefail

N=${N:-20000}
USERS=${USERS:-20}
CLIENTS=${CLIENTS:-4}
RUNS=${RUNS:-3}
SEED=${SEED:-42}
SETTLE=${SETTLE:-15}
PORT=${PORT:-22525}         # archimap SMTP; Dovecot LMTP on PORT+1 (its IMAP on PORT+2, PORT+3)
WORK=${WORK:-/tmp/archimap-bench-journal}
CORPUS=${CORPUS:-/tmp/archimap-bench-imap/corpus-100000-42}
NOTE=${NOTE:-}

REPO=$(cd "$(dirname "$0")/.." && pwd)
SHARED=$REPO/../shared
LOGS=$WORK/logs
REPORT=$REPO/BENCHMARKS.md
. "$REPO/bench/write_section.sh"
. "$REPO/bench/binary.sh"

die() { echo "journal.sh: $*" >&2; exit 1; }
load() { cut -d' ' -f1 /proc/loadavg; }
user() { printf 'u%02d' "$1"; }
A_PID= D_PID=
cleanup() {
    [ -n "$A_PID" ] && kill "$A_PID" 2> /dev/null || true
    [ -n "$D_PID" ] && kill "$D_PID" 2> /dev/null || true
    rm -rf "$WORK/data" "$WORK/dovecot/home"
}
trap cleanup EXIT
rm -rf "$LOGS"
mkdir -p "$WORK" "$LOGS"
[ -x /usr/lib/dovecot/lmtp ] || { export DEBIAN_FRONTEND=noninteractive; apt-get install -y dovecot-lmtpd; }

# 1. The archimap binary, copied: others may rebuild target/ while this runs.
bench_binary

# 2. The messages.
if [ ! -f "$CORPUS/.done" ]; then
    echo "generating the corpus (N=$N)" >&2
    python3 "$REPO/bench/corpus.py" --out "$CORPUS" -n "$N" --seed "$SEED" --shared "$SHARED" --work "$WORK" \
        || die "bench/corpus.py failed"
fi
MBOX=$CORPUS/big.mbox

# 3. Dovecot: the oracle instance's users, with LMTP on PORT+1 into each
# user's Maildir INBOX.
users=()
for i in $(seq "$USERS"); do users+=("$(user "$i")"); done
DOVECOT=$WORK/dovecot
rm -rf "$DOVECOT"
bash "$SHARED/harness/oracle/dovecot/setup_dovecot.sh" "$DOVECOT" $((PORT + 3)) $((PORT + 2)) "${users[@]}" > "$LOGS/dovecot-setup.out" 2>&1 \
    || die "setup_dovecot.sh: $(cat "$LOGS/dovecot-setup.out")"
kill "$(cat "$DOVECOT/run/master.pid")"
sleep 1
dconf=$DOVECOT/lmtp.conf
sed -e 's/^protocols = imap$/protocols = imap lmtp/' "$DOVECOT/dovecot.conf" > "$dconf"
cat >> "$dconf" << CONF
service lmtp {
  inet_listener lmtp {
    address = 127.0.0.1
    port = $((PORT + 1))
  }
  process_min_avail = $CLIENTS
}
CONF
d_start() {
    rm -rf "$DOVECOT/home"
    mkdir -p "$DOVECOT/home"
    for u in "${users[@]}"; do mkdir -p "$DOVECOT/home/$u"; done
    chown -R oraclemail: "$DOVECOT/home"
    rm -f "$DOVECOT/run/master.pid"
    /usr/sbin/dovecot -c "$dconf" < /dev/null > "$LOGS/dovecot-start.out" 2>&1 || die "dovecot: $(cat "$LOGS/dovecot-start.out")"
    for _ in $(seq 100); do [ -s "$DOVECOT/run/master.pid" ] && break; sleep 0.1; done
    D_PID=$(cat "$DOVECOT/run/master.pid")
    for _ in $(seq 100); do (exec 3<> "/dev/tcp/127.0.0.1/$((PORT + 1))") 2> /dev/null && return; sleep 0.1; done
    die "dovecot does not listen on $((PORT + 1))"
}
d_stop() { kill "$D_PID"; while kill -0 "$D_PID" 2> /dev/null; do sleep 0.2; done; D_PID=; }

# 4. archimap: USERS users, the receiver taking plaintext from loopback.
cat > "$WORK/archimap.toml" << CONF
[smtp]
allowed_clients = ["127.0.0.1/32"]
plaintext_from_allowed = true
archive_domain = "archive.example"
max_message_size = 268435456
CONF
a_start() {
    rm -rf "$WORK/data"
    for u in "${users[@]}"; do
        "$BIN" --data-dir "$WORK/data" user add "$u" --password benchpw > /dev/null 2>> "$LOGS/setup.err" || die "user add $u"
    done
    "$BIN" --config "$WORK/archimap.toml" --data-dir "$WORK/data" serve --smtp "127.0.0.1:$PORT" > "$LOGS/serve-$1.log" 2>&1 &
    A_PID=$!
    for _ in $(seq 600); do grep -q ' ready ' "$LOGS/serve-$1.log" && return; sleep 0.1; done
    die "archimap did not get ready: $(tail -c 2000 "$LOGS/serve-$1.log")"
}
a_stop() { kill "$A_PID"; wait "$A_PID" || true; A_PID=; }

# 5. The runs, the servers in turn.
measure() {  # measure SERVER RUN
    local out=$LOGS/$1-$2
    echo "run $2/$RUNS: $1 (load $(load))" >&2
    load > "$out-load"
    if [ "$1" = archimap ]; then
        a_start "$2"
        python3 "$REPO/bench/journal_load.py" --mbox "$MBOX" --n "$N" --users "$USERS" --clients "$CLIENTS" \
            --port "$PORT" --protocol smtp --rcpt 'u{:02d}@archive.example' --server "$A_PID" --settle "$SETTLE" \
            > "$out.json" 2> "$out.err" || die "journal_load.py: $(tail -5 "$out.err")"
        "$BIN" --data-dir "$WORK/data" journal status > "$out-status" 2>&1 || true
        a_stop
    else
        d_start
        python3 "$REPO/bench/journal_load.py" --mbox "$MBOX" --n "$N" --users "$USERS" --clients "$CLIENTS" \
            --port $((PORT + 1)) --protocol lmtp --rcpt 'u{:02d}' --server "tree:$D_PID" --settle "$SETTLE" \
            > "$out.json" 2> "$out.err" || die "journal_load.py: $(tail -5 "$out.err")"
        d_stop
    fi
}
for run in $(seq "$RUNS"); do
    measure archimap "$run"
    measure dovecot "$run"
done

# 6. The section.
section=$(python3 - "$LOGS" "$RUNS" << 'PY'
import json, statistics, sys
logs, runs = sys.argv[1], int(sys.argv[2])
def runs_of(server):
    return [json.load(open(f"{logs}/{server}-{r}.json")) for r in range(1, runs + 1)]
a, d = runs_of("archimap"), runs_of("dovecot")
def cell(rs, key, fmt="{:.1f}"):
    vals = [r[key] for r in rs]
    return fmt.format(statistics.median(vals)) + " (" + ", ".join(fmt.format(v) for v in vals) + ")"
rows = [
    ("messages/s", "per_second"),
    ("server CPU ms per message, during the load", "cpu_ms_per_message"),
    ("server CPU ms per message, with the indexing after it", "cpu_ms_per_message_settled"),
    ("time to the final reply, median ms", "latency_median_ms"),
    ("time to the final reply, p99 ms", "latency_p99_ms"),
    ("errors", "errors"),
]
print("| | archimap | Dovecot LMTP |")
print("| --- | ---: | ---: |")
for name, key in rows:
    print(f"| {name} | {cell(a, key)} | {cell(d, key)} |")
ma = statistics.median(r["per_second"] for r in a)
md = statistics.median(r["per_second"] for r in d)
ca = statistics.median(r["cpu_ms_per_message_settled"] for r in a)
cd = statistics.median(r["cpu_ms_per_message_settled"] for r in d)
print()
print("### Goals (from the issue)")
print()
verdict = "**met**" if ma >= 1.5 * md else "**not met**"
print(f"- At least 1.5x Dovecot LMTP's messages/s with full-text indexing on: {ma:.1f} against {md:.1f} ({ma / md:.2f}x), {verdict}.")
print(f"- CPU per message (indexing included): {ca:.2f} ms against {cd:.2f} ms ({ca / cd:.2f}x).")
print(f"- Errors: {sum(r['errors'] for r in a)} and {sum(r['errors'] for r in d)}.")
PY
)
mbox_mb=$(python3 -c "import json;print(round(json.load(open('$LOGS/archimap-1.json'))['bytes']/1e6))")
loads=$(for f in "$LOGS"/*-load; do printf '%s %s; ' "$(basename "$f" -load)" "$(cat "$f")"; done)
write_section "$REPORT" "## Journal intake

Measured with \`bench/journal.sh\` on $(date).

- Build: $build.
- Machine: $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs | cut -d' ' -f1-2)), $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo) RAM, shared with other engineers' work; the client (one Python process, $CLIENTS threads) runs on the same CPUs.
- Command: \`N=$N USERS=$USERS CLIENTS=$CLIENTS RUNS=$RUNS SETTLE=$SETTLE bench/journal.sh\`.
- Messages: the first $N of \`bench/corpus.py\`'s big.mbox (seed $SEED; $mbox_mb MB with CRLF line ends), message i to user i mod $USERS: to archimap's SMTP receiver as the per-user journal address \`uNN@archive.example\` (one place each, full-text indexing on, each message synced and committed before its 250), to Dovecot $(dovecot --version | cut -d' ' -f1)'s LMTP as \`uNN\` (Maildir INBOX, no full-text index). $CLIENTS sessions at once, each on one connection for all its messages; each server starts empty.
- Server CPU: utime+stime from /proc over the load (Dovecot: the master and its processes, reaped ones included), and again $SETTLE s after it (archimap indexes what it filed in batches up to 10 s later).
- Load average (1 min) at the start of each run: $loads${NOTE:+
- Note: $NOTE}

Cells are \"median (run 1, run 2, ...)\".

$section"
