//! The SMTP journal receiver (`serve --smtp`), through a real socket:
//! routing to users' archives (BCC journaling by the header, per-user
//! addresses by the envelope, the catch-all), the bytes archived exactly as
//! sent (read back over IMAP), a retry filed once, and the protocol's edges
//! (pipelining, BDAT chunks, size and recipient limits, who may deliver,
//! STARTTLS and AUTH PLAIN).

mod common;

use std::net::{IpAddr, Ipv4Addr, TcpStream};

use common::Archimap;
use common::imap::{Client, Server, tcp_from};
use common::postfix::{Journaling, Postfix};
use common::slapd::{GROUP_DN, Slapd};

const CONFIG: &str = r#"
[smtp]
allowed_clients = ["127.0.0.1/32"]
plaintext_from_allowed = true
archive_domain = "archive.example"
catch_all = "catchall"
max_message_size = 100000
max_recipients = 5
"#;

fn archive() -> Archimap {
    let am = Archimap::with_alice();
    am.ok(&[
        "user",
        "add",
        "bob",
        "--password",
        "builder",
        "--email",
        "bob@example.com",
    ]);
    am.ok(&["user", "add", "catchall", "--password", "everything"]);
    am.ok(&[
        "user",
        "add",
        "root",
        "--password",
        "pw-root",
        "--privileges",
        "admin",
    ]);
    am.ok(&[
        "user",
        "add",
        "feeder",
        "--password",
        "feedme",
        "--privileges",
        "archive",
    ]);
    am
}

/// A server with the users of [`archive`] and an SMTP receiver, and a
/// client from an allowed address that said EHLO as `client`.
fn receiver(client: &str) -> (Archimap, Server, Smtp) {
    let am = archive();
    let server = Server::start_with_smtp(&am, CONFIG);
    let mut smtp = Smtp::connect(&server, [127, 0, 0, 1]);
    assert_eq!(smtp.say(&format!("EHLO {client}")), 250);
    (am, server, smtp)
}

/// An SMTP client on the receiver, from loopback address `ip`.
struct Smtp {
    client: Client,
    tcp: TcpStream,
}

impl Smtp {
    fn connect(server: &Server, ip: [u8; 4]) -> Smtp {
        let ip = IpAddr::V4(Ipv4Addr::from(ip));
        let tcp = tcp_from(ip, server.smtp.expect("an SMTP listener"));
        let mut smtp = Smtp {
            client: server.connect_plain_from(tcp.try_clone().unwrap()),
            tcp,
        };
        assert_eq!(smtp.reply().0, 220);
        smtp
    }

    /// The next reply: its code and its lines' texts.
    fn reply(&mut self) -> (u16, Vec<String>) {
        let mut lines = Vec::new();
        loop {
            let line = self.client.line();
            assert!(
                line.len() >= 4,
                "a reply line, got {line:?} after {lines:?}"
            );
            let code: u16 = line[..3].parse().unwrap();
            lines.push(line[4..].trim_end().to_string());
            if &line[3..4] == " " {
                return (code, lines);
            }
        }
    }

    /// Sends `line` and returns the code of its reply.
    fn say(&mut self, line: &str) -> u16 {
        self.client.send(&format!("{line}\r\n"));
        self.reply().0
    }

    fn starttls(self, server: &Server) -> Smtp {
        let Smtp { mut client, tcp } = self;
        client.send("STARTTLS\r\n");
        let mut smtp = Smtp { client, tcp };
        assert_eq!(smtp.reply().0, 220);
        let client = server.upgrade(smtp.client, smtp.tcp.try_clone().unwrap());
        Smtp {
            client,
            tcp: smtp.tcp,
        }
    }

    /// `message` from `from` to the journal address; the final reply's code.
    fn journal(&mut self, from: &str, message: &[u8]) -> u16 {
        self.send_mail(from, &["journal@archive.example"], message)
    }

