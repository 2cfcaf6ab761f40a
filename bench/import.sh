#!/usr/bin/env bash
# Import benchmark: bulk-imports a generated corpus into a fresh archimap
# data directory RUNS times, checks the importer's summary, runs `verify`
# once, and writes the "## Import" section of BENCHMARKS.md.
#
#   bench/import.sh                          # N=100000 USERS=40 SEED=42 RUNS=3
#   N=2000 USERS=5 RUNS=1 bench/import.sh    # quick check
#   WITH_DOVECOT=1 bench/import.sh           # also time Dovecot's `doveadm import`
#   NOTE='...' bench/import.sh               # a remark to print with the figures
#   BIN=/path/to/archimap bench/import.sh    # time this binary (not built here), e.g. to compare two builds
#
# The corpus is cached in $WORK/corpus-$N-$SEED; data directories are removed.
set -euo pipefail

N=${N:-100000}
USERS=${USERS:-40}
SEED=${SEED:-42}
RUNS=${RUNS:-3}
WORK=${WORK:-/tmp/archimap-bench}
WITH_DOVECOT=${WITH_DOVECOT:-0}
NOTE=${NOTE:-}

REPO=$(cd "$(dirname "$0")/.." && pwd)
BUILT=${CARGO_TARGET_DIR:-$REPO/target}/release/archimap
BIN=${BIN:-$BUILT}
CORPUS=$WORK/corpus-$N-$SEED
DATA=$WORK/data
DOVECOT=$WORK/dovecot
LOGS=$WORK/logs
REPORT=$REPO/BENCHMARKS.md

