//! ENVELOPE as Dovecot's `imap-envelope.c` writes it.

use super::address::{self, Address};
use super::data::header_strdup;
use super::header::Field;
use super::strings::{append_nstring_nolf, append_string_for_humans};

#[derive(Debug, Default)]
pub struct Envelope {
    pub date: Option<Vec<u8>>,
    pub subject: Option<Vec<u8>>,
    pub from: Vec<Address>,
    pub sender: Vec<Address>,
    pub reply_to: Vec<Address>,
    pub to: Vec<Address>,
    pub cc: Vec<Address>,
    pub bcc: Vec<Address>,
    pub in_reply_to: Option<Vec<u8>>,
    pub message_id: Option<Vec<u8>>,
}

/// Collects the envelope fields: a later Date/Subject/Message-ID/In-Reply-To
/// replaces an earlier one; address headers that repeat are concatenated.
pub fn parse(s: &[u8], fields: &[Field]) -> Envelope {
    let mut e = Envelope::default();
    for f in fields {
        let v = f.value(s);
        let name = f.name(s).to_ascii_lowercase();
        match &name[..] {
            b"date" => e.date = Some(header_strdup(v)),
            b"subject" => e.subject = Some(header_strdup(v)),
            b"message-id" => e.message_id = Some(header_strdup(v)),
            b"in-reply-to" => e.in_reply_to = Some(header_strdup(v)),
            b"from" => e.from.extend(address::parse(v)),
            b"sender" => e.sender.extend(address::parse(v)),
            b"reply-to" => e.reply_to.extend(address::parse(v)),
            b"to" => e.to.extend(address::parse(v)),
            b"cc" => e.cc.extend(address::parse(v)),
            b"bcc" => e.bcc.extend(address::parse(v)),
            _ => {}
        }
    }
    e
}

fn write_addresses(out: &mut Vec<u8>, list: &[Address]) {
    if list.is_empty() {
        out.extend_from_slice(b"NIL");
        return;
    }
    out.push(b'(');
    for a in list {
        out.push(b'(');
        match &a.name {
            None => out.extend_from_slice(b"NIL"),
            Some(n) => append_string_for_humans(out, n),
        }
        out.push(b' ');
        append_nstring_nolf(out, a.route.as_deref());
        out.push(b' ');
        append_nstring_nolf(out, a.mailbox.as_deref());
        out.push(b' ');
        append_nstring_nolf(out, a.domain.as_deref());
        out.push(b')');
    }
    out.push(b')');
}

/// The envelope fields without the surrounding parentheses.
pub fn write(out: &mut Vec<u8>, e: &Envelope) {
    append_nstring_nolf(out, e.date.as_deref());
    out.push(b' ');
    match &e.subject {
        None => out.extend_from_slice(b"NIL"),
        Some(sub) => append_string_for_humans(out, sub),
    }
    out.push(b' ');
    write_addresses(out, &e.from);
    out.push(b' ');
    write_addresses(
        out,
        if e.sender.is_empty() {
            &e.from
        } else {
            &e.sender
        },
    );
    out.push(b' ');
    write_addresses(
        out,
        if e.reply_to.is_empty() {
            &e.from
        } else {
            &e.reply_to
        },
    );
    out.push(b' ');
    write_addresses(out, &e.to);
    out.push(b' ');
    write_addresses(out, &e.cc);
    out.push(b' ');
    write_addresses(out, &e.bcc);
    out.push(b' ');
    append_nstring_nolf(out, e.in_reply_to.as_deref());
    out.push(b' ');
    append_nstring_nolf(out, e.message_id.as_deref());
}