    /// A whole transaction with DATA; the final reply's code.
    fn send_mail(&mut self, from: &str, to: &[&str], message: &[u8]) -> u16 {
        assert_eq!(self.say(&format!("MAIL FROM:<{from}>")), 250);
        for rcpt in to {
            assert_eq!(self.say(&format!("RCPT TO:<{rcpt}>")), 250);
        }
        assert_eq!(self.say("DATA"), 354);
        self.client.send_bytes(&dot_stuffed(message));
        self.client.send(".\r\n");
        self.reply().0
    }
}

/// `message` as DATA carries it: lines starting with `.` get another.
fn dot_stuffed(message: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for line in message.split_inclusive(|&b| b == b'\n') {
        if line.starts_with(b".") {
            out.push(b'.');
        }
        out.extend_from_slice(line);
    }
    out
}

/// Every message of `folder` as `user` reads it over IMAP (BODY[]).
fn messages(server: &Server, user: &str, password: &str, folder: &str) -> Vec<Vec<u8>> {
    let mut imap = server.connect_tls();
    imap.line();
    assert!(
        imap.answer("l", &format!("LOGIN {user} {password}"))
            .starts_with("l OK")
    );
    let selected = imap.command("s", &format!("EXAMINE \"{folder}\""));
    if !selected.last().unwrap().starts_with("s OK")
        || selected.iter().any(|l| l == "* 0 EXISTS\r\n")
    {
        return Vec::new();
    }
    imap.send("f FETCH 1:* BODY.PEEK[]\r\n");
    let mut bodies = Vec::new();
    loop {
        let line = imap.line();
        if line.starts_with("f ") {
            assert!(line.starts_with("f OK") || line.contains("FETCH"), "{line}");
            return bodies;
        }
        let size: usize = line
            .rsplit_once('{')
            .and_then(|(_, n)| n.trim_end().strip_suffix('}'))
            .expect("a literal")
            .parse()
            .unwrap();
        bodies.push(imap.bytes(size));
        imap.line();
    }
}

fn mail(from: &str, to: &str, subject: &str) -> Vec<u8> {
    format!(
        "From: {from}\r\nTo: {to}\r\nSubject: {subject}\r\nMessage-ID: <{subject}@example.com>\r\n\r\nHello,\r\n.a line that starts with a dot\r\n..and two\r\n\r\nregards\r\n"
    )
    .into_bytes()
}

#[test]
fn bcc_journaling_files_sent_and_received_copies_exactly() {
    let am = archive();
    let server = Server::start_with_smtp(&am, CONFIG);
    let mut smtp = Smtp::connect(&server, [127, 0, 0, 1]);
    let (code, ehlo) = {
        smtp.client.send("EHLO mta.example.com\r\n");
        smtp.reply()
    };
    assert_eq!(code, 250);
    for extension in [
        "PIPELINING",
        "SIZE 100000",
        "8BITMIME",
        "SMTPUTF8",
        "CHUNKING",
        "ENHANCEDSTATUSCODES",
        "STARTTLS",
    ] {
        assert!(
            ehlo.iter().any(|l| l == extension),
            "{extension} in {ehlo:?}"
        );
    }
    // Plaintext: no AUTH offered before TLS.
    assert!(!ehlo.iter().any(|l| l.starts_with("AUTH")), "{ehlo:?}");

    // Internal mail: alice's Sent Items and bob's Inbox; the Cc nobody has
    // is left out. The journal address is the only envelope recipient.
    let message = mail(
        "Alice <alice@example.com>",
        "bob@example.com, outsider@elsewhere.example",
        "internal",
    );
    assert_eq!(smtp.journal("alice@example.com", &message), 250);
    assert_eq!(
        messages(&server, "alice", "wonderland", "Sent Items"),
        vec![message.clone()]
    );
    assert_eq!(
        messages(&server, "bob", "builder", "INBOX"),
        vec![message.clone()]
    );
    assert!(messages(&server, "alice", "wonderland", "INBOX").is_empty());

    // The MTA retries (its connection broke before our 250 reached it):
    // nothing is filed twice.
    assert_eq!(smtp.journal("alice@example.com", &message), 250);
    assert_eq!(messages(&server, "bob", "builder", "INBOX").len(), 1);

    // Nobody's addresses: the catch-all archive.
    let stranger = mail("x@elsewhere.example", "y@elsewhere.example", "stranger");
    assert_eq!(smtp.journal("x@elsewhere.example", &stranger), 250);
    assert_eq!(
        messages(&server, "catchall", "everything", "catchall"),
        vec![stranger]
    );
    assert_eq!(smtp.say("QUIT"), 221);
}

