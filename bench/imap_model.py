"""A state-tracking IMAP client session (Python 3 standard library, asyncio).

Used by bench/load.py (the stress test of tests/stress.rs and the load
workloads of bench/load.sh). Each Session keeps what RFC 3501 (with UIDPLUS
and MOVE) says a client may conclude from the server's responses, and
records a Fault whenever a response contradicts it:

- the selected mailbox's sequence number -> UID list: built from SELECT's
  EXISTS and FETCH UID, changed only by EXISTS (which never shrinks it) and
  EXPUNGE (whose number must lie within 1..exists);
- a FETCH's number must lie within 1..exists, its UID must be the one known
  for that number and lie between the UIDs of its neighbours (a FETCH
  without UID during a UID command is an unsolicited flag update, which
  RFC 3501 allows);
- a keyword in FETCH FLAGS must have been announced by the mailbox's FLAGS;
- the flags after the session's own STORE are what it set (for every flag
  when no other session writes the mailbox, else for the session's own
  keyword, which no other session touches), and its keyword stays as it
  left it in every later FETCH; \\Deleted, once seen, stays until the
  message is expunged (no session clears it);
- no untagged EXPUNGE while answering FETCH, STORE or SEARCH (RFC 3501
  7.4.1); a FETCH answered OK returns every number it asked for;
- no BAD to a well-formed command, no [SERVERBUG] anywhere;
- APPENDUID / COPYUID name new UIDs (at or above the highest UIDNEXT and
  above every UID any session saw before the command) in the known
  UIDVALIDITY; APPEND or COPY to the selected mailbox announces the new
  messages with EXISTS before it completes (RFC 3501 5.2: a size change
  observed while processing a command is reported);
- MOVE removes, before OK, the messages it reports as moved; EXPUNGE those
  the session marked \\Deleted itself (or a NOOP right after it does, when
  another session expunged them first);
- UIDVALIDITY never changes, UIDNEXT never falls below a UID already seen.

World holds what all sessions of one run have seen (UIDVALIDITY and the
UID high-water mark per mailbox); sessions run in one asyncio loop, so an
observation recorded before a command is sent really happened before it.
"""
import asyncio
import collections
import re
import ssl
import time

LITERAL = re.compile(rb"\{(\d+)\+?\}\r\n$")
CODE = re.compile(r"^\[([^\]]*)\]")
TRANSCRIPT_LINES = 60


class Fault(Exception):
    """A response that contradicts what the session knows: a server fault."""


class ConnectionLost(Exception):
    pass


