#!/usr/bin/env bash
# Load benchmark (issue 14): workloads B and C of bench/load.py against
# archimap and a private Dovecot holding the same messages, with persistent
# sessions that track their state from the responses (a response
# inconsistent with it is an error). Writes the "## Load" section of
# BENCHMARKS.md.
#
#   bench/load.sh                                   # USERS=20 RUNS=3 SECS=30 CLIENTS="10 50"
#   USERS=4 RUNS=1 SECS=5 CLIENTS=4 WRITE=0 BIN=target/debug/archimap bench/load.sh   # quick check
#   NOTE='...' bench/load.sh                        # a remark to print with the figures
#
# Data: bench/corpus.py's first MESSAGES (2,000) generated messages (cached
# in $WORK/corpus-MESSAGES-SEED); every user's Archive holds the first
# ARCHIVE (500) of them (the same content for every user), their INBOX the
# next INBOX (200). Workload B APPENDs messages drawn from all MESSAGES.
# Each measurement starts the server afresh on a fresh copy of its data.
# BIN: an archimap binary to use instead of building the release one.
# Needs root (Dovecot's setup script adds a system user) and dovecot-imapd.
set -euo pipefail

USERS=${USERS:-20}
MESSAGES=${MESSAGES:-2000}
ARCHIVE=${ARCHIVE:-500}
INBOX=${INBOX:-200}
SEED=${SEED:-42}
RUNS=${RUNS:-3}
SECS=${SECS:-30}
CLIENTS=${CLIENTS:-10 50}
SETTLE=${SETTLE:-60}        # seconds after a load ends before the server's memory is read
WORKLOADS=${WORKLOADS:-B C}
PORT=${PORT:-21993}         # archimap: PORT (imaps) and PORT+1 (STARTTLS); Dovecot: PORT+2, PORT+3
WORK=${WORK:-/tmp/archimap-bench-load}
NOTE=${NOTE:-}

REPO=$(cd "$(dirname "$0")/.." && pwd)
SHARED=$REPO/../shared
CORPUS=$WORK/corpus-$MESSAGES-$SEED
LOGS=$WORK/logs
REPORT=$REPO/BENCHMARKS.md
PASS=benchpw DPASS=oraclepw
A_PORT=$PORT D_PORT=$((PORT + 2))

die() { echo "load.sh: $*" >&2; exit 1; }
apt_install() { export DEBIAN_FRONTEND=noninteractive; apt-get install -y "$@" || { apt-get update && apt-get install -y "$@"; }; }
load() { cut -d' ' -f1 /proc/loadavg; }
user() { printf 'u%02d' "$1"; }

A_PID= D_PID= SAMPLER=
cleanup() {
    [ -n "$SAMPLER" ] && kill "$SAMPLER" 2> /dev/null || true
    [ -n "$A_PID" ] && kill "$A_PID" 2> /dev/null || true
    [ -n "$D_PID" ] && kill "$D_PID" 2> /dev/null || true
    rm -rf "$WORK/data" "$WORK/dovecot/home" "$WORK/pristine-archimap" "$WORK/pristine-dovecot"
}
trap cleanup EXIT
rm -rf "$LOGS"
mkdir -p "$WORK" "$LOGS"
command -v doveadm > /dev/null && [ -x /usr/lib/dovecot/imap ] || apt_install dovecot-imapd

# 1. The archimap binary, copied: others may rebuild target/ while this runs.
. "$REPO/bench/binary.sh"
bench_binary

# 2. The messages, and the two sets every user gets, as Maildirs (file names
# sort in generation order).
if [ ! -f "$CORPUS/.done" ]; then
    echo "generating the corpus ($MESSAGES messages)" >&2
    python3 "$REPO/bench/corpus.py" --out "$CORPUS" -n "$MESSAGES" --seed "$SEED" --shared "$SHARED" --work "$WORK" \
        || die "bench/corpus.py failed"