#[test]
fn per_user_addresses_route_by_the_envelope() {
    let (am, server, mut smtp) = receiver("mta");
    // Bob is in neither From nor To (a Bcc): his Inbox all the same.
    let message = mail("news@elsewhere.example", "alice@example.com", "per-user");
    assert_eq!(
        smtp.send_mail(
            "news@elsewhere.example",
            &["alice@archive.example", "journal+bob@archive.example"],
            &message
        ),
        250
    );
    assert_eq!(
        messages(&server, "alice", "wonderland", "INBOX"),
        vec![message.clone()]
    );
    assert_eq!(messages(&server, "bob", "builder", "INBOX"), vec![message]);
    assert!(server.logged("journaled a message"));
    // The routing is in the audit log: a record per place, with the
    // address that routed it there.
    let audit = am.ok(&["audit", "--action", "message_archived"]);
    let records: Vec<&str> = audit.lines().filter(|l| l.contains("smtp")).collect();
    assert_eq!(records.len(), 2, "{audit}");
    for (place, address) in [
        ("alice/Inbox", "alice@archive.example"),
        ("bob/Inbox", "journal+bob@archive.example"),
    ] {
        assert!(
            records
                .iter()
                .any(|r| r.contains(place) && r.contains(address)),
            "{place} by {address} in {audit}"
        );
    }
}

#[test]
fn pipelined_commands_and_bdat_chunks() {
    let am = archive();
    let server = Server::start_with_smtp(&am, CONFIG);
    let mut smtp = Smtp::connect(&server, [127, 0, 0, 1]);
    let message = mail("alice@example.com", "bob@example.com", "chunked");
    let (first, second) = message.split_at(40);
    // Everything in one write: each command is answered in order.
    let mut burst = format!(
        "EHLO mta\r\nMAIL FROM:<alice@example.com> BODY=8BITMIME SMTPUTF8\r\nRCPT TO:<journal@archive.example>\r\nBDAT {}\r\n",
        first.len()
    )
    .into_bytes();
    burst.extend_from_slice(first);
    burst.extend_from_slice(format!("BDAT {} LAST\r\n", second.len()).as_bytes());
    burst.extend_from_slice(second);
    burst.extend_from_slice(b"RSET\r\n");
    smtp.client.send_bytes(&burst);
    let codes: Vec<u16> = (0..6).map(|_| smtp.reply().0).collect();
    assert_eq!(codes, vec![250, 250, 250, 250, 250, 250]);
    assert_eq!(messages(&server, "bob", "builder", "INBOX"), vec![message]);
}

#[test]
fn limits_are_answered_and_the_session_goes_on() {
    let (_am, server, mut smtp) = receiver("mta");
    // Declared too big.
    assert_eq!(smtp.say("MAIL FROM:<a@example.com> SIZE=200000"), 552);
    // Too many recipients: the sixth waits for another transaction.
    assert_eq!(smtp.say("MAIL FROM:<a@example.com>"), 250);
    for i in 0..5 {
        assert_eq!(smtp.say(&format!("RCPT TO:<r{i}@archive.example>")), 250);
    }
    assert_eq!(smtp.say("RCPT TO:<r5@archive.example>"), 452);
    // Bigger than SIZE without saying so: read to its end, then refused,
    // and nothing filed.
    assert_eq!(smtp.say("DATA"), 354);
    let line = format!("{}\r\n", "x".repeat(998));
    for _ in 0..120 {
        smtp.client.send(&line);
    }
    smtp.client.send(".\r\n");
    assert_eq!(smtp.reply().0, 552);
    // Out of order, unknown, and a line longer than any command.
    assert_eq!(smtp.say("DATA"), 503);
    assert_eq!(smtp.say("RCPT TO:<b@example.com>"), 503);
    assert_eq!(smtp.say("FROB"), 500);
    assert_eq!(smtp.say(&format!("NOOP {}", "y".repeat(100_000))), 500);
    assert_eq!(smtp.say("NOOP"), 250);
    // Still served.
    let message = mail("alice@example.com", "bob@example.com", "after");
    assert_eq!(smtp.journal("alice@example.com", &message), 250);
    assert_eq!(messages(&server, "bob", "builder", "INBOX"), vec![message]);
}