def quote(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def tls_context(ca):
    ctx = ssl.create_default_context(cafile=ca) if ca else ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    if not ca:
        ctx.verify_mode = ssl.CERT_NONE
    return ctx


# ------------------------------------------------------------------ parsing
def parse(data, pos=0):
    """Parses IMAP data (literal contents inline after their {n}\\r\\n) into
    lists (parenthesised), bytes (atoms, strings, literals) and None (NIL),
    up to the end of `data`. Atoms keep [...] sections whole."""
    out, stack = [], []
    n = len(data)
    while pos < n:
        c = data[pos]
        if c in b" \r\n":
            pos += 1
        elif c == ord("("):
            stack.append(out)
            out = []
            pos += 1
        elif c == ord(")"):
            if not stack:
                raise ValueError("unbalanced ) at %d" % pos)
            done, out = out, stack.pop()
            out.append(done)
            pos += 1
        elif c == ord('"'):
            pos += 1
            buf = bytearray()
            while data[pos] != ord('"'):
                if data[pos] == ord("\\"):
                    pos += 1
                buf.append(data[pos])
                pos += 1
            out.append(bytes(buf))
            pos += 1
        elif c == ord("{"):
            end = data.index(b"}", pos)
            size = int(data[pos + 1:end].rstrip(b"+"))
            start = data.index(b"\n", end) + 1
            out.append(data[start:start + size])
            pos = start + size
        else:
            start = pos
            depth = 0
            while pos < n:
                c = data[pos]
                if c == ord("["):
                    depth += 1
                elif c == ord("]"):
                    depth -= 1
                elif depth == 0 and c in b" ()\r\n":
                    break
                pos += 1
            atom = data[start:pos]
            out.append(None if atom.upper() == b"NIL" else atom)
    if stack:
        raise ValueError("unbalanced (")
    return out


def status_parts(text):
    """'[CODE args] text' -> (CODE upper, args, text)."""
    m = CODE.match(text)
    if not m:
        return None, "", text
    inner = m.group(1)
    name, _, args = inner.partition(" ")
    return name.upper(), args, text[m.end():].strip()


def seqset(numbers):
    """[3, 4, 5, 9] -> '3:5,9'."""
    numbers = sorted(set(numbers))
    parts, i = [], 0
    while i < len(numbers):
        j = i
        while j + 1 < len(numbers) and numbers[j + 1] == numbers[j] + 1:
            j += 1
        parts.append(str(numbers[i]) if i == j else "%d:%d" % (numbers[i], numbers[j]))
        i = j + 1
    return ",".join(parts)


def expand(spec, largest):
    """'3:5,9' -> [3, 4, 5, 9]; '*' is `largest`."""
    out = []
    for part in spec.split(","):
        a, _, b = part.partition(":")
        a = largest if a == "*" else int(a)
        b = a if not b else (largest if b == "*" else int(b))
        lo, hi = min(a, b), max(a, b)
        out.extend(range(lo, hi + 1))
    return out


# ------------------------------------------------------------------- state
class World:
    """What every session of a run has seen, per (owner, mailbox name)."""

    def __init__(self):
        self.uidvalidity = {}
        self.uid_floor = collections.defaultdict(int)  # new UIDs are at least this

    def saw_uid(self, mailbox, uid):
        if uid + 1 > self.uid_floor[mailbox]:
            self.uid_floor[mailbox] = uid + 1


class Message:
    __slots__ = ("uid", "flags")

    def __init__(self):
        self.uid = None
        self.flags = None


class Selected:
    def __init__(self, mailbox):
        self.mailbox = mailbox  # canonical name
        self.msgs = []
        self.flags = None  # the mailbox's FLAGS
        self.uidvalidity = None
        self.uidnext = None
        self.seen_exists = False
        # by UID: flags every later FETCH must show, or must not show
        self.must_have = {}
        self.must_lack = {}

    def seq_of(self, uid):
        for i, m in enumerate(self.msgs):
            if m.uid == uid:
                return i + 1
        return None


class Answer:
    def __init__(self, status, code, code_args, text, seconds):
        self.status, self.code, self.code_args, self.text, self.seconds = status, code, code_args, text, seconds
        self.untagged = []  # (kind, value) in order
        self.fetches = []  # (seq, dict of items)

    @property
    def ok(self):
        return self.status == "OK"


class Stats:
    def __init__(self):
        self.latency = collections.defaultdict(list)
        self.answers = collections.defaultdict(collections.Counter)

    def clear(self):
        self.latency.clear()
        self.answers.clear()

    def add(self, name, answer):
        self.latency[name].append(answer.seconds)
        key = answer.status + (" [%s]" % answer.code if answer.code and answer.status != "OK" else "")
        self.answers[name][key] += 1


# ----------------------------------------------------------------- session
class Session:
    """One persistent IMAP connection and the state it may rely on.

    `mailbox_name` maps canonical names to this session's wire names (a
    second user sees the same folder under its other-users prefix).
    `exclusive` says no other session writes the mailboxes this one selects.
    `keyword` is the keyword only this session sets or clears. `owner`
    names whose mailboxes these are (World keeps them apart by it)."""

    def __init__(self, sid, world, stats, host, port, ca, user, password, prefix="", exclusive=False, owner=None):
        self.sid, self.world, self.stats = sid, world, stats
        self.host, self.port, self.ca = host, port, ca
        self.user, self.password, self.prefix = user, password, prefix
        self.owner = owner or user
        self.exclusive = exclusive
        self.keyword = "$s%d" % sid
        self.sel = None
        self.transcript = collections.deque(maxlen=TRANSCRIPT_LINES)
        self.faults = []
        self.tag = 0
        self.storing = set()  # UIDs of this session's STORE in progress
        self.reader = self.writer = None

    # --- wire
    def key(self, mailbox):
        return (self.owner, mailbox)

    def wire(self, mailbox):
        return self.prefix + mailbox if mailbox.upper() != "INBOX" else "INBOX"

    def canonical(self, wire):
        if wire.upper() == "INBOX":
            return "INBOX"
        return wire[len(self.prefix):] if wire.startswith(self.prefix) else None

    def log(self, direction, data):
        text = data.decode("utf-8", "replace").rstrip("\r\n")
        if len(text) > 300:
            text = text[:300] + "...(%d bytes)" % len(text)
        self.transcript.append("%s %s" % (direction, text))

    def fault(self, text):
        self.faults.append({"session": self.sid, "user": self.user, "fault": text,
                            "transcript": list(self.transcript)})
        raise Fault(text)

    async def connect(self):
        self.reader, self.writer = await asyncio.open_connection(
            self.host, self.port, ssl=tls_context(self.ca), server_hostname="localhost", limit=1 << 24)
        greeting = await self.reader.readline()
        self.log("S:", greeting)
        if not greeting.startswith(b"* OK"):
            self.fault("greeting %r" % greeting)
        answer = await self.command("LOGIN", "LOGIN %s %s" % (quote(self.user), quote(self.password)))
        if not answer.ok:
            self.fault("LOGIN refused: %s %s" % (answer.status, answer.text))

    async def close(self):
        if self.writer is None:
            return
        try:
            self.writer.write(b"z LOGOUT\r\n")
            await asyncio.wait_for(self.writer.drain(), 5)
            self.writer.close()
        except Exception:
            pass

    async def read_response(self):
        """One response with its literals inline."""
        line = await self.reader.readline()
        if not line:
            raise ConnectionLost("connection closed")
        parts = [line]
        while True:
            m = LITERAL.search(line)
            if not m:
                break
            parts.append(await self.reader.readexactly(int(m.group(1))))
            line = await self.reader.readline()
            if not line:
                raise ConnectionLost("connection closed inside a response")
            parts.append(line)
        data = b"".join(parts)
        self.log("S:", data)
        return data

    async def command(self, name, text, literal=None):
        """Sends `tag text` (with `literal` sent after the continuation
        request), applies every response to the model and returns the
        Answer. `name` is the command ("UID FETCH", ...): it rules which
        untagged responses may come (FETCH, STORE, SEARCH forbid EXPUNGE)."""
        self.tag += 1
        tag = b"t%d" % self.tag
        started = time.perf_counter()
        head = tag + b" " + text.encode()
        if literal is not None:
            head += b" {%d}" % len(literal)
        self.writer.write(head + b"\r\n")
        await self.writer.drain()
        self.log("C:", head)
        answer = Answer(None, None, "", "", 0.0)
        pending = literal
        while True:
            data = await self.read_response()
            if data.startswith(b"+"):
                if pending is None:
                    self.fault("a continuation request nobody asked for")
                self.writer.write(pending + b"\r\n")
                await self.writer.drain()
                self.log("C:", b"(literal of %d bytes)" % len(pending))
                pending = None
                continue
            if data.startswith(tag + b" "):
                break
            self.untagged(data, name, answer)
        answer.seconds = time.perf_counter() - started
        status_text = data[len(tag) + 1:].decode("utf-8", "replace").rstrip("\r\n")
        status, _, rest = status_text.partition(" ")
        code, code_args, text_part = status_parts(rest)
        answer.status, answer.code, answer.code_args, answer.text = status.upper(), code, code_args, text_part
        self.stats.add(name, answer)
        if code == "SERVERBUG":
            self.fault("[SERVERBUG] answer to %s: %s" % (name, status_text))
        if answer.status == "BAD":
            self.fault("BAD answer to a well-formed %s: %s" % (name, status_text))
        if answer.status not in ("OK", "NO"):
            self.fault("tagged answer %r" % status_text)
        return answer

    # --- untagged responses
    def untagged(self, data, kind, answer):
        if not data.startswith(b"* "):
            self.fault("not a response: %r" % data[:200])
        if b"[SERVERBUG" in data.split(b"\r\n", 1)[0].upper():
            self.fault("untagged [SERVERBUG]")
        words = data[2:].split(b" ", 2)
        first = words[0].upper()
        if first.isdigit() and len(words) > 1:
            number, what = int(first), words[1].upper().rstrip(b"\r\n")
            if what == b"EXISTS":
                self.on_exists(number)
            elif what == b"EXPUNGE":
                self.on_expunge(number, kind)
                answer.untagged.append(("EXPUNGE", number))
            elif what == b"RECENT":
                pass
            elif what == b"FETCH":
                items = parse(data, data.index(b"FETCH") + 5)
                if len(items) != 1 or not isinstance(items[0], list) or len(items[0]) % 2:
                    self.fault("malformed FETCH response")
                pairs = items[0]
                fetched = {pairs[i].upper().decode(): pairs[i + 1] for i in range(0, len(pairs), 2)}
                self.on_fetch(number, fetched, kind)
                answer.fetches.append((number, fetched))
            else:
                self.fault("unknown response %r" % data[:100])
            return
        if first in (b"OK", b"NO", b"BAD", b"BYE"):
            rest = data[2 + len(first) + 1:].decode("utf-8", "replace").rstrip("\r\n")
            code, args, _ = status_parts(rest)
            if first == b"BAD":
                self.fault("untagged BAD: %s" % rest)
            if first == b"BYE":
                raise ConnectionLost("BYE: %s" % rest)
            if code:
                self.on_code(code, args, answer)
            return
        if first == b"FLAGS":
            flags = parse(data, 8)[0]
            if self.sel is not None:
                self.sel.flags = {f.decode() for f in flags}
            return
        rest = data[2 + len(first):]
        answer.untagged.append((first.decode(), rest))

    def on_code(self, code, args, answer):
        sel = self.sel
        if code == "UIDVALIDITY" and sel is not None:
            sel.uidvalidity = int(args)
        elif code == "UIDNEXT" and sel is not None:
            sel.uidnext = int(args)
        elif code == "COPYUID":
            answer.untagged.append(("COPYUID", args))

    def on_exists(self, n):
        sel = self.sel
        if sel is None:
            self.fault("EXISTS with no mailbox selected")
        if n < len(sel.msgs):
            self.fault("EXISTS %d after %d without EXPUNGE" % (n, len(sel.msgs)))
        sel.msgs.extend(Message() for _ in range(n - len(sel.msgs)))
        sel.seen_exists = True

    def on_expunge(self, n, kind):
        sel = self.sel
        if sel is None:
            self.fault("EXPUNGE with no mailbox selected")
        if kind in ("FETCH", "STORE", "SEARCH"):
            self.fault("untagged EXPUNGE %d while answering %s (RFC 3501 7.4.1)" % (n, kind))
        if not 1 <= n <= len(sel.msgs):
            self.fault("EXPUNGE %d with %d messages" % (n, len(sel.msgs)))
        del sel.msgs[n - 1]

    def on_fetch(self, n, items, kind):
        sel = self.sel
        if sel is None:
            self.fault("FETCH with no mailbox selected")
        if not 1 <= n <= len(sel.msgs):
            self.fault("FETCH %d with %d messages" % (n, len(sel.msgs)))
        msg = sel.msgs[n - 1]
        uid = items.get("UID")
        if uid is not None:
            uid = int(uid)
            if msg.uid is None:
                lower = next((m.uid for m in reversed(sel.msgs[:n - 1]) if m.uid is not None), 0)
                upper = next((m.uid for m in sel.msgs[n:] if m.uid is not None), None)
                if uid <= lower or (upper is not None and uid >= upper):
                    self.fault("FETCH %d has UID %d, not between its neighbours' %s and %s" % (n, uid, lower, upper))
                msg.uid = uid
            elif msg.uid != uid:
                self.fault("FETCH %d has UID %d; that number was UID %d" % (n, uid, msg.uid))
            self.world.saw_uid(self.key(sel.mailbox), uid)
        flags = items.get("FLAGS")
        if flags is not None:
            names = {f.decode() for f in flags}
            unannounced = {f for f in names if not f.startswith("\\")} - (sel.flags or set())
            if unannounced:
                self.fault("FETCH %d FLAGS has %s, which the mailbox's FLAGS %s did not announce"
                           % (n, " ".join(sorted(unannounced)), sorted(sel.flags or ())))
            if msg.uid is not None and msg.uid not in self.storing:
                for flag in sel.must_have.get(msg.uid, ()):
                    if flag not in names:
                        self.fault("FETCH %d (UID %d) FLAGS %s without %s, which %s" % (
                            n, msg.uid, sorted(names), flag, "no session clears" if flag == "\\Deleted"
                            else "this session set and only it changes (an overwritten STORE?)"))
                for flag in sel.must_lack.get(msg.uid, ()):
                    if flag in names:
                        self.fault("FETCH %d (UID %d) FLAGS %s with %s, which this session cleared and only it "
                                   "changes (an overwritten STORE?)" % (n, msg.uid, sorted(names), flag))
                if "\\Deleted" in names:
                    sel.must_have.setdefault(msg.uid, set()).add("\\Deleted")
            msg.flags = names

    # --- commands with their checks
    async def select(self, mailbox, examine=False):
        verb = "EXAMINE" if examine else "SELECT"
        self.sel = Selected(mailbox)
        floor = self.world.uid_floor[self.key(mailbox)]
        answer = await self.command(verb, "%s %s" % (verb, quote(self.wire(mailbox))))
        if not answer.ok:
            self.sel = None
            self.fault("%s of an existing mailbox refused: %s %s" % (verb, answer.code, answer.text))
        sel = self.sel
        if not sel.seen_exists or sel.flags is None or sel.uidvalidity is None:
            self.fault("%s without EXISTS, FLAGS or UIDVALIDITY" % verb)
        self.check_uidvalidity(mailbox, sel.uidvalidity)
        if sel.uidnext is not None:
            if sel.uidnext < floor:
                self.fault("UIDNEXT %d but UID %d was seen before" % (sel.uidnext, floor - 1))
            self.world.saw_uid(self.key(mailbox), sel.uidnext - 1)
        if sel.msgs:
            await self.fetch("1:*", "(UID FLAGS)", uid=True)
        return answer

    def check_uidvalidity(self, mailbox, value):
        known = self.world.uidvalidity.setdefault(self.key(mailbox), value)
        if known != value:
            self.fault("UIDVALIDITY of %s changed from %d to %d" % (mailbox, known, value))

    async def fetch(self, spec, items, uid=False):
        """FETCH or UID FETCH; an OK answer must answer every message asked
        for that still exists in this session's view."""
        sel = self.sel
        if uid:
            known = [m.uid for m in sel.msgs if m.uid is not None]
            wanted = set(expand(spec, max(known, default=0))) & set(known)
        else:
            wanted = set(expand(spec, len(sel.msgs)))
        name = "UID FETCH" if uid else "FETCH"
        answer = await self.command(name, "%s %s %s" % (name, spec, items))
        if answer.ok:
            if uid:
                got = {int(i["UID"]) for _, i in answer.fetches if "UID" in i}
                missing = {u for u in wanted - got if sel.seq_of(u) is not None}
            else:
                got = {seq for seq, _ in answer.fetches}
                missing = wanted - got
            if missing:
                self.fault("%s %s answered OK without %s" % (name, spec, seqset(missing)))
        return answer

    async def store(self, uids, op, flags, by_seq=False):
        """UID STORE (or STORE of their sequence numbers) op FLAGS (flags).
        The last FETCH for each message of the set must show the change to
        the flags this session owns; from then on every FETCH must show the
        session's keyword as the session left it (no other session touches
        it: a change means another session's STORE overwrote this one)."""
        sel = self.sel
        name = "STORE" if by_seq else "UID STORE"
        spec = seqset(sel.seq_of(u) for u in uids) if by_seq else seqset(uids)
        self.storing = set(uids)
        try:
            answer = await self.command(name, "%s %s %s (%s)" % (name, spec, op, " ".join(flags)))
        finally:
            self.storing = set()
        owned = set(flags) if self.exclusive else {f for f in flags if f in (self.keyword, "\\Deleted")}
        targets = set(uids)
        last = {}  # the last flags reported for each message of the set, by UID
        for seq, items in answer.fetches:
            if "FLAGS" not in items:
                continue
            # UID STORE's own answers carry UID; a STORE of numbers sees no EXPUNGE
            uid = int(items["UID"]) if "UID" in items else (sel.msgs[seq - 1].uid if by_seq else None)
            if uid in targets:
                last[uid] = {f.decode() for f in items["FLAGS"]}
        # RFC 5530 EXPUNGEISSUED: messages expunged meanwhile were passed
        # over, and what was last told of those is from before the STORE;
        # which ones is not said, so the session's keyword on the whole set
        # is unknown until it is told again.
        if answer.code == "EXPUNGEISSUED":
            for uid in targets:
                sel.must_have.get(uid, set()).discard(self.keyword)
                sel.must_lack.get(uid, set()).discard(self.keyword)
            answer.flags_after = last
            return answer
        for uid, have in last.items():
            if op == "+FLAGS" and not owned <= have:
                self.fault("after STORE +FLAGS %s, UID %d has FLAGS %s" % (" ".join(sorted(owned)), uid, sorted(have)))
            if op == "-FLAGS" and owned & have:
                self.fault("after STORE -FLAGS %s, UID %d has FLAGS %s" % (" ".join(sorted(owned)), uid, sorted(have)))
            if "\\Deleted" in have:
                sel.must_have.setdefault(uid, set()).add("\\Deleted")
            if self.keyword in flags:
                (sel.must_have if op == "+FLAGS" else sel.must_lack).setdefault(uid, set()).add(self.keyword)
                (sel.must_lack if op == "+FLAGS" else sel.must_have).get(uid, set()).discard(self.keyword)
        answer.flags_after = last
        return answer

    async def expunge(self, uids, uid_expunge=False):
        """(UID) EXPUNGE after this session marked `uids` \\Deleted: none of
        them may be left once it (or, when another session expunged them
        first, a NOOP after it) answers OK."""
        if uid_expunge:
            answer = await self.command("UID EXPUNGE", "UID EXPUNGE %s" % seqset(uids))
        else:
            answer = await self.command("EXPUNGE", "EXPUNGE")
        if answer.ok:
            left = [u for u in uids if self.sel.seq_of(u) is not None]
            if left:
                # another session may have expunged them first: the poll that
                # follows must report it at the latest
                await self.noop()
                left = [u for u in left if self.sel.seq_of(u) is not None]
            if left:
                self.fault("%s answered OK, and the NOOP after it too, but UIDs %s marked \\Deleted are still there"
                           % ("UID EXPUNGE" if uid_expunge else "EXPUNGE", seqset(left)))
        return answer

    async def append(self, mailbox, message, flags=""):
        floor = self.world.uid_floor[self.key(mailbox)]
        selected = self.sel is not None and self.sel.mailbox == mailbox
        before = len(self.sel.msgs) if selected else None
        answer = await self.command("APPEND", "APPEND %s (%s)" % (quote(self.wire(mailbox)), flags), literal=message)
        if not answer.ok:
            self.fault("APPEND refused: %s %s" % (answer.code, answer.text))
        if answer.code == "APPENDUID":
            validity, uid = (int(x) for x in answer.code_args.split())
            self.check_uidvalidity(mailbox, validity)
            if uid < floor:
                self.fault("APPENDUID %d is not new: UID %d was seen before" % (uid, floor - 1))
            self.world.saw_uid(self.key(mailbox), uid)
        if selected and self.grown(answer, before) < 1:
            self.fault("APPEND to the selected mailbox answered OK without EXISTS")
        return answer

    def grown(self, answer, before):
        """How many messages arrived in the selected mailbox during `answer`."""
        expunged = sum(1 for k, _ in answer.untagged if k == "EXPUNGE")
        return len(self.sel.msgs) + expunged - before

    async def copy(self, uids, target, move=False):
        """UID COPY or UID MOVE of `uids` to `target`; checks COPYUID and,
        for MOVE, that the moved messages left this session's view."""
        floor = self.world.uid_floor[self.key(target)]
        sel = self.sel
        into_selected = sel.mailbox == target
        before = len(sel.msgs)
        verb = "MOVE" if move else "COPY"
        answer = await self.command("UID " + verb, "UID %s %s %s" % (verb, seqset(uids), quote(self.wire(target))))
        if not answer.ok:
            return answer
        args = answer.code_args if answer.code == "COPYUID" else next(
            (v for k, v in answer.untagged if k == "COPYUID"), None)
        if args is not None:
            validity, src, dst = args.split()
            self.check_uidvalidity(target, int(validity))
            src, dst = expand(src, 0), expand(dst, 0)
            if len(src) != len(dst):
                self.fault("COPYUID with %d source and %d target UIDs" % (len(src), len(dst)))
            if not set(src) <= set(uids):
                self.fault("COPYUID names source UIDs %s that were not asked for" % seqset(set(src) - set(uids)))
            if min(dst) < floor:
                self.fault("COPYUID target UID %d is not new: UID %d was seen before" % (min(dst), floor - 1))
            for u in dst:
                self.world.saw_uid(self.key(target), u)
            if move:
                left = [u for u in src if sel.seq_of(u) is not None]
                if left and not into_selected:
                    self.fault("MOVE answered OK but moved UIDs %s are still in the source" % seqset(left))
            if into_selected and not move and self.grown(answer, before) < len(dst):
                self.fault("COPY to the selected mailbox answered OK without EXISTS for all %d copies" % len(dst))
        return answer

    async def search(self, criteria, uid=False):
        answer = await self.command("UID SEARCH" if uid else "SEARCH",
                                    "%sSEARCH %s" % ("UID " if uid else "", criteria))
        found = []
        for k, v in answer.untagged:
            if k == "SEARCH":
                found.extend(int(x) for x in v.split())
        if not uid:
            bad = [n for n in found if not 1 <= n <= len(self.sel.msgs)]
            if bad:
                self.fault("SEARCH found %s with %d messages" % (seqset(bad), len(self.sel.msgs)))
        return answer, found

    async def status(self, mailbox):
        floor = self.world.uid_floor[self.key(mailbox)]
        answer = await self.command("STATUS", "STATUS %s (MESSAGES UIDNEXT UIDVALIDITY UNSEEN)" % quote(self.wire(mailbox)))
        if not answer.ok:
            self.fault("STATUS of an existing mailbox refused: %s %s" % (answer.code, answer.text))
        for k, v in answer.untagged:
            if k == "STATUS":
                items = parse(v)[-1]
                values = {items[i].decode().upper(): int(items[i + 1]) for i in range(0, len(items), 2)}
                self.check_uidvalidity(mailbox, values["UIDVALIDITY"])
                if values["UIDNEXT"] < floor:
                    self.fault("STATUS UIDNEXT %d but UID %d was seen before" % (values["UIDNEXT"], floor - 1))
                self.world.saw_uid(self.key(mailbox), values["UIDNEXT"] - 1)
        return answer

    async def list(self, expected):
        answer = await self.command("LIST", 'LIST "" "*"')
        names = set()
        for k, v in answer.untagged:
            if k == "LIST":
                name = parse(v)[-1]
                names.add(self.canonical(name.decode("utf-8", "replace")))
        missing = [m for m in expected if m not in names and m != "INBOX"]
        if missing:
            self.fault("LIST without %s" % ", ".join(missing))
        return answer

    async def noop(self):
        return await self.command("NOOP", "NOOP")
