#!/usr/bin/env bash
# Full-text search benchmark: import throughput with indexing, then SEARCH
# BODY / TEXT / FROM / SUBJECT latency (median and p99), for whole words and
# for substrings from inside words (and BODY for 1-2 characters), in an N-message
# folder, in the same folder once the store holds STORE_N messages, and in a
# folder holding all of them; Dovecot without full-text search on the same
# N-message folder beside it. Writes the "## Full-text search" section of
# BENCHMARKS.md (or of OUT). The client is bench/search_load.py.
#
#   bench/search.sh                                 # N=100000 STORE_N=1000000, a release build
#   BIN=target/debug/archimap N=2000 STORE_N=6000 QUERIES=5 OUT=/tmp/search.md bench/search.sh
#   WITH_DOVECOT=0 bench/search.sh                  # archimap only: Dovecot's import and scans of a 100000-message
#                                                   # folder take over 20 minutes (its column is then n/a)
#
# The N-message corpus is bench/imap.sh's (CORPUS, made by bench/corpus.py if
# missing). The messages that grow the store to STORE_N are generated (text
# only) CHUNK at a time, each chunk deleted once imported; STORE_N=1000000
# needs about 16 GB of free disk (packs, index, one chunk). Data directories
# are removed at the end. Needs root (Dovecot's setup script adds a system
# user) and dovecot-imapd.
set -euo pipefail

N=${N:-100000}
STORE_N=${STORE_N:-1000000}
SEED=${SEED:-42}
QUERIES=${QUERIES:-30}      # search strings per key
DQUERIES=${DQUERIES:-5}     # of them for Dovecot's BODY and TEXT (whole words, inside words), which read every message
WITH_DOVECOT=${WITH_DOVECOT:-1}
CHUNK=${CHUNK:-50000}
PORT=${PORT:-21993}         # archimap: PORT (imaps) and PORT+1; Dovecot: PORT+2 (imaps) and PORT+3
WORK=${WORK:-/tmp/archimap-bench-search}
NOTE=${NOTE:-}

REPO=$(cd "$(dirname "$0")/.." && pwd)
CORPUS=${CORPUS:-/tmp/archimap-bench-imap/corpus-$N-$SEED}
OUT=${OUT:-$REPO/BENCHMARKS.md}
SHARED=$REPO/../shared
LOAD="python3 $REPO/bench/search_load.py"
DATA=$WORK/data
DOVECOT=$WORK/dovecot
LOGS=$WORK/logs
BUSER=bench BPASS=benchpw
A_PORT=$PORT D_PORT=$((PORT + 2))

die() { echo "search.sh: $*" >&2; exit 1; }
apt_install() { export DEBIAN_FRONTEND=noninteractive; apt-get install -y "$@" || { apt-get update && apt-get install -y "$@"; }; }
calc() { awk "BEGIN { printf \"$1\n\", $2 }"; }
met() { awk "BEGIN { exit !($1) }" && echo "**met**" || echo "**not met**"; }
jv() { python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); v = eval(sys.argv[2]); print("n/a" if v is None else v)' "$@"; }
load() { cut -d' ' -f1 /proc/loadavg; }

A_PID= D_PID=
cleanup() {
    [ -n "$A_PID" ] && kill "$A_PID" 2> /dev/null || true
    [ -n "$D_PID" ] && kill "$D_PID" 2> /dev/null || true
    rm -rf "$DATA" "$DOVECOT" "$WORK/extra" "$WORK/chunk.mbox"
}
trap cleanup EXIT
rm -rf "$LOGS"
mkdir -p "$WORK" "$LOGS"
command -v doveadm > /dev/null && [ -x /usr/lib/dovecot/imap ] || apt_install dovecot-imapd

# 1. The binary, copied: others may rebuild target/ while this runs.
. "$REPO/bench/binary.sh"
bench_binary

# 2. The N-message corpus, and the search strings picked from it.
[ -f "$CORPUS/.done" ] || python3 "$REPO/bench/corpus.py" --out "$CORPUS" -n "$N" --seed "$SEED" --work "$WORK" --shared "$SHARED" >&2
gen_summary=$(head -1 "$CORPUS/.done")
$LOAD terms --maildir "$CORPUS/maildir/Big" --seed "$SEED" --count "$QUERIES" --out "$WORK/terms.json" > /dev/null

