#!/usr/bin/env bash
# APPEND benchmark: N generated messages APPENDed one by one into a new
# folder, as a mail client does when mail is dragged into the archive, into
# archimap and into a private Dovecot (the same messages, the same client:
# bench/append_load.py). Writes the "## APPEND" section of BENCHMARKS.md.
#
#   bench/append.sh                     # N=1000 RUNS=3
#   N=200 RUNS=1 WRITE=0 bench/append.sh   # quick check: print, write nothing
#
# Needs root (Dovecot's setup script adds a system user) and dovecot-imapd.
set -euo pipefail

N=${N:-1000}
RUNS=${RUNS:-3}
PORT=${PORT:-22993}     # archimap: PORT, PORT+1; Dovecot: PORT+2 (imaps), PORT+3
WORK=${WORK:-/tmp/archimap-bench-append}
WRITE=${WRITE:-1}
NOTE=${NOTE:-}

REPO=$(cd "$(dirname "$0")/.." && pwd)
BIN=${CARGO_TARGET_DIR:-$REPO/target}/release/archimap
SHARED=$REPO/../shared
REPORT=$REPO/BENCHMARKS.md
LOAD="python3 $REPO/bench/append_load.py"
die() { echo "append.sh: $*" >&2; exit 1; }
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }
jv() { python3 -c 'import json, sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$@"; }

A_PID= D_PID=
cleanup() {
    [ -n "$A_PID" ] && kill "$A_PID" 2> /dev/null || true
    [ -n "$D_PID" ] && kill "$D_PID" 2> /dev/null || true
    rm -rf "$WORK/data" "$WORK/dovecot"
}
trap cleanup EXIT
mkdir -p "$WORK"
command -v doveadm > /dev/null && [ -x /usr/lib/dovecot/imap ] || {
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y dovecot-imapd || { apt-get update && apt-get install -y dovecot-imapd; }
}
(cd "$REPO" && cargo build --release --quiet)
build="release, $(git -C "$REPO" rev-parse --short HEAD)$(git -C "$REPO" diff --quiet HEAD || echo '+changes')"

CORPUS=$WORK/corpus-$N
if [ ! -f "$CORPUS/.done" ]; then
    rm -rf "$CORPUS"
    python3 "$SHARED/corpus/gen_corpus.py" --out "$CORPUS" -n "$N" --users 1 --seed 7 > /dev/null
    touch "$CORPUS/.done"
fi

# archimap: a new data directory per run (archimap stores each message once,
# so APPENDing the same messages again would measure only that), one user
# with write on their archive.
export ARCHIMAP_DATA_DIR=$WORK/data RUST_LOG=warn
a_start() {
    rm -rf "$WORK/data"
    "$BIN" user add bench --password benchpw > /dev/null
    "$BIN" grant bench bench read,write > /dev/null
    "$BIN" serve --imaps "127.0.0.1:$PORT" --starttls "127.0.0.1:$((PORT + 1))" --api "127.0.0.1:$((PORT + 4))" 2> "$WORK/archimap.log" &
    A_PID=$!
    for _ in $(seq 100); do (exec 3<> "/dev/tcp/127.0.0.1/$PORT") 2> /dev/null && return; sleep 0.1; done
    die "archimap does not listen on $PORT"
}
a_stop() { kill "$A_PID"; wait "$A_PID" 2> /dev/null || true; A_PID=; }

# Dovecot: the oracle instance of ../shared/harness (user usera).
rm -rf "$WORK/dovecot"
bash "$SHARED/harness/oracle/dovecot/setup_dovecot.sh" "$WORK/dovecot" $((PORT + 3)) $((PORT + 2)) > "$WORK/dovecot-setup.out" 2>&1 \
    || die "setup_dovecot.sh: $(cat "$WORK/dovecot-setup.out")"
D_PID=$(cat "$WORK/dovecot/run/master.pid")

declare -a A_MS D_MS A_RATE D_RATE
for run in $(seq "$RUNS"); do
    a_start
    a=$($LOAD 127.0.0.1 "$PORT" bench benchpw "$CORPUS" --limit "$N")
    a_stop
    d=$($LOAD 127.0.0.1 $((PORT + 2)) usera oraclepw "$CORPUS" --limit "$N")
    A_MS+=("$(jv "$a" median_ms)") D_MS+=("$(jv "$d" median_ms)")
    A_RATE+=("$(python3 -c "import json,sys; d=json.loads(sys.argv[1]); print(d['messages']/d['seconds'])" "$a")")
    D_RATE+=("$(python3 -c "import json,sys; d=json.loads(sys.argv[1]); print(d['messages']/d['seconds'])" "$d")")
    echo "run $run: archimap $a; dovecot $d" >&2
done
messages=$(jv "$a" messages)
a_ms=$(median "${A_MS[@]}") d_ms=$(median "${D_MS[@]}")
a_rate=$(median "${A_RATE[@]}") d_rate=$(median "${D_RATE[@]}")
fmt() { printf "%.${1}f" "$2"; }
runs() { local out=(); for v in "$@"; do out+=("$(fmt "$FMT" "$v")"); done; (IFS=,; echo "${out[*]}" | sed 's/,/, /g'); }
dovecot_version=$(dovecot --version 2> /dev/null | cut -d' ' -f1)

section=$(cat << SECTION
## APPEND

Measured with \`bench/append.sh\` on $(date -u).

- Build: $build. Dovecot $dovecot_version (Debian), Maildir, the harness's oracle configuration.
- Machine: $(nproc) CPUs ($(lscpu | sed -n 's/^Model name: *//p' | head -1)), shared with other engineers' work;
  client and servers on the same CPUs.
- Command: \`N=$N RUNS=$RUNS bench/append.sh\`: $messages generated messages (\`gen_corpus.py --seed 7\`)
  APPENDed one at a time into a new folder over implicit TLS by \`bench/append_load.py\` (Python imaplib,
  TCP_NODELAY), the way a mail client copies mail into an IMAP folder; archimap starts each run on a new
  data directory. Medians of $RUNS runs (runs in brackets).
- archimap files each message (bytes synced, catalog transaction, audit record) before it answers;
  the full-text index documents of such single messages are written in batches once the APPENDs
  pause (\`archive/index_queue.rs\`), and searches read meanwhile what the index does not cover yet.

| | archimap | Dovecot | ratio |
| --- | ---: | ---: | ---: |
| ms per APPEND (median) | $(fmt 2 "$a_ms") ($(FMT=2 runs "${A_MS[@]}")) | $(fmt 2 "$d_ms") ($(FMT=2 runs "${D_MS[@]}")) | $(python3 -c "print(f'{$a_ms / $d_ms:.2f}')") |
| messages/s | $(fmt 0 "$a_rate") ($(FMT=0 runs "${A_RATE[@]}")) | $(fmt 0 "$d_rate") ($(FMT=0 runs "${D_RATE[@]}")) | $(python3 -c "print(f'{$a_rate / $d_rate:.2f}')") |
${NOTE:+
Note: $NOTE
}
SECTION
)

. "$REPO/bench/write_section.sh"
write_section "$REPORT" "$section"