#[test]
fn strangers_need_tls_and_an_archive_privilege() {
    let am = archive();
    let server = Server::start_with_smtp(&am, CONFIG);
    // 127.0.0.2 is not in allowed_clients.
    let mut smtp = Smtp::connect(&server, [127, 0, 0, 2]);
    assert_eq!(smtp.say("EHLO stranger"), 250);
    assert_eq!(smtp.say("MAIL FROM:<a@example.com>"), 530);
    // AUTH before TLS would show the password.
    assert_eq!(smtp.say("AUTH PLAIN AGZlZWRlcgBmZWVkbWU="), 538);
    let mut smtp = smtp.starttls(&server);
    smtp.client.send("EHLO stranger\r\n");
    let (code, ehlo) = smtp.reply();
    assert_eq!(code, 250);
    assert!(ehlo.iter().any(|l| l == "AUTH PLAIN"), "{ehlo:?}");
    assert!(!ehlo.iter().any(|l| l == "STARTTLS"), "{ehlo:?}");
    assert_eq!(smtp.say("MAIL FROM:<a@example.com>"), 530);
    // alice may log in to IMAP but has no `archive` privilege.
    let plain = |user: &str, password: &str| {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(format!("\0{user}\0{password}"))
    };
    assert_eq!(
        smtp.say(&format!("AUTH PLAIN {}", plain("alice", "wonderland"))),
        535
    );
    assert_eq!(
        smtp.say(&format!("AUTH PLAIN {}", plain("feeder", "wrong"))),
        535
    );
    // The empty challenge, then the response on its own line.
    assert_eq!(smtp.say("AUTH PLAIN"), 334);
    assert_eq!(smtp.say(&plain("feeder", "feedme")), 235);
    let message = mail("alice@example.com", "bob@example.com", "over-tls");
    assert_eq!(smtp.journal("alice@example.com", &message), 250);
    assert_eq!(messages(&server, "bob", "builder", "INBOX"), vec![message]);
}

/// An Exchange envelope journal report (Microsoft's documented format)
/// carrying `original`, with `fields` as its report body.
fn exchange_report(fields: &str, original: &[u8]) -> Vec<u8> {
    let mut bytes = format!(
        "From: Microsoft Outlook <MicrosoftExchange329e71ec88ae4615bbc36ab6ce41109e@contoso.com>\r\n\
         To: journal@archive.example\r\nSubject: Quarterly numbers\r\nX-MS-Journal-Report:\r\n\
         MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"journal-report\"\r\n\r\n\
         --journal-report\r\nContent-Type: text/plain; charset=\"us-ascii\"\r\n\
         Content-Transfer-Encoding: 7bit\r\n\r\n{fields}\r\n--journal-report\r\n\
         Content-Type: message/rfc822\r\n\r\n"
    )
    .into_bytes();
    bytes.extend_from_slice(original);
    bytes.extend_from_slice(b"\r\n--journal-report--\r\n");
    bytes
}

