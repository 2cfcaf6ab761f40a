#!/usr/bin/env python3
"""IMAP load client for bench/imap.sh (Python 3 standard library only).

Every sub-command talks IMAP over implicit TLS to one server, measures, and
prints one JSON object on standard output:

  imap_load.py login  --port P --user U --password PW [--repeat 50]
      LOGIN latency: the first LOGIN on a fresh connection, then REPEAT new
      connections, each timing only LOGIN (connect, TLS handshake and the
      greeting are untimed).
  imap_load.py logins --port P --user 'u%d' --password PW --conns N --server SPEC [--wrong]
      N connections, opened first, then LOGIN as N distinct users (USER with
      %d replaced by 1..N) all at once (--wrong: with a wrong password):
      wall seconds from the first LOGIN sent to the last answer, logins per
      second, and the server's memory before, at the peak and after.
  imap_load.py sync   --port P ... --folder Big --items '(UID FLAGS)' [--items ...]
      SELECT FOLDER, then each `UID FETCH 1:* ITEMS` in turn on the same
      connection: seconds, untagged FETCH count, response bytes, tagged status,
      and a digest of the RFC822.SIZE sequence (to check that two servers hold
      the same messages in the same order).
  imap_load.py bodies --port P ... --folder Big --clients 16 --server SPEC [--compress]
      Every message once as `UID FETCH uid (BODY.PEEK[])`, one command at a
      time per connection, UIDs dealt round-robin to CLIENTS processes: bytes,
      wall seconds and the server's CPU seconds over the download (with
      --compress, each connection turns COMPRESS=DEFLATE on after login, and
      the bytes that crossed the wire are counted too).
  imap_load.py held   --port P ... --conns 200 --server SPEC [--compress] [--select]
      Server memory before and after CONNS logged-in connections opened one
      after another (with --compress, each with COMPRESS=DEFLATE on, having
      fetched one message body so both deflate directions are in use).
  imap_load.py idle   --port P ... --conns 5000 --server SPEC [--select]
      Server memory before and after CONNS idle, logged-in connections
      (with --select, each with --folder selected).
  imap_load.py select --port P ... --folder Big [--repeat 50] [--drop-caches]
      LOGIN, then (--drop-caches: after emptying the kernel's page cache,
      which needs root) SELECT FOLDER REPEAT+1 times on the connection: the
      first SELECT's milliseconds and the median of the others.
  imap_load.py sort   --port P ... --folder Big [--repeat 5] [--server SPEC]
      LOGIN and SELECT FOLDER, then each SORT and THREAD of a fixed set
      REPEAT+1 times on the connection: the first one's seconds, the median
      of the others, the server's CPU seconds over all of them, and a digest
      of the first answer (to check that two servers agree).
  imap_load.py resync --port P ... --folder Big [--repeat 5]
      A QRESYNC resynchronisation (RFC 7162 3.2.5): a client notes the
      folder's UIDVALIDITY and HIGHESTMODSEQ; another session then changes
      the flags of 100 messages (keyword $Bench) and expunges 10 (appended
      before, so the folder keeps its size for the next steps); the client
      comes back: ENABLE QRESYNC, then SELECT FOLDER (QRESYNC (v m)),
      REPEAT+1 times (UNSELECT between): the first one's milliseconds, the
      median of the others, and the FETCH and VANISHED it got.
  imap_load.py memory --server SPEC
      The server's memory now (RSS and PSS, KiB).
  imap_load.py sample --server SPEC --out FILE
      Samples the server's summed RSS every 0.2 s until SIGTERM; writes the peak.

SPEC is `PID` (one process and its threads: archimap) or `tree:PID` (PID and
all its descendants: the Dovecot master). CPU is utime+stime (+ cutime+cstime
of the root, which collects children that exited) from /proc/PID/stat.
"""
import argparse
import asyncio
import hashlib
import io
import json
import multiprocessing as mp
import os
import re
import resource
import signal
import socket
import ssl
import statistics
import sys
import time
import zlib

TICK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")
LITERAL = re.compile(rb"\{(\d+)\}\r\n$")
SIZE = re.compile(rb"RFC822\.SIZE (\d+)")
INTERNALDATE = re.compile(rb'INTERNALDATE "[^"]*" ?')