fi
SETS=$WORK/sets
rm -rf "$SETS"
mkdir -p "$SETS"/{Archive,INBOX}/{cur,new,tmp}
mapfile -t files < <(ls "$CORPUS/maildir/Big/cur" | sort)
[ "${#files[@]}" -ge $((ARCHIVE + INBOX)) ] || die "the corpus has ${#files[@]} messages, fewer than ARCHIVE + INBOX"
for f in "${files[@]:0:ARCHIVE}"; do ln "$CORPUS/maildir/Big/cur/$f" "$SETS/Archive/cur/$f"; done
for f in "${files[@]:ARCHIVE:INBOX}"; do ln "$CORPUS/maildir/Big/cur/$f" "$SETS/INBOX/cur/$f"; done

# 3. archimap: USERS users, each with both sets.
PRISTINE_A=$WORK/pristine-archimap
rm -rf "$PRISTINE_A" "$WORK/data"
echo "archimap: $USERS users (load $(load))" >&2
for i in $(seq "$USERS"); do
    u=$(user "$i")
    "$BIN" --data-dir "$PRISTINE_A" user add "$u" --password "$PASS" > /dev/null 2>> "$LOGS/setup.err" || die "user add $u"
    "$BIN" --data-dir "$PRISTINE_A" grant "$u" "$u" read,write,delete > /dev/null 2>> "$LOGS/setup.err" || die "grant $u"
    for folder in Archive INBOX; do
        "$BIN" --data-dir "$PRISTINE_A" import --user "$u" --folder "${folder/INBOX/Inbox}" "$SETS/$folder" \
            >> "$LOGS/import.out" 2>> "$LOGS/setup.err" || die "import $u $folder: $(tail -5 "$LOGS/setup.err")"
    done
done
printf '[limits]\nmax_connections_per_ip = 1000\n' > "$WORK/archimap.toml"

# 4. Dovecot: the oracle instance with the same users, imap-login in
# high-performance mode as bench/imap.sh runs it; `doveadm import` of both sets.
DOVECOT=$WORK/dovecot
rm -rf "$DOVECOT"
users=()
for i in $(seq "$USERS"); do users+=("$(user "$i")"); done
bash "$SHARED/harness/oracle/dovecot/setup_dovecot.sh" "$DOVECOT" $((D_PORT + 1)) "$D_PORT" "${users[@]}" > "$LOGS/dovecot-setup.out" 2>&1 \
    || die "setup_dovecot.sh: $(cat "$LOGS/dovecot-setup.out")"
D_PID=$(cat "$DOVECOT/run/master.pid")
d_stop() { kill "$D_PID"; while kill -0 "$D_PID" 2> /dev/null; do sleep 0.2; done; D_PID=; }
d_stop
dconf=$DOVECOT/bench.conf
sed -e "s/^service imap-login {/service imap-login {\n  service_count = 0\n  process_min_avail = $(nproc)/" \
    "$DOVECOT/dovecot.conf" > "$dconf"
d_start() {
    rm -f "$DOVECOT/run/master.pid"
    /usr/sbin/dovecot -c "$dconf" < /dev/null > "$LOGS/dovecot-start.out" 2>&1 || die "dovecot: $(cat "$LOGS/dovecot-start.out")"
    for _ in $(seq 100); do [ -s "$DOVECOT/run/master.pid" ] && break; sleep 0.1; done
    D_PID=$(cat "$DOVECOT/run/master.pid")
    for _ in $(seq 100); do (exec 3<> "/dev/tcp/127.0.0.1/$D_PORT") 2> /dev/null && return; sleep 0.1; done
    die "dovecot does not listen on $D_PORT"
}
d_start
rm -rf "$DOVECOT/src"
cp -al "$SETS" "$DOVECOT/src"
chown -R oraclemail: "$DOVECOT/src"
echo "Dovecot: $USERS users (load $(load))" >&2
for u in "${users[@]}"; do
    doveadm -c "$dconf" import -u "$u" "maildir:$DOVECOT/src:LAYOUT=fs:INBOX=$DOVECOT/src/INBOX:INDEX=MEMORY" "" all \
        >> "$LOGS/doveadm-import.out" 2>&1 || die "doveadm import $u: $(tail -5 "$LOGS/doveadm-import.out")"
done
rm -rf "$DOVECOT/src"
d_stop
PRISTINE_D=$WORK/pristine-dovecot
rm -rf "$PRISTINE_D"
cp -a "$DOVECOT/home" "$PRISTINE_D"