#[test]
fn exchange_journal_reports_archive_the_original_for_every_listed_user() {
    let (_am, server, mut smtp) = receiver("exchange");
    // Bob got it as a Bcc through a group: only the report says so.
    let original = mail(
        "Alice <alice@example.com>",
        "Team <team@example.com>",
        "quarterly",
    );
    let mut fields = String::from(
        "Sender: alice@example.com\r\nSubject: quarterly\r\nMessage-Id: <quarterly@example.com>\r\n\
         Bcc: bob@example.com, Expanded: team@example.com\r\n",
    );
    for i in 0..49 {
        fields.push_str(&format!("To: member{i}@example.net\r\n"));
    }
    let report = exchange_report(&fields, &original);
    assert_eq!(smtp.journal("postmaster@example.com", &report), 250);
    assert_eq!(
        messages(&server, "alice", "wonderland", "Sent Items"),
        vec![original.clone()]
    );
    assert_eq!(messages(&server, "bob", "builder", "INBOX"), vec![original]);
    assert!(messages(&server, "catchall", "everything", "catchall").is_empty());

    // A report naming nobody known: its original to the catch-all.
    let foreign = mail("x@elsewhere.example", "y@elsewhere.example", "foreign");
    let report = exchange_report(
        "Sender: x@elsewhere.example\r\nTo: y@elsewhere.example\r\n",
        &foreign,
    );
    assert_eq!(smtp.journal("postmaster@example.com", &report), 250);
    assert_eq!(
        messages(&server, "catchall", "everything", "catchall"),
        vec![foreign]
    );
}

#[test]
fn a_session_in_idle_hears_of_journaled_mail() {
    let am = archive();
    let server = Server::start_with_smtp(&am, CONFIG);
    // Bob's INBOX must exist to be selected: the first message makes it.
    let mut smtp = Smtp::connect(&server, [127, 0, 0, 1]);
    assert_eq!(smtp.say("EHLO mta"), 250);
    let first = mail("alice@example.com", "bob@example.com", "first");
    assert_eq!(smtp.journal("alice@example.com", &first), 250);
    let mut imap = server.connect_tls();
    imap.line();
    assert!(imap.answer("l", "LOGIN bob builder").starts_with("l OK"));
    assert!(imap.answer("s", "SELECT INBOX").starts_with("s OK"));
    imap.send("i IDLE\r\n");
    assert!(imap.line().starts_with("+ "));
    let second = mail("alice@example.com", "bob@example.com", "second");
    assert_eq!(smtp.journal("alice@example.com", &second), 250);
    // IDLE tells of new messages within seconds.
    assert_eq!(imap.line(), "* 2 EXISTS\r\n");
    imap.send("DONE\r\n");
    imap.until("i");
}

/// A message as a mail client submits it: with Date and Message-ID, so
/// that Postfix adds nothing but its Received line.
fn submitted(from: &str, to: &str, subject: &str) -> Vec<u8> {
    format!(
        "Date: Mon, 7 Dec 2026 10:00:00 +0000\r\nFrom: {from}\r\nTo: {to}\r\nSubject: {subject}\r\n\
         Message-ID: <{subject}@example.com>\r\n\r\nLine one\r\n.dotted line\r\n\r\nBye\r\n"
    )
    .into_bytes()
}