# ------------------------------------------------------------ server processes
def server_pids(spec):
    if not spec.startswith("tree:"):
        return [int(spec)]
    root = int(spec[5:])
    children = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open("/proc/%s/stat" % d) as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except OSError:
                continue
            children.setdefault(ppid, []).append(int(d))
    out, todo = [], [root]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def cpu_seconds(spec):
    pids = server_pids(spec)
    total = 0
    for p in pids:
        try:
            with open("/proc/%d/stat" % p) as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime stime
        if p == pids[0]:
            total += int(fields[13]) + int(fields[14])  # cutime cstime: reaped children
    return total / TICK


def status_kb(pid, key):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def memory(spec, pss=True):
    """Summed RSS and PSS (KiB), largest single VmHWM (KiB), process count."""
    pids = server_pids(spec)
    rss = pss_sum = hwm = 0
    for p in pids:
        try:
            with open("/proc/%d/statm" % p) as f:
                rss += int(f.read().split()[1]) * PAGE // 1024
            if pss:
                with open("/proc/%d/smaps_rollup" % p) as f:
                    for line in f:
                        if line.startswith("Pss:"):
                            pss_sum += int(line.split()[1])
                            break
        except OSError:
            continue
        hwm = max(hwm, status_kb(p, "VmHWM"))
    return {"rss_kib": rss, "pss_kib": pss_sum, "max_hwm_kib": hwm, "processes": len(pids)}


# ------------------------------------------------------------------ the client
def tls_context(ca):
    ctx = ssl.create_default_context(cafile=ca) if ca else ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    if not ca:
        ctx.verify_mode = ssl.CERT_NONE
    return ctx


