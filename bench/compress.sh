#!/usr/bin/env bash
# COMPRESS=DEFLATE benchmark (RFC 4978): what compression costs the server
# per MB downloaded, what it saves on the wire, and what a compressing
# connection holds; archimap and Dovecot (its imap_zlib plugin) with the
# same messages, in the same run. Writes the "## COMPRESS" section of
# BENCHMARKS.md.
#
#   bench/compress.sh                        # N=2000 CLIENTS=4 CONNS=200 RUNS=3
#   N=300 CONNS=50 RUNS=1 WRITE=0 bench/compress.sh   # quick check: print, write nothing
#
# Each run starts both servers afresh and downloads every message once
# (UID FETCH uid BODY.PEEK[], CLIENTS connections) without and with
# COMPRESS, then opens CONNS connections without and with it (each
# compressing one having fetched a message, so both directions are in
# use) and reads the server's memory. Needs root (Dovecot's setup script
# adds a system user) and dovecot-imapd.
set -euo pipefail

N=${N:-2000}
RUNS=${RUNS:-3}
CLIENTS=${CLIENTS:-4}
CONNS=${CONNS:-200}
PORT=${PORT:-23993}     # archimap: PORT, PORT+1; Dovecot: PORT+2 (imaps), PORT+3
WORK=${WORK:-/tmp/archimap-bench-compress}
WRITE=${WRITE:-1}
NOTE=${NOTE:-}