/// Waits until Postfix logged `count` deliveries to the receiver.
fn wait_for_deliveries(postfix: &Postfix, receiver: std::net::SocketAddr, count: usize) {
    for _ in 0..600 {
        if postfix.delivered_to(receiver) >= count {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    panic!(
        "Postfix delivered {} of {count}; its log:\n{}",
        postfix.delivered_to(receiver),
        postfix.log()
    );
}

/// `archived` is `sent` with only the MTA's trace lines before it.
fn is_sent_with_trace(archived: &[u8], sent: &[u8]) -> bool {
    let Some(prefix) = archived.strip_suffix(sent) else {
        return false;
    };
    let prefix = String::from_utf8_lossy(prefix);
    prefix.is_empty()
        || prefix
            .split("\r\n")
            .filter(|l| !l.is_empty())
            .all(|l| l.starts_with("Received:") || l.starts_with(' ') || l.starts_with('\t'))
}

fn postfix_or_fail(server: &Server, journaling: Journaling) -> Postfix {
    Postfix::start(server.smtp.unwrap(), "archive.example", journaling)
        .expect("Postfix runs here (scripts/test installs the postfix package)")
}

#[test]
fn postfix_always_bcc_journals_every_message_once() {
    let am = archive();
    let server = Server::start_with_smtp(&am, CONFIG);
    let postfix = postfix_or_fail(&server, Journaling::AlwaysBcc("journal@archive.example"));
    let receiver = server.smtp.unwrap();
    // Internal, outgoing and incoming mail, 10 of each.
    let mut sent = Vec::new();
    for i in 0..10 {
        let internal = submitted(
            "alice@example.com",
            "bob@example.com",
            &format!("internal{i}"),
        );
        postfix.submit("alice@example.com", &["bob@example.com"], &internal);
        let outgoing = submitted("bob@example.com", "x@elsewhere.example", &format!("out{i}"));
        postfix.submit("bob@example.com", &["x@elsewhere.example"], &outgoing);
        let incoming = submitted(
            "x@elsewhere.example",
            "alice@example.com",
            &format!("in{i}"),
        );
        postfix.submit("x@elsewhere.example", &["alice@example.com"], &incoming);
        sent.push((internal, outgoing, incoming));
    }
    wait_for_deliveries(&postfix, receiver, 30);
    let alice_sent = messages(&server, "alice", "wonderland", "Sent Items");
    let alice_inbox = messages(&server, "alice", "wonderland", "INBOX");
    let bob_sent = messages(&server, "bob", "builder", "Sent Items");
    let bob_inbox = messages(&server, "bob", "builder", "INBOX");
    assert_eq!(
        (
            alice_sent.len(),
            alice_inbox.len(),
            bob_sent.len(),
            bob_inbox.len()
        ),
        (10, 10, 10, 10)
    );
    // Postfix delivers in its own order: each sent message is archived
    // exactly once in each place it belongs.
    let once = |archived: &[Vec<u8>], sent: &[u8]| {
        archived
            .iter()
            .filter(|a| is_sent_with_trace(a, sent))
            .count()
            == 1
    };
    for (i, (internal, outgoing, incoming)) in sent.iter().enumerate() {
        assert!(once(&alice_sent, internal), "{i}");
        assert!(once(&bob_inbox, internal), "{i}");
        assert!(once(&bob_sent, outgoing), "{i}");
        assert!(once(&alice_inbox, incoming), "{i}");
    }
    assert!(messages(&server, "catchall", "everything", "catchall").is_empty());
}

#[test]
fn postfix_per_user_bcc_maps_route_by_the_envelope() {
    let am = archive();
    let server = Server::start_with_smtp(&am, CONFIG);
    let postfix = postfix_or_fail(
        &server,
        Journaling::PerUserBccMaps("/^([^@+]+)@example\\.com$/ journal+${1}@archive.example\n"),
    );
    let receiver = server.smtp.unwrap();
    // Bob is a Bcc: the header does not name him, his journal address does.
    let message = submitted("alice@example.com", "x@elsewhere.example", "bcc-bob");
    postfix.submit(
        "alice@example.com",
        &["x@elsewhere.example", "bob@example.com"],
        &message,
    );
    wait_for_deliveries(&postfix, receiver, 1);
    let alice_sent = messages(&server, "alice", "wonderland", "Sent Items");
    let bob_inbox = messages(&server, "bob", "builder", "INBOX");
    assert_eq!((alice_sent.len(), bob_inbox.len()), (1, 1));
    assert!(is_sent_with_trace(&alice_sent[0], &message));
    assert!(is_sent_with_trace(&bob_inbox[0], &message));
}

/// The Message-IDs of `folder`'s messages as `user` reads them.
fn message_ids(server: &Server, user: &str, password: &str, folder: &str) -> Vec<String> {
    let mut imap = server.connect_tls();
    imap.line();
    assert!(
        imap.answer("l", &format!("LOGIN {user} {password}"))
            .starts_with("l OK")
    );
    let selected = imap.command("s", &format!("EXAMINE \"{folder}\""));
    if selected.iter().any(|l| l == "* 0 EXISTS\r\n") {
        return Vec::new();
    }
    imap.send("f FETCH 1:* ENVELOPE\r\n");
    let mut ids = Vec::new();
    loop {
        let line = imap.line();
        if line.starts_with("f ") {
            assert!(line.starts_with("f OK"), "{line}");
            return ids;
        }
        // The envelope's last field is the Message-ID.
        let id = line
            .rsplit_once(" \"<")
            .and_then(|(_, rest)| rest.split_once(">\""))
            .map(|(id, _)| id.to_string())
            .unwrap_or_else(|| panic!("a Message-ID in {line}"));
        ids.push(id);
    }
}

/// Postfix delivers a stream of messages while the receiver is killed
/// (SIGKILL) at random moments and started again: once Postfix has
/// delivered them all (retrying what failed), every one is archived
/// exactly once and the archive verifies.
#[test]
fn postfix_deliveries_survive_sigkill_of_the_receiver() {
    const MESSAGES: usize = 5000;
    let am = archive();
    let address = format!("127.0.0.1:{}", common::postfix::free_port());
    let mut server = Some(Server::start_with_smtp_at(&am, CONFIG, &address));
    let receiver = server.as_ref().unwrap().smtp.unwrap();
    let postfix = postfix_or_fail(
        server.as_ref().unwrap(),
        Journaling::AlwaysBcc("journal@archive.example"),
    );
    let submitting = std::thread::scope(|scope| {
        let postfix = &postfix;
        let server = &mut server;
        let submitter = scope.spawn(move || {
            for i in 0..MESSAGES {
                let message = submitted("x@elsewhere.example", "bob@example.com", &format!("m{i}"));
                postfix.submit("x@elsewhere.example", &["bob@example.com"], &message);
            }
        });
        let mut kills = 0;
        let mut seed = 0x2545_f491_u64;
        while !submitter.is_finished() || kills < 3 {
            // 0.5 to 2.5 s between kills.
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            std::thread::sleep(std::time::Duration::from_millis(500 + seed % 2000));
            // Dropping the server kills it (SIGKILL).
            drop(server.take());
            *server = Some(Server::start_with_smtp_at(&am, CONFIG, &address));
            kills += 1;
            postfix.flush();
            if kills >= 12 {
                break;
            }
        }
        submitter.join().unwrap();
        kills
    });
    postfix.flush();
    wait_for_deliveries(&postfix, receiver, MESSAGES);
    // The kills cost deliveries that Postfix then retried.
    let deferred = postfix
        .log()
        .lines()
        .filter(|l| l.contains("status=deferred"))
        .count();
    eprintln!("{submitting} kills; Postfix deferred {deferred} deliveries and retried them");
    assert!(deferred > 0, "no kill landed during a delivery");
    let mut server = server.unwrap();
    let mut ids = message_ids(&server, "bob", "builder", "INBOX");
    assert_eq!(ids.len(), MESSAGES, "after {submitting} kills");
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), MESSAGES, "a message was archived twice");
    server.terminate();
    let verified = am.run(&["verify"]);
    assert!(
        verified.status.success(),
        "{}",
        String::from_utf8_lossy(&verified.stdout)
    );
}