def quote(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


class Inflated(io.RawIOBase):
    """A socket's input, inflated (COMPRESS=DEFLATE: raw deflate); counts
    the bytes that crossed the wire."""

    def __init__(self, sock):
        self.sock, self.z, self.pending, self.wire = sock, zlib.decompressobj(-15), b"", 0

    def readable(self):
        return True

    def readinto(self, b):
        while not self.pending:
            raw = self.sock.recv(1 << 16)
            if not raw:
                return 0
            self.wire += len(raw)
            self.pending = self.z.decompress(raw)
        n = min(len(b), len(self.pending))
        b[:n] = self.pending[:n]
        self.pending = self.pending[n:]
        return n


class Client:
    def __init__(self, a):
        raw = socket.create_connection((a.host, a.port))
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock = tls_context(a.ca).wrap_socket(raw, server_hostname=a.host)
        self.r = self.sock.makefile("rb", buffering=1 << 20)
        self.n = 0
        self.deflate = None
        self.inflated = None
        greeting = self.r.readline()
        if not greeting.startswith(b"* OK"):
            raise SystemExit("unexpected greeting: %r" % greeting)

    def send(self, cmd):
        self.n += 1
        tag = b"t%d" % self.n
        data = tag + b" " + cmd.encode() + b"\r\n"
        if self.deflate:
            data = self.deflate.compress(data) + self.deflate.flush(zlib.Z_SYNC_FLUSH)
        self.sock.sendall(data)
        return tag

    def compress(self):
        """COMPRESS DEFLATE (RFC 4978); from its OK on, both ways deflated."""
        status, _ = self.command("COMPRESS DEFLATE")
        if " OK" not in status:
            raise SystemExit("COMPRESS failed: " + status)
        # The server sends nothing after the OK until asked: no input is
        # buffered in the plain reader.
        self.deflate = zlib.compressobj(6, zlib.DEFLATED, -15)
        self.inflated = Inflated(self.sock)
        self.r = io.BufferedReader(self.inflated, 1 << 20)

    def wire_bytes(self):
        """Bytes received since COMPRESS (compressed), if it is on."""
        return self.inflated.wire if self.inflated else None

    def response(self, tag, on_line=None, on_literal=None):
        """Reads up to the tagged reply; returns (status line, bytes read)."""
        total = 0
        readline, read = self.r.readline, self.r.read
        while True:
            line = readline()
            if not line:
                raise SystemExit("connection closed by the server")
            total += len(line)
            pieces = None
            while True:  # a line may announce literals, each followed by more of the line
                m = LITERAL.search(line)
                if not m:
                    break
                if pieces is None:
                    pieces = []
                pieces.append(line)
                n = int(m.group(1))
                data = read(n)
                total += n
                if on_literal:
                    on_literal(data)
                line = readline()
                total += len(line)
            if pieces is not None:  # the response without its literals' contents
                pieces.append(line)
                line = b"".join(pieces)
            if line.startswith(tag + b" "):
                return line.rstrip(b"\r\n").decode("utf-8", "replace"), total
            if on_line:
                on_line(line)

    def command(self, cmd, **kw):
        return self.response(self.send(cmd), **kw)

    def timed_command(self, cmd, on_line=None):
        """Sends `cmd` and reads its whole answer as it arrives, timed from
        sending to the tagged line; parses it only then, so the time is the
        server's (and the network's), not this client's line handling.
        Returns (status line, bytes read, seconds)."""
        t = time.perf_counter()
        tag = self.send(cmd)
        buf = bytearray()
        while True:
            chunk = self.r.read1(1 << 20)
            if not chunk:
                raise SystemExit("connection closed by the server")
            buf += chunk
            if buf.endswith(b"\r\n"):
                before = buf.rfind(b"\r\n", 0, len(buf) - 2)
                if buf.startswith(tag + b" ", before + 2 if before >= 0 else 0):
                    break
        secs = time.perf_counter() - t
        answer = Client.__new__(Client)
        answer.r = io.BufferedReader(io.BytesIO(bytes(buf)))
        status, nbytes = answer.response(tag, on_line=on_line)
        return status, nbytes, secs

    def login(self, a):
        status, _ = self.command("LOGIN %s %s" % (quote(a.user), quote(a.password)))
        if " OK" not in status:
            raise SystemExit("LOGIN failed: " + status)

    def select(self, folder):
        status, _ = self.command("SELECT " + quote(folder))
        if " OK" not in status:
            raise SystemExit("SELECT failed: " + status)

    def close(self):
        try:
            self.command("LOGOUT")
        except Exception:
            pass
        self.sock.close()


def cmd_login(a):
    c = Client(a)
    t = time.perf_counter()
    c.login(a)
    first = time.perf_counter() - t
    c.close()
    times = []
    for _ in range(a.repeat):
        c = Client(a)
        t = time.perf_counter()
        c.login(a)
        times.append(time.perf_counter() - t)
        c.close()
    p99 = statistics.quantiles(times, n=100, method="inclusive")[98] if len(times) > 1 else times[0]
    return {"first_ms": first * 1e3, "repeat_median_ms": statistics.median(times) * 1e3,
            "repeat_p99_ms": p99 * 1e3, "repeat_min_ms": min(times) * 1e3, "repeat_max_ms": max(times) * 1e3,
            "repeats": len(times)}


def drop_page_cache():
    os.sync()
    with open("/proc/sys/vm/drop_caches", "w") as f:
        f.write("3\n")


def cmd_select(a):
    c = Client(a)
    c.login(a)
    if a.drop_caches:
        drop_page_cache()
    times = []
    for _ in range(a.repeat + 1):
        status, _, secs = c.timed_command("SELECT " + quote(a.folder))
        if " OK" not in status:
            raise SystemExit("SELECT failed: " + status)
        times.append(secs)
    c.close()
    return {"first_ms": times[0] * 1e3, "warm_median_ms": statistics.median(times[1:]) * 1e3 if a.repeat else None,
            "page_cache_dropped": a.drop_caches, "repeats": a.repeat}


# The keys issue 15's acceptance names, then a sort of a search's result
# and both threading algorithms.
SORTS = [
    "SORT (DATE) UTF-8 ALL",
    "SORT (SUBJECT) UTF-8 ALL",
    "SORT (FROM) UTF-8 ALL",
    "SORT (SIZE) UTF-8 ALL",
    "SORT (REVERSE DATE) UTF-8 ALL",
    "SORT (FROM) UTF-8 SINCE 1-Jan-2020",
    "THREAD ORDEREDSUBJECT UTF-8 ALL",
    "THREAD REFERENCES UTF-8 ALL",
]


def cmd_sort(a):
    c = Client(a)
    c.login(a)
    c.select(a.folder)
    results = {}
    for command in SORTS:
        cpu = cpu_seconds(a.server) if a.server else None
        times, digest = [], None
        for i in range(a.repeat + 1):
            lines = []
            status, _, secs = c.timed_command(command, on_line=lines.append if i == 0 else None)
            if " OK" not in status:
                raise SystemExit(f"{command} failed: {status}")
            times.append(secs)
            if i == 0:
                digest = hashlib.sha256(b"".join(lines)).hexdigest()[:16]
        results[command] = {
            "first_s": times[0],
            "warm_median_s": statistics.median(times[1:]) if a.repeat else None,
            "server_cpu_s": cpu_seconds(a.server) - cpu if a.server else None,
            "digest": digest,
        }
    c.close()
    return {"repeats": a.repeat, "commands": results}


RESYNC_CHANGES = 100
RESYNC_EXPUNGES = 10


def cmd_resync(a):
    other = Client(a)
    other.login(a)
    other.select(a.folder)
    appended = []
    for i in range(RESYNC_EXPUNGES):
        message = "Subject: resync %d\r\n\r\nto be expunged\r\n" % i
        status, _ = other.command("APPEND %s {%d+}\r\n%s" % (quote(a.folder), len(message), message))
        m = re.search(r"APPENDUID \d+ (\d+)", status)
        if not m:
            raise SystemExit("APPEND without APPENDUID: " + status)
        appended.append(m.group(1))
    other.command("STORE 1:%d -FLAGS.SILENT ($Bench)" % RESYNC_CHANGES)
    client = Client(a)
    client.login(a)
    lines = []
    status, _ = client.command("SELECT %s (CONDSTORE)" % quote(a.folder), on_line=lines.append)
    text = b"".join(lines).decode()
    uidvalidity = re.search(r"UIDVALIDITY (\d+)", text).group(1)
    modseq = re.search(r"HIGHESTMODSEQ (\d+)", text).group(1)
    client.close()
    other.command("STORE 1:%d +FLAGS.SILENT ($Bench)" % RESYNC_CHANGES)
    uids = ",".join(appended)
    other.command("UID STORE %s +FLAGS.SILENT (\\Deleted)" % uids)
    status, _ = other.command("UID EXPUNGE %s" % uids)
    if " OK" not in status:
        raise SystemExit("UID EXPUNGE failed: " + status)
    other.close()
    back = Client(a)
    back.login(a)
    back.command("ENABLE QRESYNC")
    times, fetches, vanished = [], 0, ""
    for i in range(a.repeat + 1):
        seen = []
        status, _, secs = back.timed_command(
            "SELECT %s (QRESYNC (%s %s))" % (quote(a.folder), uidvalidity, modseq),
            on_line=seen.append if i == 0 else None)
        if " OK" not in status:
            raise SystemExit("SELECT (QRESYNC) failed: " + status)
        times.append(secs)
        if i == 0:
            fetches = sum(1 for l in seen if re.match(rb"\* \d+ FETCH", l))
            vanished = " ".join(l.decode().strip() for l in seen if l.startswith(b"* VANISHED"))
        back.command("UNSELECT")
    back.close()
    return {"first_ms": times[0] * 1e3, "warm_median_ms": statistics.median(times[1:]) * 1e3 if a.repeat else None,
            "fetches": fetches, "vanished": vanished, "repeats": a.repeat}


def cmd_memory(a):
    return memory(a.server)


def cmd_sync(a):
    c = Client(a)
    c.login(a)
    t = time.perf_counter()
    c.select(a.folder)
    out = {"select_s": time.perf_counter() - t, "fetches": []}
    for i, items in enumerate(a.items):
        count, sizes, digest = 0, [], hashlib.sha256()
        dump = open(a.dump, "wb") if a.dump and i == a.dump_index else None

        def on_line(line):
            nonlocal count
            if b" FETCH " in line:
                count += 1
                digest.update(INTERNALDATE.sub(b"", line))
                if dump:
                    dump.write(line)
                m = SIZE.search(line)
                if m:
                    sizes.append(m.group(1))

        status, nbytes, secs = c.timed_command("UID FETCH 1:* " + items, on_line=on_line)
        if dump:
            dump.close()
        out["fetches"].append({"items": items, "seconds": secs, "messages": count, "bytes": nbytes,
                               "status": status.split(" ", 1)[1],
                               "sizes_digest": hashlib.sha256(b",".join(sizes)).hexdigest()[:16] if sizes else None,
                               "response_digest": digest.hexdigest()[:16],
                               "total_size": sum(int(s) for s in sizes)})
    c.close()
    return out


def uids(a):
    c = Client(a)
    c.login(a)
    c.select(a.folder)
    found = []
    status, _ = c.command("UID SEARCH ALL", on_line=lambda l: found.extend(int(x) for x in l.split()[2:])
                          if l.startswith(b"* SEARCH") else None)
    c.close()
    return found


def body_worker(a, my_uids, ready, go, done, result):
    c = Client(a)
    c.login(a)
    if a.compress:
        c.compress()
    c.select(a.folder)
    total = [0]

    def on_literal(data):
        total[0] += len(data)

    ready.wait()
    go.wait()
    errors = 0
    for uid in my_uids:
        status, _ = c.command("UID FETCH %d (BODY.PEEK[])" % uid, on_literal=on_literal)
        if " OK" not in status:
            errors += 1
    result.put((total[0], errors, time.perf_counter(), c.wire_bytes() or 0))
    done.wait()  # stay logged in until the server's CPU time has been read
    c.close()


def cmd_bodies(a):
    all_uids = uids(a)[:a.limit or None]
    k = a.clients
    ready, go, done = mp.Barrier(k + 1), mp.Event(), mp.Event()
    result = mp.Queue()
    procs = [mp.Process(target=body_worker, args=(a, all_uids[i::k], ready, go, done, result)) for i in range(k)]
    for p in procs:
        p.start()
    ready.wait()  # every worker is logged in and has selected the folder
    cpu0 = cpu_seconds(a.server)
    t0 = time.perf_counter()
    go.set()
    parts = [result.get() for _ in procs]
    cpu1 = cpu_seconds(a.server)
    done.set()
    for p in procs:
        p.join()
    wall = max(end for _, _, end, _ in parts) - t0
    nbytes = sum(b for b, _, _, _ in parts)
    cpu = cpu1 - cpu0
    result = {"clients": k, "messages": len(all_uids), "bytes": nbytes, "errors": sum(e for _, e, _, _ in parts),
              "seconds": wall, "server_cpu_s": cpu, "mb_per_s": nbytes / 1e6 / wall,
              "mb_per_cpu_s": nbytes / 1e6 / cpu if cpu > 0 else None}
    if a.compress:
        result["wire_bytes"] = sum(w for _, _, _, w in parts)
    return result


def cmd_held(a):
    """Memory of CONNS logged-in connections, each with COMPRESS on if asked
    (and one body fetched through it), opened one after another."""
    before = memory(a.server)
    conns = []
    for _ in range(a.conns):
        c = Client(a)
        c.login(a)
        if a.compress:
            c.compress()
        if a.select or a.compress:
            c.select(a.folder)
            c.command("FETCH 1 (BODY.PEEK[])")
        conns.append(c)
    time.sleep(a.settle)
    after = memory(a.server)
    for c in conns:
        c.close()
    return {"conns": a.conns, "compress": a.compress, "before": before, "after": after,
            "rss_kib_per_conn": (after["rss_kib"] - before["rss_kib"]) / a.conns,
            "pss_kib_per_conn": (after["pss_kib"] - before["pss_kib"]) / a.conns}


async def tagged(r, w, tag, command, what):
    """Sends `tag command` and reads up to its tagged answer, which must be OK."""
    w.write(b"%s %s\r\n" % (tag, command))
    await w.drain()
    while True:
        line = await r.readline()
        if not line:
            raise RuntimeError("closed during %s" % what)
        if line.startswith(tag + b" "):
            if not line.startswith(tag + b" OK"):
                raise RuntimeError("%s: %r" % (what, line))
            return


async def idle_connect(a, ctx, sem, conns):
    async with sem:
        r, w = await asyncio.open_connection(a.host, a.port, ssl=ctx, server_hostname=a.host)
        greeting = await r.readline()
        if not greeting.startswith(b"* OK"):
            raise RuntimeError("greeting %r" % greeting)
        await tagged(r, w, b"a", b"LOGIN %s %s" % (quote(a.user).encode(), quote(a.password).encode()), "LOGIN")
        if a.select:
            await tagged(r, w, b"s", b"SELECT " + quote(a.folder).encode(), "SELECT")
        conns.append((r, w))


async def idle_main(a):
    ctx = tls_context(a.ca)
    sem = asyncio.Semaphore(a.parallel)
    conns = []
    await idle_connect(a, ctx, sem, conns)  # one login first, so that later ones are cached ones
    conns.pop()[1].close()
    await asyncio.sleep(1)
    before = memory(a.server)
    t = time.perf_counter()
    results = await asyncio.gather(*(idle_connect(a, ctx, sem, conns) for _ in range(a.conns)), return_exceptions=True)
    open_s = time.perf_counter() - t
    errors = [repr(e) for e in results if isinstance(e, BaseException)]
    await asyncio.sleep(a.settle)
    after = memory(a.server)
    for _, w in conns:
        w.close()
    per = lambda k: (after[k] - before[k]) / max(len(conns), 1)
    return {"requested": a.conns, "open": len(conns), "errors": len(errors), "first_errors": errors[:3],
            "open_seconds": open_s, "before": before, "after": after,
            "rss_kib_per_conn": per("rss_kib"), "pss_kib_per_conn": per("pss_kib")}


async def logins_main(a):
    ctx = tls_context(a.ca)
    sem = asyncio.Semaphore(a.parallel)

    async def connect():
        async with sem:
            r, w = await asyncio.open_connection(a.host, a.port, ssl=ctx, server_hostname=a.host)
            if not (await r.readline()).startswith(b"* OK"):
                raise RuntimeError("no greeting")
            return r, w

    async def login(r, w, i):
        password = a.password + ("-wrong" if a.wrong else "")
        w.write(b"a LOGIN %s %s\r\n" % (quote(a.user % i).encode(), quote(password).encode()))
        await w.drain()
        while True:
            line = await r.readline()
            if not line:
                raise RuntimeError("closed during LOGIN")
            if line.startswith(b"a "):
                return line.startswith(b"a OK")

    conns = await asyncio.gather(*(connect() for _ in range(a.conns)))
    await asyncio.sleep(1)
    before = memory(a.server, pss=False)
    t = time.perf_counter()
    answers = await asyncio.gather(*(login(r, w, i + 1) for i, (r, w) in enumerate(conns)))
    wall = time.perf_counter() - t
    peak = memory(a.server, pss=False)["max_hwm_kib"]
    for _, w in conns:
        w.close()
    await asyncio.sleep(a.settle)
    after = memory(a.server, pss=False)
    return {"logins": len(answers), "ok": sum(answers), "seconds": wall, "per_s": len(answers) / wall,
            "rss_before_kib": before["rss_kib"], "hwm_kib": peak, "rss_after_kib": after["rss_kib"]}


def cmd_logins(a):
    return asyncio.run(logins_main(a))


def cmd_idle(a):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return asyncio.run(idle_main(a))


def cmd_sample(a):
    peak = {"rss_kib": 0, "max_hwm_kib": 0}
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    while not stop:
        m = memory(a.server, pss=False)
        peak["rss_kib"] = max(peak["rss_kib"], m["rss_kib"])
        peak["max_hwm_kib"] = max(peak["max_hwm_kib"], m["max_hwm_kib"])
        with open(a.out + ".tmp", "w") as f:
            json.dump(peak, f)
        os.replace(a.out + ".tmp", a.out)
        time.sleep(0.2)
    return peak


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("command", choices=["login", "logins", "sync", "bodies", "idle", "held", "select", "sort", "resync",
                                       "memory", "sample"])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int)
    ap.add_argument("--ca", help="CA file; without it the certificate is not checked")
    ap.add_argument("--user")
    ap.add_argument("--password")
    ap.add_argument("--folder", default="Big")
    ap.add_argument("--items", action="append", default=[])
    ap.add_argument("--repeat", type=int, default=50)
    ap.add_argument("--clients", type=int, default=1)
    ap.add_argument("--conns", type=int, default=5000)
    ap.add_argument("--parallel", type=int, default=32, help="idle: connections being opened at once")
    ap.add_argument("--settle", type=float, default=3.0, help="idle: seconds to wait before measuring")
    ap.add_argument("--limit", type=int, default=0, help="bodies: only the first LIMIT messages (0: all)")
    ap.add_argument("--drop-caches", action="store_true", help="select: empty the page cache first (root)")
    ap.add_argument("--select", action="store_true", help="idle: each connection also SELECTs --folder")
    ap.add_argument("--server", help="PID or tree:PID of the server, for CPU and memory")
    ap.add_argument("--wrong", action="store_true", help="logins: with a wrong password")
    ap.add_argument("--compress", action="store_true", help="bodies, held: COMPRESS=DEFLATE after login")
    ap.add_argument("--out")
    ap.add_argument("--dump", help="sync: write the untagged lines (literals left out) of one fetch to this file")
    ap.add_argument("--dump-index", type=int, default=1, help="sync: which --items fetch to dump (from 0)")
    a = ap.parse_args()
    result = {"login": cmd_login, "logins": cmd_logins, "sync": cmd_sync, "bodies": cmd_bodies, "idle": cmd_idle,
              "held": cmd_held,
              "select": cmd_select, "sort": cmd_sort, "resync": cmd_resync, "memory": cmd_memory,
              "sample": cmd_sample}[a.command](a)
    json.dump(result, sys.stdout)
    print()


if __name__ == "__main__":
    main()