REPO=$(cd "$(dirname "$0")/.." && pwd)
SHARED=$REPO/../shared
REPORT=$REPO/BENCHMARKS.md
LOAD="python3 $REPO/bench/imap_load.py"
die() { echo "compress.sh: $*" >&2; exit 1; }
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }
jv() { python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$@"; }

A_PID= D_PID=
cleanup() {
    [ -n "$A_PID" ] && kill "$A_PID" 2> /dev/null || true
    [ -n "$D_PID" ] && kill "$D_PID" 2> /dev/null || true
}
trap cleanup EXIT
mkdir -p "$WORK/logs"
command -v doveadm > /dev/null && [ -x /usr/lib/dovecot/imap ] || {
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y dovecot-imapd || { apt-get update && apt-get install -y dovecot-imapd; }
}
(cd "$REPO" && cargo build --release --quiet)
cp "${CARGO_TARGET_DIR:-$REPO/target}/release/archimap" "$WORK/archimap"
BIN=$WORK/archimap
build="release, $(git -C "$REPO" rev-parse --short HEAD)$(git -C "$REPO" diff --quiet HEAD -- src Cargo.toml || echo '+changes')"

# The messages: N generated ones of one user, every folder of the
# generator's tree flattened into one folder "Big" of both servers.
CORPUS=$WORK/corpus-$N
if [ ! -f "$CORPUS/.done" ]; then
    rm -rf "$CORPUS"
    python3 "$SHARED/corpus/gen_corpus.py" --out "$CORPUS" -n "$N" --users 1 --seed 42 > /dev/null
    touch "$CORPUS/.done"
fi
SRC=$WORK/src
rm -rf "$SRC"
mkdir -p "$SRC/Big/cur" "$SRC/Big/new" "$SRC/Big/tmp"
i=0
while IFS= read -r f; do
    i=$((i + 1))
    ln "$f" "$SRC/Big/cur/$(printf '%06d' "$i").eml"
done < <(find "$CORPUS" -name '*.eml' | sort)

export RUST_LOG=warn
DATA=$WORK/data
rm -rf "$DATA"
"$BIN" --data-dir "$DATA" user add bench --password benchpw > /dev/null
"$BIN" --data-dir "$DATA" grant bench bench read > /dev/null
"$BIN" --data-dir "$DATA" import --user bench --folder Big "$SRC/Big" > "$WORK/logs/import.out" 2>&1 \
    || die "import: $(tail -5 "$WORK/logs/import.out")"
printf '[limits]\nmax_connections_per_ip = 5000\n' > "$WORK/archimap.toml"
a_start() {
    "$BIN" --config "$WORK/archimap.toml" --data-dir "$DATA" serve --imaps "127.0.0.1:$PORT" \
        --starttls "127.0.0.1:$((PORT + 1))" --api "127.0.0.1:$((PORT + 4))" 2> "$WORK/logs/archimap.log" &
    A_PID=$!
    for _ in $(seq 100); do (exec 3<> "/dev/tcp/127.0.0.1/$PORT") 2> /dev/null && return; sleep 0.1; done
    die "archimap does not listen on $PORT"
}
a_stop() { kill "$A_PID"; wait "$A_PID" 2> /dev/null || true; A_PID=; }

# Dovecot: the harness's oracle instance with COMPRESS (imap_zlib) and room
# for CONNS connections of one user.
DOVECOT=$WORK/dovecot
rm -rf "$DOVECOT"
bash "$SHARED/harness/oracle/dovecot/setup_dovecot.sh" "$DOVECOT" $((PORT + 3)) $((PORT + 2)) > "$WORK/logs/dovecot-setup.out" 2>&1 \
    || die "setup_dovecot.sh: $(cat "$WORK/logs/dovecot-setup.out")"
D_PID=$(cat "$DOVECOT/run/master.pid")
kill "$D_PID"
while kill -0 "$D_PID" 2> /dev/null; do sleep 0.2; done
D_PID=
dconf=$DOVECOT/bench.conf
sed -e "s/mail_max_userip_connections = 64/mail_max_userip_connections = $((CONNS + 50))\n  mail_plugins = \$mail_plugins imap_zlib/" \
    -e "s/process_limit = 64/process_limit = $((CONNS + 50))/" \
    -e "s/^service imap-login {/service imap-login {\n  service_count = 0\n  process_min_avail = $(nproc)/" \
    "$DOVECOT/dovecot.conf" > "$dconf"
d_start() {
    rm -f "$DOVECOT/run/master.pid"
    /usr/sbin/dovecot -c "$dconf" < /dev/null > "$WORK/logs/dovecot-start.out" 2>&1 || die "dovecot: $(cat "$WORK/logs/dovecot-start.out")"
    for _ in $(seq 100); do [ -s "$DOVECOT/run/master.pid" ] && break; sleep 0.1; done
    D_PID=$(cat "$DOVECOT/run/master.pid")
    for _ in $(seq 100); do (exec 3<> "/dev/tcp/127.0.0.1/$((PORT + 2))") 2> /dev/null && return; sleep 0.1; done
    die "dovecot does not listen on $((PORT + 2))"
}
d_stop() { kill "$D_PID"; while kill -0 "$D_PID" 2> /dev/null; do sleep 0.2; done; D_PID=; }
d_start
rm -rf "$DOVECOT/src"
cp -al "$SRC" "$DOVECOT/src"
chown -R oraclemail: "$DOVECOT/src"
doveadm -c "$dconf" import -u usera "maildir:$DOVECOT/src:LAYOUT=fs:INDEX=MEMORY" "" all > "$WORK/logs/doveadm.out" 2>&1 \
    || die "doveadm import: $(tail -5 "$WORK/logs/doveadm.out")"
d_stop

measure() {  # measure SERVER RUN
    local s=$1 run=$2 spec args out=$WORK/logs/$1-$2
    if [ "$s" = archimap ]; then
        a_start; spec=$A_PID
        args=(--port "$PORT" --user bench --password benchpw)
    else
        d_start; spec=tree:$D_PID
        args=(--port $((PORT + 2)) --user usera --password oraclepw)
    fi
    echo "run $run/$RUNS: $s (load $(cut -d' ' -f1 /proc/loadavg))" >&2
    $LOAD bodies "${args[@]}" --folder Big --clients "$CLIENTS" --server "$spec" > "$out-plain.json"
    $LOAD bodies "${args[@]}" --folder Big --clients "$CLIENTS" --server "$spec" --compress > "$out-deflate.json"
    $LOAD held "${args[@]}" --folder Big --conns "$CONNS" --select --server "$spec" > "$out-held-plain.json"
    $LOAD held "${args[@]}" --folder Big --conns "$CONNS" --compress --server "$spec" > "$out-held-deflate.json"
    if [ "$s" = archimap ]; then a_stop; else d_stop; fi
}
for run in $(seq "$RUNS"); do
    measure archimap "$run"
    measure dovecot "$run"
done

for s in archimap dovecot; do
    for run in $(seq "$RUNS"); do
        for f in "$WORK/logs/$s-$run-plain.json" "$WORK/logs/$s-$run-deflate.json"; do
            [ "$(jv "$f" "d['errors'] == 0 and d['messages'] == $N")" = True ] || die "$f: errors or messages missing"
        done
    done
done
# Per server: medians over the runs.
declare -A V
for s in archimap dovecot; do
    cpu_plain=() cpu_deflate=() added=() ratio=() kib_plain=() kib_deflate=()
    for run in $(seq "$RUNS"); do
        p=$WORK/logs/$s-$run-plain.json d=$WORK/logs/$s-$run-deflate.json
        cpu_plain+=("$(jv "$p" "d['server_cpu_s'] / (d['bytes'] / 1e8)")")
        cpu_deflate+=("$(jv "$d" "d['server_cpu_s'] / (d['bytes'] / 1e8)")")
        added+=("$(python3 -c "import json; p = json.load(open('$p')); d = json.load(open('$d')); print((d['server_cpu_s'] / d['bytes'] - p['server_cpu_s'] / p['bytes']) * 1e6 * 1000)")")
        ratio+=("$(jv "$d" "d['wire_bytes'] / d['bytes'] * 100")")
        kib_plain+=("$(jv "$WORK/logs/$s-$run-held-plain.json" "d['pss_kib_per_conn']")")
        kib_deflate+=("$(jv "$WORK/logs/$s-$run-held-deflate.json" "d['pss_kib_per_conn']")")
    done
    V[$s-cpu_plain]=$(median "${cpu_plain[@]}") V[$s-cpu_deflate]=$(median "${cpu_deflate[@]}")
    V[$s-added]=$(median "${added[@]}") V[$s-ratio]=$(median "${ratio[@]}")
    V[$s-kib_plain]=$(median "${kib_plain[@]}") V[$s-kib_deflate]=$(median "${kib_deflate[@]}")
    V[$s-runs_added]=$(printf '%.2f, ' "${added[@]}" | sed 's/, $//')
done
mb=$(jv "$WORK/logs/archimap-1-plain.json" "round(d['bytes'] / 1e6, 1)")
row() {  # row LABEL KEY DIGITS
    local a=${V[archimap-$2]} d=${V[dovecot-$2]}
    printf '| %s | %.*f | %.*f | %s |\n' "$1" "$3" "$a" "$3" "$d" "$(python3 -c "print(f'{$a / $d:.2f}' if $d else '-')")"
}
section=$(cat << SECTION
## COMPRESS

Measured with \`bench/compress.sh\` on $(date -u).

- Build: $build. Dovecot $(dovecot --version | cut -d' ' -f1) (Debian) with its \`imap_zlib\` plugin, Maildir,
  the harness's oracle configuration.
- Machine: $(nproc) CPUs ($(lscpu | sed -n 's/^Model name: *//p' | head -1)); client and servers on the same CPUs.
- Command: \`N=$N CLIENTS=$CLIENTS CONNS=$CONNS RUNS=$RUNS bench/compress.sh\`: $N generated messages
  (\`gen_corpus.py --seed 42\`, $mb MB as served) in one folder of both servers; each run downloads every
  message once (\`UID FETCH uid (BODY.PEEK[])\`, $CLIENTS connections, \`bench/imap_load.py bodies\`) without
  and then with COMPRESS=DEFLATE, then holds $CONNS connections without it (each with the folder selected)
  and $CONNS with it (each having fetched one message through it) and reads the server's memory
  (PSS). The client deflates at zlib's default level. Medians of $RUNS runs.
- archimap deflates at level 2 (\`src/net/compress.rs\` says why); Dovecot at its default (\`imap_zlib_compress_level\` 6).

| | archimap | Dovecot | ratio |
| --- | ---: | ---: | ---: |
$(row "server CPU s per 100 MB downloaded, plain" cpu_plain 2)
$(row "server CPU s per 100 MB downloaded, COMPRESS" cpu_deflate 2)
$(row "CPU ms COMPRESS adds per MB downloaded" added 2)
$(row "bytes on the wire with COMPRESS, % of served" ratio 1)
$(row "KiB per connection (PSS), plain, folder selected" kib_plain 0)
$(row "KiB per connection (PSS), COMPRESS" kib_deflate 0)

CPU ms added per MB in each run, archimap: ${V[archimap-runs_added]}; Dovecot: ${V[dovecot-runs_added]}.
${NOTE:+
Note: $NOTE
}
SECTION
)

. "$REPO/bench/write_section.sh"
write_section "$REPORT" "$section"