#[test]
fn without_a_catch_all_mail_for_nobody_is_refused_not_lost() {
    let am = archive();
    let config = CONFIG.replace("catch_all = \"catchall\"\n", "");
    let server = Server::start_with_smtp(&am, &config);
    let mut smtp = Smtp::connect(&server, [127, 0, 0, 1]);
    assert_eq!(smtp.say("EHLO mta"), 250);
    let stranger = mail("x@elsewhere.example", "y@elsewhere.example", "nobody");
    // 550: the MTA bounces it to its postmaster rather than drop it.
    assert_eq!(smtp.journal("x@elsewhere.example", &stranger), 550);
    // The session goes on.
    let known = mail("x@elsewhere.example", "bob@example.com", "known");
    assert_eq!(smtp.journal("x@elsewhere.example", &known), 250);
    let admin = common::api::ApiClient::new(&server, "root", "pw-root");
    let status = admin.ok("GetJournalStatus", &[]);
    assert_eq!(
        (&status["filed"], &status["refused"]),
        (&1.into(), &1.into()),
        "{status}"
    );
}

#[test]
fn an_unknown_address_syncs_the_directory_once_before_routing() {
    let Some(slapd) = Slapd::start() else { return };
    // No user yet and no catch-all: only a sync can give Dave's mail a
    // place.
    let am = Archimap::new();
    let directory = slapd.config(&format!(
        "kind = \"ldap\"\nurls = [{:?}]\ngroups = [{GROUP_DN:?}]",
        slapd.ldaps
    ));
    let config = format!(
        "[smtp]\nallowed_clients = [\"127.0.0.1/32\"]\nplaintext_from_allowed = true\n\
         sync_directory_before_routing = true\n{directory}"
    );
    let mut server = Server::start_with_smtp(&am, &config);
    let mut smtp = Smtp::connect(&server, [127, 0, 0, 1]);
    assert_eq!(smtp.say("EHLO mta"), 250);
    let welcome = mail("hr@elsewhere.example", "dave@example.com", "welcome");
    assert_eq!(smtp.journal("hr@elsewhere.example", &welcome), 250);
    assert!(
        am.ok(&["user", "show", "dave"])
            .contains("directoryServices")
    );
    // Nobody has this address, and the directory was asked a moment ago.
    let stray = mail("hr@elsewhere.example", "zed@example.com", "stray");
    assert_eq!(smtp.journal("hr@elsewhere.example", &stray), 550);
    let syncs = server
        .log
        .lock()
        .unwrap()
        .iter()
        .filter(|l| l.contains("synchronising users with the directory before routing"))
        .count();
    assert_eq!(syncs, 1);
    server.terminate();
    let shown = am.ok(&["journal", "status"]);
    assert!(shown.contains("messages filed:        1"), "{shown}");
    assert!(shown.contains("refused (no archive):  1"), "{shown}");
}