# 5. The measurements: each on a fresh copy of the server's data.
a_start() {
    rm -rf "$WORK/data"
    cp -a "$PRISTINE_A" "$WORK/data"
    "$BIN" --config "$WORK/archimap.toml" --data-dir "$WORK/data" serve --imaps "127.0.0.1:$A_PORT" \
        --starttls "127.0.0.1:$((A_PORT + 1))" > "$LOGS/serve-$1.log" 2>&1 &
    A_PID=$!
    for _ in $(seq 600); do grep -q ' ready ' "$LOGS/serve-$1.log" && return; sleep 0.1; done
    die "archimap did not get ready: $(tail -c 2000 "$LOGS/serve-$1.log")"
}
a_stop() { kill "$A_PID"; wait "$A_PID" || true; A_PID=; }
fresh_dovecot() {
    rm -rf "$DOVECOT/home"
    cp -a "$PRISTINE_D" "$DOVECOT/home"
    d_start
}
measure() {  # measure SERVER WORKLOAD CLIENTS RUN
    local s=$1 w=$2 k=$3 run=$4 spec args out=$LOGS/$1-$2-$3-$4
    if [ "$s" = archimap ]; then
        a_start "$w-$k-$run"; spec=$A_PID
        args=(--port "$A_PORT" --ca "$WORK/data/tls/self-signed-cert.pem" --password "$PASS")
    else
        fresh_dovecot; spec=tree:$D_PID
        args=(--port "$D_PORT" --password "$DPASS")
    fi
    echo "run $run/$RUNS: workload $w, $k clients, $s (load $(load))" >&2
    load > "$out-load"
    python3 "$REPO/bench/imap_load.py" sample --server "$spec" --out "$out-peak.json" > /dev/null & SAMPLER=$!
    python3 "$REPO/bench/load.py" "$w" "${args[@]}" --users "$USERS" --clients "$k" --seconds "$SECS" \
        --seed "$((SEED * 100 + run))" --mbox "$CORPUS/big.mbox" --server "$spec" --settle "$SETTLE" > "$out.json" 2> "$out.err" || true
    kill "$SAMPLER"; wait "$SAMPLER" || true; SAMPLER=
    [ -s "$out.json" ] || die "load.py failed: $(tail -20 "$out.err")"
    if [ "$s" = archimap ]; then a_stop; else d_stop; fi
}
for run in $(seq "$RUNS"); do
    for w in $WORKLOADS; do
        for k in $CLIENTS; do
            measure archimap "$w" "$k" "$run"
            measure dovecot "$w" "$k" "$run"
        done
    done
done

# 6. The section.
machine="$(nproc) CPUs ($(lscpu | sed -n 's/^Model name: *//p' | head -1)), $(awk '/MemTotal/ { printf "%.1f", $2 / 1048576 }' /proc/meminfo) GiB RAM"
section=$(python3 "$REPO/bench/load_report.py" --logs "$LOGS" --runs "$RUNS" --workloads "$WORKLOADS" --clients "$CLIENTS" --secs "$SECS" --settle "$SETTLE" \
    --date "$(date -u)" --machine "$machine" --build "$build" \
    --command "USERS=$USERS MESSAGES=$MESSAGES ARCHIVE=$ARCHIVE INBOX=$INBOX SEED=$SEED RUNS=$RUNS SECS=$SECS SETTLE=$SETTLE CLIENTS=\"$CLIENTS\" WORKLOADS=\"$WORKLOADS\" bench/load.sh" \
    --setup "$USERS users; each one's Archive holds the first $ARCHIVE of $MESSAGES messages made by \`bench/corpus.py -n $MESSAGES --seed $SEED\` (the same content for every user), its INBOX the next $INBOX; workload B APPENDs messages drawn from all $MESSAGES. archimap: \`import --folder Archive\` and \`--folder Inbox\` of the two sets as Maildirs; Dovecot $(dovecot --version | cut -d' ' -f1) (the oracle instance of \`setup_dovecot.sh\`, imap-login in high-performance mode): \`doveadm import\` of the same Maildirs" \
    --note "$NOTE")
. "$REPO/bench/write_section.sh"
write_section "$REPORT" "$section"