# 3. Dovecot, without full-text search: the oracle instance, the Maildir imported into usera's Big.
d_stop() { kill "$D_PID"; while kill -0 "$D_PID" 2> /dev/null; do sleep 0.2; done; D_PID=; }
if [ "$WITH_DOVECOT" = 1 ]; then
rm -rf "$DOVECOT"
bash "$SHARED/harness/oracle/dovecot/setup_dovecot.sh" "$DOVECOT" $((D_PORT + 1)) "$D_PORT" > "$LOGS/dovecot-setup.out" 2>&1 \
    || die "setup_dovecot.sh: $(cat "$LOGS/dovecot-setup.out")"
D_PID=$(cat "$DOVECOT/run/master.pid")
cp -al "$CORPUS/maildir" "$DOVECOT/src"
chown -R oraclemail: "$DOVECOT/src"
echo "doveadm import (load $(load))" >&2
doveadm -c "$DOVECOT/dovecot.conf" import -u usera "maildir:$DOVECOT/src:LAYOUT=fs:INBOX=$DOVECOT/src/INBOX:INDEX=MEMORY" "" all \
    > "$LOGS/doveadm-import.out" 2>&1 || die "doveadm import: $(head -c 2000 "$LOGS/doveadm-import.out")"
rm -rf "$DOVECOT/src"
echo "Dovecot searches (load $(load))" >&2
d_load=$(load)
$LOAD search --port "$D_PORT" --user usera --password oraclepw --folder Big --terms "$WORK/terms.json" \
    --count "body=$DQUERIES,text=$DQUERIES,body_inside=$DQUERIES,text_inside=$DQUERIES,body_short=0" > "$LOGS/dovecot.json"
d_stop
rm -rf "$DOVECOT"  # its copy of the corpus: the disk space is needed for the chunks
else
d_load=n/a
python3 -c 'import json; print(json.dumps({k: {"n": 0, "errors": 0, "median_ms": None, "p99_ms": None, "hits_median": None}
    for k in ["body", "text", "from", "subject", "body_inside", "text_inside", "from_inside", "subject_inside", "body_short"]}))' \
    > "$LOGS/dovecot.json"
fi

# 4. archimap: the corpus imported (and indexed), then searched.
a_start() {
    "$BIN" --data-dir "$DATA" serve --imaps "127.0.0.1:$A_PORT" --starttls "127.0.0.1:$((A_PORT + 1))" > "$LOGS/serve-$1.log" 2>&1 &
    A_PID=$!
    for _ in $(seq 600); do
        grep -q "full-text index reconciled" "$LOGS/serve-$1.log" && return
        kill -0 "$A_PID" 2> /dev/null || die "archimap stopped: $(tail -c 2000 "$LOGS/serve-$1.log")"
        sleep 0.1
    done
    die "archimap did not reconcile its index within a minute"
}
a_stop() { kill "$A_PID"; wait "$A_PID" || true; A_PID=; }
a_search() {  # a_search RUN FOLDER
    $LOAD search --port "$A_PORT" --ca "$DATA/tls/self-signed-cert.pem" --user "$BUSER" --password "$BPASS" \
        --folder "$2" --terms "$WORK/terms.json" > "$LOGS/archimap-$1.json"
}
a_import() {  # a_import LOG FOLDER MBOX: prints the import's summary line
    "$BIN" --data-dir "$DATA" import --user "$BUSER" --folder "$2" "$3" > "$LOGS/$1.out" 2> "$LOGS/$1.err" \
        || die "import $3 failed: $(head -c 2000 "$LOGS/$1.out")"
    grep '^imported ' "$LOGS/$1.out"
}
rm -rf "$DATA"
"$BIN" --data-dir "$DATA" user add "$BUSER" --password "$BPASS" > /dev/null
echo "archimap import of $N messages (load $(load))" >&2
a_import_load=$(load)
a_import=$(a_import import-big Big "$CORPUS/big.mbox")
a_start big
echo "archimap searches, $N-message store (load $(load))" >&2
a_load1=$(load)
a_search small Big
a_stop
a_import import-big-all All "$CORPUS/big.mbox" > /dev/null

