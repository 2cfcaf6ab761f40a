#!/usr/bin/env python3
"""Persistent IMAP sessions running a random mix of commands for a while,
each tracking the state its responses imply (bench/imap_model.py) and
failing on any inconsistency. Python 3 standard library only.

  load.py stress --port P [--ca CA] --login USER:PASSWORD[:PREFIX] ... \\
          [--clients 10] [--seconds 20] [--seed S] [--root stress]
      The stress test (tests/stress.rs): sessions dealt round-robin to the
      logins, all on the folders ROOT/A, ROOT/B, ROOT/C (created and filled
      by the first session; PREFIX is where another user sees them), random
      LIST STATUS SELECT FETCH STORE EXPUNGE APPEND COPY MOVE SEARCH NOOP.
  load.py B --port P [--ca CA] --users 20 [--user-format u%02d] --password PW \\
          --mbox FILE [--clients 10] [--seconds 30]
      Workload B: client i logs in as user i mod USERS, on its INBOX: LIST,
      STATUS, SELECT, FETCH of flags, envelopes and bodies of random ranges,
      STORE of flags and keywords, STORE \\Deleted + EXPUNGE, APPEND of
      messages from the mbox.
  load.py C ... [--folder Archive]
      Workload C: the same clients on the read-only FOLDER (EXAMINE): LIST,
      STATUS, UID FETCH 1:*, FETCH of headers and bodies, SEARCH by subject
      words (the message the word came from must be found) and dates.

Prints one JSON object: the seed, commands per second in total and per
command, latency median and p99 per command, answers by status, faults
(each with its session's transcript tail) and errors (faults, BAD, NO
where none may come, lost connections). With --server PID (or tree:PID)
it adds the server's CPU seconds over the run (and until --settle seconds
after it: work the load left behind) and its memory (RSS, PSS;
bench/imap_load.py) before the sessions connect and --settle seconds (2)
after they logged out. Exit status 1 on any error.
"""
import argparse
import asyncio
import json
import os
import random
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from imap_load import cpu_seconds, memory  # noqa: E402
from imap_model import ConnectionLost, Fault, Session, Stats, World  # noqa: E402

STRESS_FOLDERS = ("A", "B", "C")
FETCH_ITEMS = ("(FLAGS)", "(UID FLAGS RFC822.SIZE)", "(ENVELOPE)", "(BODY.PEEK[HEADER])", "(BODY.PEEK[])",
               "(INTERNALDATE BODY.PEEK[TEXT]<0.100>)", "(UID BODYSTRUCTURE)")
MONTHS = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()


def stress_message(rng, sid, n):
    word = rng.choice(["apple", "budget", "cobalt", "delta", "ember", "fjord"])
    return ("From: s%d@example.org\r\nTo: all@example.org\r\nSubject: stress %s %d-%d\r\n"
            "Date: Mon, 7 Dec 2026 10:%02d:00 +0000\r\nMessage-ID: <%d.%d.%d@stress>\r\n\r\n"
            "Body of %d-%d, %s.\r\n" % (sid, word, sid, n, n % 60, sid, n, rng.getrandbits(32), sid, n, word)).encode()


def mbox_messages(path, limit=None):
    """The messages of an mboxrd file (the first `limit` of them: it is
    read as a stream), CRLF line ends, '>From ' unquoted."""
    out, cur = [], None
    with open(path, "rb") as f:
        for line in f:
            if line.startswith(b"From "):
                if cur is not None:
                    out.append(b"".join(cur))
                    if limit is not None and len(out) >= limit:
                        cur = None
                        break
                cur = []
                continue
            if cur is None:
                continue
            if line.startswith(b">") and line.lstrip(b">").startswith(b"From "):
                line = line[1:]
            cur.append(line.rstrip(b"\r\n") + b"\r\n")
    if cur is not None:
        out.append(b"".join(cur))
    return [m[:-2] if m.endswith(b"\r\n\r\n") else m for m in out]


