// imapflow (a real client library) syncs INBOX with COMPRESS, CONDSTORE
// and QRESYNC on, keeps a local copy of UIDs and flags, lets another
// session flag and expunge, then resynchronises with SELECT (QRESYNC ...)
// and applies only what that told it. Prints JSON: what was negotiated,
// what the resync told, and whether the local copy then equals the
// server's state (read afresh with a full FETCH); then creates, lists and
// deletes a mailbox named outside ASCII (with UTF8=ACCEPT, which imapflow
// enables where offered, as UTF-8).
//
// usage: node sync.mjs PORT CA_FILE USER PASSWORD
import fs from 'node:fs';
import { ImapFlow } from 'imapflow';

const [port, caFile, user, pass] = process.argv.slice(2);
const ca = fs.readFileSync(caFile);
const client = qresync =>
    new ImapFlow({
        host: '127.0.0.1',
        port: Number(port),
        secure: true,
        tls: { ca, servername: 'localhost' },
        auth: { user, pass },
        logger: false,
        qresync
    });
// \Recent is the session's, not the message's: left out of both copies.
const sorted = flags => [...flags].filter(f => f !== '\\Recent').sort();

async function state(c) {
    const found = new Map();
    for await (const m of c.fetch('1:*', { uid: true, flags: true })) {
        found.set(m.uid, sorted(m.flags));
    }
    return found;
}

const out = {};
const main = client(true);
await main.connect();
out.compressed = Boolean(main._deflate);
out.enabled = [...main.enabled].sort();
let mailbox = await main.mailboxOpen('INBOX');
const known = { uidValidity: mailbox.uidValidity, changedSince: mailbox.highestModseq };
out.highestModseq = String(mailbox.highestModseq);
const local = await state(main);
out.before = local.size;
await main.mailboxClose();

// Another session, without QRESYNC, changes the mailbox meanwhile.
const other = client(false);
await other.connect();
await other.mailboxOpen('INBOX');
const uids = [...local.keys()].sort((a, b) => a - b);
await other.messageFlagsAdd(String(uids[1]), ['\\Flagged'], { uid: true });
await other.messageFlagsAdd(String(uids[3]), ['$Label1'], { uid: true });
await other.messageDelete(String(uids[2]), { uid: true });
await other.logout();

const vanished = [];
const changed = [];
main.on('expunge', e => vanished.push(e.uid));
main.on('flags', f => changed.push({ uid: f.uid, flags: sorted(f.flags), modseq: String(f.modseq) }));
mailbox = await main.mailboxOpen('INBOX', known);
out.resyncHighestModseq = String(mailbox.highestModseq);
for (const uid of vanished) {
    local.delete(uid);
}
for (const change of changed) {
    local.set(change.uid, change.flags);
}
out.vanished = vanished;
out.changed = changed;
const server = await state(main);
out.local = Object.fromEntries(local);
out.server = Object.fromEntries(server);
out.matches = JSON.stringify([...local].sort()) === JSON.stringify([...server].sort());
// A mailbox named outside ASCII, which UTF8=ACCEPT sends as it is.
await main.mailboxCreate('Ärger & Co');
out.listed = (await main.list()).map(m => m.path).sort();
await main.mailboxDelete('Ärger & Co');
await main.logout();
console.log(JSON.stringify(out));