# 5. The store grown to STORE_N messages: generated chunks into Rest and All.
extra_msgs=0 extra_s=0 chunk=0
while [ $((N + extra_msgs)) -lt "$STORE_N" ]; do
    chunk=$((chunk + 1))
    want=$((STORE_N - N - extra_msgs < CHUNK ? STORE_N - N - extra_msgs : CHUNK))
    echo "generating chunk $chunk ($want messages)" >&2
    python3 "$REPO/bench/corpus.py" --extra "$WORK/extra" -n "$want" --seed $((SEED * 1000 + chunk)) --attach-rate 0 \
        --shared "$SHARED" > /dev/null
    find "$WORK/extra" -name '*.mbox' -print0 | sort -z | xargs -0 cat > "$WORK/chunk.mbox"
    rm -rf "$WORK/extra"
    echo "importing chunk $chunk (load $(load))" >&2
    line=$(a_import "import-chunk-$chunk" Rest "$WORK/chunk.mbox")
    added=$(echo "$line" | sed 's/^imported \([0-9]*\),.*/\1/')
    [ "$added" -gt 0 ] || die "chunk $chunk added no message: $line"
    extra_msgs=$((extra_msgs + added))
    extra_s=$(calc %.3f "$extra_s + $(echo "$line" | sed 's/.* in \([0-9.]*\) s,.*/\1/')")
    a_import "import-chunk-$chunk-all" All "$WORK/chunk.mbox" > /dev/null
    rm -f "$WORK/chunk.mbox"
done
blobs=$((N + extra_msgs))
store_mb=$(du -sm "$DATA/stores/main/packs" | cut -f1)
index_mb=$(du -sm "$DATA/stores/main/index" | cut -f1)
a_start large
echo "archimap searches, $blobs-message store (load $(load))" >&2
a_load2=$(load)
a_search large Big
a_search all All
a_stop

# 6. The figures.
rate() { echo "$1" | sed 's/.* s, \([0-9]*\) messages\/s.*/\1/'; }
big_rate=$(rate "$a_import")
extra_rate=$(calc %.0f "$extra_msgs / ($extra_s > 0 ? $extra_s : 1)")
ms() { jv "$LOGS/$1.json" "d['$2']['$3']"; }
fmt() { [ "$1" = n/a ] && echo n/a || calc "$2" "$1"; }
cells() {  # cells RESULT KEY: | median | p99 | hits (n) |
    echo "$(fmt "$(ms "$1" "$2" median_ms)" %.1f) | $(fmt "$(ms "$1" "$2" p99_ms)" %.1f) | $(fmt "$(ms "$1" "$2" hits_median)" %.0f) ($(ms "$1" "$2" n))"
}
row() { echo "| $1 | $(cells archimap-small "$2") | $(cells archimap-large "$2") | $(cells archimap-all "$2") | $(cells dovecot "$2") |"; }
ratios() {  # Dovecot's median / archimap's, per key both measured
    local key d a out=
    for key in body body_inside text text_inside from from_inside subject subject_inside; do
        d=$(ms dovecot "$key" median_ms) a=$(ms archimap-small "$key" median_ms)
        [ "$d" = n/a ] || [ "$a" = n/a ] || out="$out${out:+, }$key $(calc %.0f "$d / $a")x"
    done
    echo "$out"
}
goal() {  # goal KEY LIMIT_MS
    local v; v=$(ms archimap-small "$1" median_ms)
    echo "$(fmt "$v" %.1f) ms, $([ "$v" = n/a ] && echo "**not met**" || met "$v <= $2")"
}