class Driver:
    """One session's random mix; `workload` names the operations it picks."""

    def __init__(self, a, session, rng, folders, messages):
        self.a, self.s, self.rng, self.folders, self.messages = a, session, rng, folders, messages
        self.errors = []  # NO where none may come, lost connections
        self.appended = 0
        self.set_up = False  # logged in (and selected), or failed to
        self.words = []  # (word, uid) from subjects: SEARCH must find uid

    def known(self, limit):
        uids = [m.uid for m in self.s.sel.msgs if m.uid is not None]
        return self.rng.sample(uids, min(limit, len(uids))) if uids else []

    def no(self, answer, what):
        """A NO is an error unless another session may have expunged a
        message the command names (shared mailboxes only)."""
        if answer.status == "NO" and (self.s.exclusive or self.a.workload == "C"):
            self.errors.append({"session": self.s.sid, "error": "%s answered NO [%s] %s" % (what, answer.code, answer.text),
                                "transcript": list(self.s.transcript)})

    async def ensure_selected(self, mailbox=None):
        if self.s.sel is None:
            await self.select(mailbox)

    async def select(self, mailbox=None):
        if self.a.workload == "C":
            await self.s.select(self.a.folder, examine=True)
            if not self.words:
                await self.learn_words()
        else:
            await self.s.select(mailbox or self.rng.choice(self.folders))

    async def learn_words(self):
        answer = await self.s.fetch("1:*", "(UID ENVELOPE)")
        for _, items in answer.fetches:
            subject = items["ENVELOPE"][1]
            if subject and b"=?" not in subject:
                for word in subject.split():
                    if len(word) >= 5 and word.isalpha() and word.isascii():
                        self.words.append((word.decode(), int(items["UID"])))

    # --- operations
    async def op_list(self):
        await self.s.list(self.folders if self.a.workload == "stress" else ["INBOX", self.a.folder])

    async def op_status(self):
        others = [f for f in self.status_folders() if self.s.sel is None or f != self.s.sel.mailbox]
        await self.s.status(self.rng.choice(others))

    def status_folders(self):
        if self.a.workload == "stress":
            return self.folders
        return ["INBOX", self.a.folder]

    async def op_select(self):
        await self.select()

    async def op_fetch(self):
        await self.ensure_selected()
        sel = self.s.sel
        if not sel.msgs:
            return
        n = len(sel.msgs)
        first = self.rng.randint(1, n)
        last = min(n, first + self.rng.randint(0, 9))
        items = self.rng.choice(FETCH_ITEMS)
        if self.rng.random() < 0.5:
            uids = self.known(self.rng.randint(1, 8))
            if uids:
                answer = await self.s.fetch(",".join(map(str, sorted(uids))), items, uid=True)
                self.no(answer, "UID FETCH")
                return
        answer = await self.s.fetch("%d:%d" % (first, last), items)
        self.no(answer, "FETCH")

    async def op_store(self):
        await self.ensure_selected()
        uids = self.known(self.rng.randint(1, 5))
        if not uids:
            return
        flag = self.rng.choice([self.s.keyword, self.s.keyword, "\\Seen", "\\Flagged", "$Label1"])
        op = self.rng.choice(["+FLAGS", "-FLAGS"])
        answer = await self.s.store(uids, op, [flag], by_seq=self.rng.random() < 0.5)
        self.no(answer, "STORE")

    async def op_expunge(self):
        await self.ensure_selected()
        if len(self.s.sel.msgs) < self.a.min_messages:
            return
        uids = self.known(self.rng.randint(1, 3))
        if not uids:
            return
        answer = await self.s.store(uids, "+FLAGS", ["\\Deleted"])
        self.no(answer, "UID STORE +FLAGS (\\Deleted)")
        marked = [u for u, flags in answer.flags_after.items() if "\\Deleted" in flags]
        if not marked:
            return
        answer = await self.s.expunge(marked, uid_expunge=self.rng.random() < 0.5)
        self.no(answer, "EXPUNGE")

    async def op_append(self):
        if self.a.workload == "stress":
            target = self.rng.choice(self.folders)
            message = stress_message(self.rng, self.s.sid, self.appended)
        else:
            target = "INBOX"
            message = self.rng.choice(self.messages)
        self.appended += 1
        flags = self.rng.choice(["", "\\Seen", self.s.keyword])
        answer = await self.s.append(target, message, flags)
        self.no(answer, "APPEND")

    async def op_copy(self, move=False):
        await self.ensure_selected()
        uids = self.known(self.rng.randint(1, 2 if move else 3))
        if not uids:
            return
        others = [f for f in self.folders if f != self.s.sel.mailbox]
        target = self.rng.choice(others) if move or self.rng.random() < 0.9 else self.s.sel.mailbox
        answer = await self.s.copy(uids, target, move=move)
        self.no(answer, "MOVE" if move else "COPY")

    async def op_move(self):
        await self.op_copy(move=True)

    async def op_search(self):
        await self.ensure_selected()
        if self.a.workload == "C":
            return await self.search_archive()
        criteria = self.rng.choice(["ALL", "UNSEEN", "KEYWORD %s" % self.s.keyword, "FLAGGED", "SUBJECT stress",
                                    "DELETED", "TEXT budget"])
        answer, _ = await self.s.search(criteria, uid=self.rng.random() < 0.5)
        self.no(answer, "SEARCH")

    async def search_archive(self):
        if self.words and self.rng.random() < 0.7:
            word, uid = self.rng.choice(self.words)
            answer, found = await self.s.search("SUBJECT %s" % word, uid=True)
            if answer.ok and uid not in found:
                self.errors.append({"session": self.s.sid, "error": "UID SEARCH SUBJECT %s misses UID %d, whose subject has it"
                                    % (word, uid), "transcript": list(self.s.transcript)})
        else:
            year = self.rng.randint(2000, 2025)
            month = self.rng.choice(MONTHS)
            answer, _ = await self.s.search("SINCE 1-%s-%d BEFORE 1-%s-%d" % (month, year, month, year + 1))
        self.no(answer, "SEARCH")

    async def op_noop(self):
        await self.s.noop()
        sel = self.s.sel
        if sel is not None:
            unknown = [i + 1 for i, m in enumerate(sel.msgs) if m.uid is None]
            if unknown:
                answer = await self.s.fetch("%d:*" % unknown[0], "(UID FLAGS)")
                self.no(answer, "FETCH")

    async def op_fetch_all(self):
        await self.ensure_selected()
        if self.s.sel.msgs:
            await self.s.fetch("1:*", "(UID FLAGS)", uid=True)