#[test]
fn utf8_addresses_and_8bit_mail_are_archived_as_sent_and_indexed() {
    let am = archive();
    am.ok(&[
        "user",
        "set-emails",
        "bob",
        "bob@example.com",
        "jörg@exämple.de",
    ]);
    let server = Server::start_with_smtp(&am, CONFIG);
    let mut smtp = Smtp::connect(&server, [127, 0, 0, 1]);
    assert_eq!(smtp.say("EHLO mta"), 250);
    let message = "From: Jörg <jörg@exämple.de>\r\nTo: x@elsewhere.example\r\nSubject: Grüße\r\n\r\nÜbermorgen im Büro\r\n"
        .as_bytes()
        .to_vec();
    assert_eq!(
        smtp.say("MAIL FROM:<jörg@exämple.de> SMTPUTF8 BODY=8BITMIME"),
        250
    );
    assert_eq!(smtp.say("RCPT TO:<journal@archive.example>"), 250);
    assert_eq!(smtp.say("DATA"), 354);
    smtp.client.send_bytes(&message);
    smtp.client.send(".\r\n");
    assert_eq!(smtp.reply().0, 250);
    assert_eq!(
        messages(&server, "bob", "builder", "Sent Items"),
        vec![message]
    );
    // Indexed as imported mail is: a SEARCH finds it by its body.
    let mut imap = server.connect_tls();
    imap.line();
    assert!(imap.answer("l", "LOGIN bob builder").starts_with("l OK"));
    imap.command("s", "EXAMINE \"Sent Items\"");
    let found = imap.command("f", "SEARCH CHARSET UTF-8 BODY \"Büro\"");
    assert_eq!(found[0], "* SEARCH 1\r\n", "{found:?}");
}

#[test]
fn a_failure_to_file_is_a_temporary_error() {
    let am = archive();
    // The catch-all names an archive that does not exist.
    let config = CONFIG.replace("catch_all = \"catchall\"", "catch_all = \"nosuch\"");
    let server = Server::start_with_smtp(&am, &config);
    let mut smtp = Smtp::connect(&server, [127, 0, 0, 1]);
    assert_eq!(smtp.say("EHLO mta"), 250);
    let stranger = mail("x@elsewhere.example", "y@elsewhere.example", "lost?");
    // 451: the MTA keeps it and tries again (once the setting is fixed).
    assert_eq!(smtp.journal("x@elsewhere.example", &stranger), 451);
    assert_eq!(smtp.say("NOOP"), 250);
}