section=$(cat <<EOF
## Full-text search

Measured with \`bench/search.sh\` on $(date -u).

- Build: $build.
- Machine: $(nproc) CPUs ($(lscpu | sed -n 's/^Model name: *//p' | head -1)), $(awk '/MemTotal/ { printf "%.1f", $2 / 1048576 }' /proc/meminfo) GiB RAM, shared with other
  engineers' work; the client runs on the same CPUs. Load average (1 min) at the start of the import: $a_import_load;
  of the searches: Dovecot $d_load, archimap $a_load1 ($N messages) and $a_load2 ($blobs messages).
- Command: \`N=$N STORE_N=$STORE_N SEED=$SEED QUERIES=$QUERIES DQUERIES=$DQUERIES CHUNK=$CHUNK WITH_DOVECOT=$WITH_DOVECOT bench/search.sh\`.
- Corpus: bench/imap.sh's, \`gen_corpus.py -n $((N + N / 10 + 100)) --users 1 --seed $SEED\` (\`$gen_summary\`), its first
  $N distinct messages as one mbox file, imported into folder \`Big\` ($(du -m "$CORPUS/big.mbox" | cut -f1) MB). The store is then grown
  to $blobs messages with \`gen_corpus.py --attach-rate 0\` (text only, $((chunk)) chunk(s) of up to $CHUNK, other seeds), imported
  into \`Rest\`; folder \`All\` holds every message (the same stored copies). Store: $store_mb MB of packs, $index_mb MB of index.
- Search strings: \`search_load.py terms\`, $QUERIES per key from random messages of the corpus (FROM: a sender's local
  part or last name; SUBJECT: a subject word; BODY and TEXT: a body word, every other one two words in a row;
  "inside words": 3 or more characters of such a word that neither start nor end it; "1-2 characters": one or two
  characters from inside a body word, in turn). SEARCH matches substrings (RFC 3501), so a whole word is found
  inside longer words too. Each is one \`SEARCH KEY "string"\` on one connection after SELECT, timed from sending
  it to its tagged OK (one untimed SEARCH first). Dovecot reads every message for BODY and TEXT, so it gets the
  first $DQUERIES of those (none of 1-2 characters).
- Dovecot $(dovecot --version | cut -d' ' -f1) (Debian) without full-text search: the oracle instance of
  \`../shared/harness/oracle/dovecot/setup_dovecot.sh\`, the Maildir imported into usera's \`Big\` by \`doveadm import\`.

### Import with indexing

| | messages/s |
| --- | ---: |
| $N messages into an empty store (\`$a_import\`) | $big_rate |
| $extra_msgs text-only messages, in chunks, into the growing store | $extra_rate |

### SEARCH latency

Cells: median ms | p99 ms | median hits (searches).

| key | $N-message folder, $N-message store | | | same folder, $blobs-message store | | | $blobs-message folder | | | Dovecot, $N-message folder | | |
| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |
$(row BODY body)
$(row "BODY, inside words" body_inside)
$(row "BODY, 1-2 characters" body_short)
$(row TEXT text)
$(row "TEXT, inside words" text_inside)
$(row FROM from)
$(row "FROM, inside words" from_inside)
$(row SUBJECT subject)
$(row "SUBJECT, inside words" subject_inside)

### Goals (from the issue)

- At least 1,500 messages/s imported with indexing: $big_rate, $(met "$big_rate >= 1500").
- $N-message folder, SEARCH BODY and TEXT at most 50 ms median, for whole words and inside words (Dovecot
  without full-text search: $(d=$(ms dovecot body median_ms); [ "$d" = n/a ] && echo "not measured" || echo "$(calc %.1f "$d / 1000") s") for BODY): BODY $(goal body 50), inside words $(goal body_inside 50);
  TEXT $(goal text 50), inside words $(goal text_inside 50).
- SEARCH FROM and SUBJECT at most 20 ms median: FROM $(goal from 20), inside words $(goal from_inside 20);
  SUBJECT $(goal subject 20), inside words $(goal subject_inside 20).
- Dovecot's median over archimap's, $N-message folder: $(r=$(ratios); echo "${r:-not measured}").
- Shorter substrings may be slower: BODY of 1-2 characters $(fmt "$(ms archimap-small body_short median_ms)" %.1f) ms median.
${NOTE:+
Note: $NOTE
}
EOF
)

. "$REPO/bench/write_section.sh"
write_section "$OUT" "$section"