WEIGHTS = {
    "stress": {"list": 2, "status": 4, "select": 4, "fetch": 16, "store": 12, "expunge": 6, "append": 5,
               "copy": 4, "move": 5, "search": 6, "noop": 4},
    "B": {"list": 2, "status": 3, "select": 3, "fetch": 20, "store": 10, "expunge": 4, "append": 5,
          "search": 0, "noop": 3},
    "C": {"list": 2, "status": 3, "select": 1, "fetch_all": 2, "fetch": 20, "search": 10, "noop": 2},
}


async def stress_setup(a, world, stats):
    """The first login creates the folders and fills each with messages."""
    user, password, prefix = a.logins[0]
    s = Session(0, world, stats, a.host, a.port, a.ca, user, password, prefix + a.root + "/")
    await s.connect()
    rng = random.Random(a.seed)
    for folder in STRESS_FOLDERS:
        answer = await s.command("CREATE", "CREATE \"%s\"" % s.wire(folder))
        if answer.code not in (None, "ALREADYEXISTS") and not answer.ok:
            raise SystemExit("CREATE %s: %s %s" % (folder, answer.code, answer.text))
        for n in range(a.initial):
            await s.append(folder, stress_message(rng, 0, n))
    await s.close()


def percentile(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


async def main_async(a):
    world, stats = World(), Stats()
    # the server's memory before any session connects
    before = memory(a.server) if a.server else None
    messages = mbox_messages(a.mbox) if a.mbox else []
    if a.workload == "stress":
        a.logins = [tuple((spec.split(":", 2) + [""])[:3]) for spec in a.login]
        a.min_messages = 8
        await stress_setup(a, world, stats)
        folders = [f for f in STRESS_FOLDERS]
    else:
        a.logins = [(a.user_format % (i % a.users + 1), a.password, "") for i in range(a.clients)]
        a.min_messages = 20
        folders = ["INBOX"]
    drivers = []
    for i in range(a.clients):
        user, password, prefix = a.logins[i % len(a.logins)]
        shared = a.workload == "stress" or a.clients > a.users
        s = Session(i + 1, world, stats, a.host, a.port, a.ca, user, password,
                    (prefix or "") + (a.root + "/" if a.workload == "stress" else ""), exclusive=not shared,
                    owner=a.logins[0][0] if a.workload == "stress" else user)
        drivers.append(Driver(a, s, random.Random(a.seed * 1000 + i), folders, messages))
    loop = asyncio.get_running_loop()
    ready = loop.create_future()
    end = [0.0]

    async def start():
        # every session logs in (and B/C select) before the clock starts
        await asyncio.sleep(0)
        while not all(d.set_up for d in drivers):
            await asyncio.sleep(0.05)
        stats.clear()  # logins and first selects are not part of the figures
        cpu0[0] = cpu_seconds(a.server) if a.server else None
        end[0] = time.monotonic() + a.seconds
        if not ready.done():
            ready.set_result(None)

    cpu0 = [None]
    t0 = time.monotonic()
    await asyncio.gather(start(), *(run_session(a, d, end, ready) for d in drivers))
    wall = time.monotonic() - (end[0] - a.seconds) if end[0] else time.monotonic() - t0
    cpu = cpu_seconds(a.server) - cpu0[0] if a.server else None
    # the server's memory once every session has logged out and it settled
    await asyncio.sleep(a.settle if a.server else 0)
    after = memory(a.server) if a.server else None
    # with what the server did after the load because of it (archimap
    # indexes APPENDed messages in batches, seconds later)
    cpu_settled = cpu_seconds(a.server) - cpu0[0] if a.server else None
    faults = [f for d in drivers for f in d.s.faults]
    errors = [e for d in drivers for e in d.errors]
    per_command = {}
    for name, times in sorted(stats.latency.items()):
        per_command[name] = {"count": len(times), "per_s": len(times) / wall,
                             "median_ms": statistics.median(times) * 1e3, "p99_ms": percentile(times, 0.99) * 1e3,
                             "answers": dict(stats.answers[name])}
    every = [t for times in stats.latency.values() for t in times]
    return {"workload": a.workload, "seed": a.seed, "clients": a.clients, "seconds": wall,
            "commands": len(every), "per_s": len(every) / wall if wall else 0,
            "median_ms": statistics.median(every) * 1e3 if every else None,
            "p99_ms": percentile(every, 0.99) * 1e3 if every else None,
            "server_cpu_s": cpu, "server_cpu_settled_s": cpu_settled, "memory_before": before, "memory_after": after, "settle_s": a.settle,
            "per_command": per_command,
            "faults": faults, "errors": errors, "error_count": len(faults) + len(errors)}


async def run_session(a, driver, end, ready):
    """Logs in (B, C: selects), waits for every other session, then runs
    random operations until end[0]."""
    s = driver.s
    try:
        await s.connect()
        if a.workload in ("B", "C"):
            await driver.select("INBOX" if a.workload == "B" else None)
    except (Fault, ConnectionLost, OSError) as e:
        if not s.faults:
            driver.errors.append({"session": s.sid, "error": "setup: %r" % e, "transcript": list(s.transcript)})
        driver.set_up = True
        return
    driver.set_up = True
    await ready
    names = list(WEIGHTS[a.workload])
    weights = [WEIGHTS[a.workload][n] for n in names]
    while time.monotonic() < end[0]:
        name = driver.rng.choices(names, weights)[0]
        try:
            await getattr(driver, "op_" + name)()
        except Fault:
            # recorded; the session's view is no longer trustworthy
            if not a.keep_going:
                return
            await s.close()
            s.sel = None
            try:
                await s.connect()
            except (Fault, ConnectionLost, OSError):
                return
        except (ConnectionLost, OSError, asyncio.IncompleteReadError) as e:
            driver.errors.append({"session": s.sid, "error": "connection lost: %r" % e, "transcript": list(s.transcript)})
            return
    await s.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("workload", choices=["stress", "B", "C"])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--ca", help="CA file; without it the certificate is not checked")
    ap.add_argument("--login", action="append", default=[], help="stress: USER:PASSWORD[:PREFIX]")
    ap.add_argument("--root", default="stress", help="stress: the folders' parent")
    ap.add_argument("--initial", type=int, default=20, help="stress: messages put into each folder first")
    ap.add_argument("--users", type=int, default=20)
    ap.add_argument("--user-format", default="u%02d")
    ap.add_argument("--password")
    ap.add_argument("--mbox", help="B: the messages to APPEND")
    ap.add_argument("--folder", default="Archive", help="C: the read-only folder")
    ap.add_argument("--clients", type=int, default=10)
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--keep-going", action="store_true",
                    help="after a fault, log in again on a new connection and go on (to find every kind of fault)")
    ap.add_argument("--server", help="PID or tree:PID of the server, for its CPU seconds")
    ap.add_argument("--settle", type=float, default=2.0,
                    help="seconds after the sessions logged out before the server's memory is read")
    a = ap.parse_args()
    if a.seed is None:
        a.seed = random.randrange(1 << 32)
    print("load.py %s: seed %d (replay with --seed %d)" % (a.workload, a.seed, a.seed), file=sys.stderr)
    if a.workload == "stress" and not a.login:
        ap.error("stress needs --login")
    if a.workload == "B" and not a.mbox:
        ap.error("B needs --mbox")
    result = asyncio.run(main_async(a))
    json.dump(result, sys.stdout, indent=1)
    print()
    for item in result["faults"] + result["errors"]:
        print("\n== session %s: %s\n  %s" % (item["session"], item.get("fault") or item.get("error"),
                                            "\n  ".join(item["transcript"][-25:])), file=sys.stderr)
    print("load.py %s: seed %d, %d commands, %d faults, %d other errors" % (
        a.workload, a.seed, result["commands"], len(result["faults"]), len(result["errors"])), file=sys.stderr)
    sys.exit(1 if result["error_count"] else 0)


if __name__ == "__main__":
    main()