die() { echo "import.sh: $*" >&2; exit 1; }
apt_install() { export DEBIAN_FRONTEND=noninteractive; apt-get install -y "$@" || { apt-get update && apt-get install -y "$@"; }; }
# Wall seconds from a `time -v` report ("Elapsed (wall clock) time (h:mm:ss or m:ss): 1:02.34").
wall() { awk -F': ' '/Elapsed \(wall clock\)/ { n = split($2, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i]; print s }' "$1"; }
# Peak RSS in MB from a `time -v` report.
rss_mb() { awk -F': ' '/Maximum resident set size/ { printf "%.0f\n", $2 / 1024 }' "$1"; }
# median FORMAT VALUE...
median() { printf '%s\n' "${@:2}" | sort -g | awk -v fmt="$1\n" '{ v[NR] = $1 } END { printf fmt, (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }
calc() { awk "BEGIN { printf \"$1\n\", $2 }"; }
met() { awk "BEGIN { exit !($1) }" && echo "**met**" || echo "**not met**"; }

trap 'rm -rf "$DATA" "$DOVECOT"' EXIT
mkdir -p "$WORK" "$LOGS"
[ -x /usr/bin/time ] || apt_install time

# 1. The release binary, unless BIN names another.
[ "$BIN" != "$BUILT" ] || (cd "$REPO" && cargo build --release)

# 2. The corpus, generated once. Its .done holds the generator's summary line.
if [ ! -f "$CORPUS/.done" ] || ! grep -q " users=$USERS " "$CORPUS/.done"; then
    rm -rf "$CORPUS"
    python3 "$REPO/../shared/corpus/gen_corpus.py" --out "$CORPUS" -n "$N" --users "$USERS" --seed "$SEED" > "$WORK/gen.out"
    mv "$WORK/gen.out" "$CORPUS/.done"
fi
raw=$(find "$CORPUS" -name '*.eml' -printf '%s\n' | awk '{ s += $1 } END { print s }')
unique_filed=$(tail -n +2 "$CORPUS/index.tsv" | cut -f4 | sort -u | wc -l)  # distinct Message-IDs

# 3. One untimed read of the corpus, so that every run finds it in the page cache.
find "$CORPUS" -name '*.eml' -print0 | xargs -0 cat > /dev/null

# 4. The timed imports, each into a fresh data directory.
rows=() walls=() rates=() mbps=() rsss=() disks=() pcts=()
for run in $(seq "$RUNS"); do
    rm -rf "$DATA"
    sync
    load=$(cut -d' ' -f1 /proc/loadavg)
    log=$LOGS/import-$run
    echo "import run $run/$RUNS (load $load)" >&2
    /usr/bin/time -v -o "$log.time" "$BIN" --data-dir "$DATA" import --bulk "$CORPUS" --create-users \
        > "$log.out" 2> "$log.err" || die "import run $run failed: $(head -c 2000 "$log.out")"
    summary=$(grep '^imported ' "$log.out") || die "no summary line in $log.out"
    read -r imported duplicates failed < <(echo "$summary" |
        sed -n 's/^imported \([0-9]*\), duplicates \([0-9]*\), unparsed [0-9]*, failed \([0-9]*\) .*/\1 \2 \3/p') ||
        die "run $run: unexpected summary: $summary"
    [ "$((imported + duplicates))" -eq "$N" ] && [ "$failed" -eq 0 ] || die "run $run: expected $N messages, got: $summary"

    secs=$(wall "$log.time")
    disk=$(du -sb "$DATA" | cut -f1)
    walls+=("$(calc %.2f "$secs")")
    rates+=("$(calc %.0f "$N / $secs")")
    mbps+=("$(calc %.1f "$raw / 1e6 / $secs")")
    rsss+=("$(rss_mb "$log.time")")
    disks+=("$(calc %.1f "$disk / 1e6")")
    pcts+=("$(calc %.1f "100 * $disk / $raw")")
    rows+=("| $run | ${walls[-1]} | ${rates[-1]} | ${mbps[-1]} | ${rsss[-1]} | ${disks[-1]} | ${pcts[-1]} | $load |")
done
unique_stored=$(python3 -c 'import sqlite3, sys; print(sqlite3.connect(sys.argv[1]).execute("select count(*) from blobs").fetchone()[0])' "$DATA/catalog.sqlite")

# The last run's data directory is verified once.
/usr/bin/time -v -o "$LOGS/verify.time" "$BIN" --data-dir "$DATA" verify > "$LOGS/verify.out" 2> "$LOGS/verify.err" \
    || die "verify failed: $(head -c 2000 "$LOGS/verify.out")"
verify_secs=$(wall "$LOGS/verify.time")
verify_rss=$(rss_mb "$LOGS/verify.time")
verify_summary=$(grep '^verified ' "$LOGS/verify.out")

rate=$(median %.0f "${rates[@]}")
pct=$(median %.1f "${pcts[@]}")

# 5. Optional: Dovecot's `doveadm import` of the same messages, as Maildirs.
# doveadm runs as the local "user" (USER, HOME), so no auth service or userdb
# is needed; Dovecot refuses to access mail as root, hence mail_uid nobody.
dovecot_section=""
if [ "$WITH_DOVECOT" = 1 ]; then
    command -v doveadm > /dev/null || apt_install dovecot-core
    mkdir -p "$DOVECOT"
    conf=$DOVECOT/dovecot.conf
    printf '%s\n' "base_dir = $DOVECOT/run" "log_path = $DOVECOT/dovecot.log" ssl=no mail_uid=nobody mail_gid=nogroup > "$conf"
    users=$(find "$CORPUS" -mindepth 1 -maxdepth 1 -type d -printf '%f\n' | sort)
    dv_rows=() dv_rates=()
    for run in $(seq "$RUNS"); do
        # The source: each folder's .eml files hard-linked into a Maildir's cur/ (untimed).
        rm -rf "$DOVECOT/src" "$DOVECOT/mail"
        python3 - "$CORPUS" "$DOVECOT/src" <<'EOF'
import os, sys
corpus, out = sys.argv[1:]
for folder, _, files in os.walk(corpus):
    emls = [f for f in files if f.endswith(".eml")]
    if emls:
        box = os.path.join(out, os.path.relpath(folder, corpus))
        for sub in ("cur", "new", "tmp"):
            os.makedirs(os.path.join(box, sub))
        for f in emls:
            os.link(os.path.join(folder, f), os.path.join(box, "cur", f + ":2,"))
EOF
        mkdir -p "$DOVECOT/mail"
        find "$DOVECOT/src" "$DOVECOT/mail" -type d -exec chown nobody:nogroup {} +
        sync
        load=$(cut -d' ' -f1 /proc/loadavg)
        echo "doveadm import run $run/$RUNS (load $load)" >&2
        start=$(date +%s.%N)
        for user in $users; do
            USER=$user HOME=$DOVECOT/mail/$user doveadm -c "$conf" -o "mail_location=maildir:$DOVECOT/mail/$user:LAYOUT=fs" \
                import "maildir:$DOVECOT/src/$user:LAYOUT=fs:INBOX=$DOVECOT/src/$user/INBOX:INDEX=MEMORY" "" all
        done
        secs=$(calc %.2f "$(date +%s.%N) - $start")
        count=$(for user in $users; do
            USER=$user HOME=$DOVECOT/mail/$user doveadm -c "$conf" -o "mail_location=maildir:$DOVECOT/mail/$user:LAYOUT=fs" \
                mailbox status messages '*'
        done | awk -F'messages=' '{ s += $2 } END { print s }')
        [ "$count" -eq "$N" ] || die "doveadm import run $run: expected $N messages, found $count"
        disk=$(du -sb "$DOVECOT/mail" | cut -f1)
        dv_rates+=("$(calc %.0f "$N / $secs")")
        dv_rows+=("| $run | $secs | ${dv_rates[-1]} | $(calc %.1f "$raw / 1e6 / $secs") | $(calc %.1f "$disk / 1e6") | $(calc %.1f "100 * $disk / $raw") | $load |")
    done
    dovecot_section="
### Dovecot, for reference

\`doveadm import\` (Dovecot $(dovecot --version | cut -d' ' -f1), Debian) of the same messages into
per-user Maildirs (LAYOUT=fs, default settings), one \`doveadm\` process per user. Each folder's .eml
files are first hard-linked into a source Maildir (untimed); Dovecot copies them (no hard links to
the source) and stores them with LF line endings, hence a little under 100 % of raw. Only the import
loop is timed; each run starts from an empty mail directory.

| run | wall s | messages/s | MB/s | on disk MB | disk % of raw | load before |
| --- | ---: | ---: | ---: | ---: | ---: | ---: |
$(printf '%s\n' "${dv_rows[@]}")

Median: **$(median %.0f "${dv_rates[@]}") messages/s** (archimap: $rate messages/s).
"
fi

# 6. The report.
section=$(cat <<EOF
## Import

Measured with \`bench/import.sh\` on $(date -u).

- Build: $([ "$BIN" = "$BUILT" ] && echo "\`cargo build --release\` of commit $(git -C "$REPO" rev-parse --short HEAD)$(git -C "$REPO" diff --quiet HEAD -- src Cargo.toml Cargo.lock || echo ' plus uncommitted changes')" || echo "\`$BIN\`").
- Machine: $(nproc) CPUs ($(lscpu | sed -n 's/^Model name: *//p' | head -1)), $(awk '/MemTotal/ { printf "%.1f", $2 / 1048576 }' /proc/meminfo) GiB RAM.
- Command: \`N=$N USERS=$USERS SEED=$SEED RUNS=$RUNS WITH_DOVECOT=$WITH_DOVECOT bench/import.sh\`. Each run is
  \`archimap --data-dir DATA import --bulk CORPUS --create-users\` (the build above) into a fresh data
  directory under \`/usr/bin/time -v\`, with the corpus in the page cache (read once beforehand, untimed).
- Corpus: \`gen_corpus.py -n $N --users $USERS --seed $SEED\` (.eml files): $N entries, $(calc %.1f "$raw / 1e6") MB raw
  (sum of the .eml file sizes), $unique_filed distinct messages (Message-IDs in \`index.tsv\`), $unique_stored blobs
  in the catalog after the import.
- Importer's summary (last run): \`$summary\`

MB are 10^6 bytes; messages/s and MB/s are N and the raw size over the wall time, start-up included.
On disk is \`du -sb\` of the data directory. The load average (1 min) is read just before each run.

| run | wall s | messages/s | MB/s | peak RSS MB | on disk MB | disk % of raw | load before |
| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |
$(printf '%s\n' "${rows[@]}")
| **median** | $(median %.2f "${walls[@]}") | $rate | $(median %.1f "${mbps[@]}") | $(median %.0f "${rsss[@]}") | $(median %.1f "${disks[@]}") | $pct | |

\`archimap verify\` after the last run: $verify_secs s, peak RSS $verify_rss MB, exit status 0 (\`$verify_summary\`).

Goals:

- at least 5,000 messages/s: median $rate messages/s, $(met "$rate >= 5000").
- on disk at most 35 % of raw: median $pct %, $(met "$pct <= 35").
${NOTE:+
Note: $NOTE
}$dovecot_section
EOF
)

. "$REPO/bench/write_section.sh"
write_section "$REPORT" "$section"
echo "import: median $rate messages/s, $pct % of raw on disk" >&2
