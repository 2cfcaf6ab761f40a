//! FETCH and UID FETCH. A whole message (BODY[], RFC822) is streamed from
//! the store in chunks, never held whole in memory; items that need the
//! message's structure (ENVELOPE, BODYSTRUCTURE, sections, BINARY) read
//! it once per message and answer through `mime`.

use std::io::Read;
use std::sync::Arc;

use chrono::DateTime;
use imap_codec::imap_types::command::FetchModifier;
use imap_codec::imap_types::fetch::{MacroOrMessageDataItemNames, MessageDataItemName, Section};
use imap_codec::imap_types::sequence::SequenceSet;
use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;

use super::Session;
use super::condstore::{self, Modseqs};
use super::reply::{Code, Handled, Reply};
use super::response::{quoted, send};
use super::select::{add_new_keywords, flags_announcement};
use crate::archive::{Archives, Content, MailboxMessage, MessageDetail, flags};
use crate::error::Error;
use crate::mime::Served;
use crate::mime::{self, BinaryError, SectionSpec};

const CHUNK: usize = 64 * 1024;
/// Messages up to this size are read and converted whole, in one trip to
/// a blocking thread; larger ones are streamed in `CHUNK`s. A session
/// holds two copies of a message read whole (stored and served form):
/// with 1 MiB, 16 sessions downloading took 76 MiB above idle, the goal
/// being 64.
const WHOLE_LIMIT: u64 = 256 << 10;
/// Responses are written in batches of about this size, not one by one.
const OUTPUT_BATCH: usize = 64 * 1024;
/// Messages whose stored headers are read in one go.
const HEADER_BATCH: usize = 512;

/// A FETCH item archimap answers.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Item {
    Uid,
    Flags,
    /// MODSEQ (RFC 7162).
    ModSeq,
    InternalDate,
    Size,
    Envelope,
    /// BODYSTRUCTURE (`extensible`) or BODY.
    Structure {
        extensible: bool,
    },
    /// The whole message, streamed: BODY[], BODY.PEEK[], RFC822.
    Full {
        peek: bool,
        rfc822: bool,
        partial: Option<(u32, u32)>,
    },
    /// BODY[section], RFC822.HEADER, RFC822.TEXT; `label` is the name the
    /// answer carries.
    Section {
        label: String,
        spec: SectionSpec,
        partial: Option<(u32, u32)>,
        peek: bool,
    },
    Binary {
        path: Vec<u32>,
        partial: Option<(u32, u32)>,
        peek: bool,
    },
    BinarySize {
        path: Vec<u32>,
    },
    /// PREVIEW (RFC 8970): the start of the message's text. It does not
    /// set \Seen.
    Preview,
}

impl Item {
    /// Whether the item hands out the message's content (what the audit
    /// of retrievals records), PEEK or not.
    fn reads_content(&self) -> bool {
        matches!(
            self,
            Item::Full { .. } | Item::Section { .. } | Item::Binary { .. } | Item::Preview
        )
    }

    /// Reading the body sets \Seen (unless PEEK).
    fn sets_seen(&self) -> bool {
        matches!(
            self,
            Item::Full { peek: false, .. }
                | Item::Section { peek: false, .. }
                | Item::Binary { peek: false, .. }
        )
    }

    /// Whether the item is read from the archive, not from what the
    /// session holds.
    fn reads_archive(&self) -> bool {
        self.reads_content() || self.needs_structure()
    }

    /// Whether the item is answered from the message's header block alone
    /// (kept apart in the catalog): ENVELOPE and the top-level header
    /// sections clients fetch to list a folder.
    fn answered_from_header(&self) -> bool {
        match self {
            Item::Envelope => true,
            Item::Section { spec, .. } => matches!(
                spec,
                SectionSpec::Header(path)
                    | SectionSpec::HeaderFields(path, _)
                    | SectionSpec::HeaderFieldsNot(path, _) if path.is_empty()
            ),
            _ => false,
        }
    }

    /// Whether the item needs the message's date or bytes (the snapshot's
    /// details), not only its UID and the user's flags.
    fn needs_detail(&self) -> bool {
        !matches!(self, Item::Uid | Item::Flags)
    }

    /// Whether the item is one only CONDSTORE gives: asking for it turns
    /// CONDSTORE on (RFC 7162 3.1).
    fn enables_condstore(&self) -> bool {
        matches!(self, Item::ModSeq)
    }

    fn needs_structure(&self) -> bool {
        matches!(
            self,
            Item::Envelope
                | Item::Structure { .. }
                | Item::Section { .. }
                | Item::Binary { .. }
                | Item::BinarySize { .. }
                | Item::Preview
        )
    }
}

/// How the answer names a section: `1.2.HEADER.FIELDS (FROM TO)`.
fn section_label(section: &Section) -> String {
    let path = |p: &imap_codec::imap_types::fetch::Part| -> String {
        p.0.as_ref()
            .iter()
            .map(|n| n.to_string())
            .collect::<Vec<_>>()
            .join(".")
    };
    let prefixed = |p: &Option<imap_codec::imap_types::fetch::Part>, what: &str| match p {
        Some(p) => format!("{}.{what}", path(p)),
        None => what.to_string(),
    };
    let fields = |list: &[imap_codec::imap_types::core::AString]| -> String {
        let names: Vec<String> = list
            .iter()
            .map(|f| String::from_utf8_lossy(f.as_ref()).to_ascii_uppercase())
            .collect();
        format!("({})", names.join(" "))
    };
    match section {
        Section::Part(p) => path(p),
        Section::Header(p) => prefixed(p, "HEADER"),
        Section::HeaderFields(p, list) => {
            prefixed(p, &format!("HEADER.FIELDS {}", fields(list.as_ref())))
        }
        Section::HeaderFieldsNot(p, list) => {
            prefixed(p, &format!("HEADER.FIELDS.NOT {}", fields(list.as_ref())))
        }
        Section::Text(p) => prefixed(p, "TEXT"),
        Section::Mime(p) => format!("{}.MIME", path(p)),
    }
}

fn items_of(names: &MacroOrMessageDataItemNames<'_>) -> Vec<Item> {
    let names = match names {
        MacroOrMessageDataItemNames::Macro(m) => m.expand(),
        MacroOrMessageDataItemNames::MessageDataItemNames(names) => names.clone(),
    };
    let partial = |p: &Option<(u32, std::num::NonZeroU32)>| p.map(|(s, n)| (s, n.get()));
    names
        .iter()
        .map(|name| match name {
            MessageDataItemName::Uid => Item::Uid,
            MessageDataItemName::Flags => Item::Flags,
            MessageDataItemName::ModSeq => Item::ModSeq,
            MessageDataItemName::InternalDate => Item::InternalDate,
            MessageDataItemName::Rfc822Size => Item::Size,
            MessageDataItemName::Envelope => Item::Envelope,
            MessageDataItemName::BodyStructure => Item::Structure { extensible: true },
            MessageDataItemName::Body => Item::Structure { extensible: false },
            MessageDataItemName::Rfc822 => Item::Full {
                peek: false,
                rfc822: true,
                partial: None,
            },
            MessageDataItemName::Rfc822Header => Item::Section {
                label: "RFC822.HEADER".into(),
                spec: SectionSpec::Header(Vec::new()),
                partial: None,
                peek: true,
            },
            MessageDataItemName::Rfc822Text => Item::Section {
                label: "RFC822.TEXT".into(),
                spec: SectionSpec::Text(Vec::new()),
                partial: None,
                peek: false,
            },
            MessageDataItemName::BodyExt {
                section: None,
                partial: p,
                peek,
            } => Item::Full {
                peek: *peek,
                rfc822: false,
                partial: partial(p),
            },
            MessageDataItemName::BodyExt {
                section: Some(section),
                partial: p,
                peek,
            } => Item::Section {
                label: format!("BODY[{}]", section_label(section)),
                spec: SectionSpec::from(section),
                partial: partial(p),
                peek: *peek,
            },
            MessageDataItemName::Binary {
                section,
                partial: p,
                peek,
            } => Item::Binary {
                path: section.iter().map(|n| n.get()).collect(),
                partial: partial(p),
                peek: *peek,
            },
            MessageDataItemName::BinarySize { section } => Item::BinarySize {
                path: section.iter().map(|n| n.get()).collect(),
            },
        })
        .collect()
}

/// A message's FLAGS: system flags, then keywords.
pub fn flag_list(message: &MailboxMessage) -> String {
    let mut out = Vec::with_capacity(16);
    write_flag_list(&mut out, message);
    String::from_utf8(out).expect("flags and keywords are ASCII atoms")
}

/// [`flag_list`] appended to `out`, without allocating: a FLAGS sync
/// writes one per message.
pub fn write_flag_list(out: &mut Vec<u8>, message: &MailboxMessage) {
    const NAMES: [(u32, &str); 5] = [
        (flags::ANSWERED, "\\Answered"),
        (flags::FLAGGED, "\\Flagged"),
        (flags::DELETED, "\\Deleted"),
        (flags::SEEN, "\\Seen"),
        (flags::DRAFT, "\\Draft"),
    ];
    out.push(b'(');
    let start = out.len();
    let names = NAMES
        .iter()
        .filter(|(bit, _)| message.flags & bit != 0)
        .map(|(_, name)| *name)
        .chain(message.recent.then_some("\\Recent"))
        .chain(message.keywords.iter().map(String::as_str));
    for name in names {
        if out.len() > start {
            out.push(b' ');
        }
        out.extend_from_slice(name.as_bytes());
    }
    out.push(b')');
}

/// `"24-Nov-2026 20:26:40 +0000"`; written out by hand because a sync
/// formats one per message and chrono's `format` parses its pattern each time.
fn internal_date(seconds: i64) -> String {
    use chrono::{Datelike, Timelike};
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let d = DateTime::from_timestamp(seconds, 0).unwrap_or_default();
    format!(
        "\"{:02}-{}-{:04} {:02}:{:02}:{:02} +0000\"",
        d.day(),
        MONTHS[d.month0() as usize],
        d.year(),
        d.hour(),
        d.minute(),
        d.second()
    )
}

fn open(archives: &Archives, content: &Content) -> std::io::Result<Box<dyn Read + Send>> {
    archives
        .open_message(content)
        .map_err(std::io::Error::other)
}

/// A FETCH or UID FETCH as the client sent it.
pub struct FetchRequest<'a> {
    pub set: &'a SequenceSet,
    pub names: &'a MacroOrMessageDataItemNames<'a>,
    pub uid: bool,
    /// CHANGEDSINCE (RFC 7162 3.1.4.1): only messages whose mod-sequence
    /// is above it.
    pub changed_since: Option<u64>,
    /// VANISHED (RFC 7162 3.2.6): also the UIDs gone since `changed_since`.
    pub vanished: bool,
    /// The places of PREVIEW among the items (written as UID for
    /// imap-codec, see `esearch`).
    pub previews: Vec<usize>,
}

impl<'a> FetchRequest<'a> {
    pub fn new(
        set: &'a SequenceSet,
        names: &'a MacroOrMessageDataItemNames<'a>,
        uid: bool,
        modifiers: &[FetchModifier],
        previews: Vec<usize>,
    ) -> Self {
        let mut request = FetchRequest {
            set,
            names,
            uid,
            changed_since: None,
            vanished: false,
            previews,
        };
        for modifier in modifiers {
            match modifier {
                FetchModifier::ChangedSince(modseq) => request.changed_since = Some(modseq.get()),
                FetchModifier::Vanished => request.vanished = true,
            }
        }
        request
    }
}

pub async fn fetch<S: AsyncWrite + Unpin>(
    session: &mut Session,
    stream: &mut S,
    request: FetchRequest<'_>,
) -> Handled {
    let FetchRequest {
        set: sequence_set,
        names,
        uid,
        changed_since,
        vanished,
        previews,
    } = request;
    let verb = if uid { "UID FETCH" } else { "FETCH" };
    let mut items = items_of(names);
    for place in previews {
        if let Some(item) = items.get_mut(place) {
            *item = Item::Preview;
        }
    }
    if uid && !items.contains(&Item::Uid) {
        items.insert(0, Item::Uid);
    }
    if changed_since.is_some() && !items.contains(&Item::ModSeq) {
        items.push(Item::ModSeq);
    }
    if vanished && !(uid && changed_since.is_some()) {
        return Ok(
            Reply::bad("VANISHED needs UID FETCH with CHANGEDSINCE").with_code(Code::ClientBug)
        );
    }
    if vanished && session.modseqs() < Modseqs::QResync {
        return Ok(
            Reply::bad("QRESYNC is not enabled (ENABLE QRESYNC first)").with_code(Code::ClientBug)
        );
    }
    let mut enabled = String::new();
    if items.iter().any(Item::enables_condstore) {
        enabled = session.condstore_enabling();
    }
    let condstore = session.modseqs() >= Modseqs::CondStore;
    let revision = match session.rev2() {
        true => mime::Revision::Rev2,
        false => mime::Revision::Rev1,
    };
    let needs_structure = items.iter().any(Item::needs_structure);
    // A client's first sync asks for ENVELOPE or header fields of every
    // message: answered from the stored header blocks, without reading
    // the messages.
    let from_headers = needs_structure
        && items
            .iter()
            .filter(|i| i.needs_structure())
            .all(Item::answered_from_header);
    let mut headers: std::collections::HashMap<i64, Vec<u8>> = std::collections::HashMap::new();
    let selected = session.selected_or_bad()?;
    let read_only = selected.read_only;
    let mut positions = selected.positions(sequence_set, uid).map_err(Reply::bad)?;
    // A message expunged elsewhere that the client still numbers is still
    // answered (its bytes stay until the pack is compacted), as Dovecot
    // answers what it has, but not marked \Seen; the answer says so.
    let mut passed_over = false;
    let archives = session.shared.archives.clone();
    let user = session.user().expect("authenticated").clone();
    let snapshot = selected.view.snapshot();
    let details = match (items.iter().any(Item::needs_detail), snapshot.details()) {
        (false, _) => None,
        (true, Some(details)) => Some(details.clone()),
        // Read once per snapshot, for every session on it: off the runtime.
        (true, None) => {
            let (archives, snapshot) = (archives.clone(), snapshot.clone());
            let read = tokio::task::spawn_blocking(move || archives.snapshot_details(&snapshot));
            Some(read.await.map_err(std::io::Error::other)??)
        }
    };
    let mut out = Vec::with_capacity(OUTPUT_BATCH);
    out.extend_from_slice(enabled.as_bytes());
    if let Some(since) = changed_since {
        let selected = session.selected().expect("selected above");
        if let (true, Some(folder)) = (vanished, &selected.folder) {
            let known =
                super::numbers::NumberSet::new(sequence_set, selected.view.snapshot().last_uid());
            let gone = archives.vanished_since(folder, since)?;
            out.extend_from_slice(condstore::vanished_earlier(&gone, Some(&known)).as_bytes());
        }
        positions.retain(|&p| selected.view.message(p, details.as_ref()).modseq > since);
    }
    if items.iter().any(Item::reads_content) {
        let selected = session.selected().expect("selected above");
        let path = selected.folder.as_ref().map_or("INBOX", |f| &f.path);
        let messages = positions
            .iter()
            .map(|&p| selected.view.message(p, details.as_ref()));
        archives.record_retrievals(session.caller(&user), &selected.archive, path, messages)?;
    }
    for (n, &position) in positions.iter().enumerate() {
        if from_headers && n % HEADER_BATCH == 0 {
            let selected = session.selected().expect("selected above");
            let batch: Vec<MailboxMessage> = positions[n..]
                .iter()
                .take(HEADER_BATCH)
                .map(|&p| selected.view.message(p, details.as_ref()))
                .collect();
            headers = match archives.message_headers(&batch.iter().collect::<Vec<_>>()) {
                Ok(headers) => headers,
                Err(e) => return Ok(Reply::from(e).after(out)),
            };
        }
        let Some(selected) = session.selected_mut() else {
            break;
        };
        let mut message = selected.view.message(position, details.as_ref());
        let detail = message.detail.take();
        // Gone from the folder before the details were read: nothing to
        // answer with, as for a message expunged before the command.
        if detail.is_none() && details.is_some() {
            passed_over = true;
            continue;
        }
        let gone = selected.expunged.contains(&message.uid);
        passed_over |= gone && items.iter().any(Item::reads_archive);
        let sets_seen = !gone
            && !read_only
            && message.flags & flags::SEEN == 0
            && items.iter().any(Item::sets_seen);
        let marked = match &selected.folder {
            Some(folder) if sets_seen => Some(archives.mark_read(&user, folder, &message)),
            _ => None,
        };
        match marked {
            Some(Ok((number, modseq))) => {
                selected.made_flag_change(number);
                message.flags |= flags::SEEN;
                message.modseq = message.modseq.max(modseq);
            }
            // Expunged by another session since this one looked.
            Some(Err(Error::Expunged(_))) => passed_over = true,
            Some(Err(e)) => return Ok(Reply::from(e).after(out)),
            None => {}
        }
        // The answer carries the new FLAGS when reading set \Seen, and
        // with CONDSTORE their MODSEQ.
        let told: &[Item] = match condstore {
            true => &[Item::Flags, Item::ModSeq],
            false => &[Item::Flags],
        };
        let items: std::borrow::Cow<[Item]> =
            if sets_seen && told.iter().any(|i| !items.contains(i)) {
                let mut with_flags = items.clone();
                with_flags.extend(told.iter().filter(|i| !items.contains(i)).cloned());
                with_flags.into()
            } else {
                items.as_slice().into()
            };
        // A keyword set in another session since the client was told the
        // mailbox's FLAGS is announced before it is shown (RFC 3501 7.2.6).
        if items.contains(&Item::Flags)
            && let Some(selected) = session.selected_mut()
            && add_new_keywords(&mut selected.keywords, &message.keywords)
        {
            let flags = flags_announcement(&selected.keywords, selected.rights, selected.read_only);
            out.extend_from_slice(flags.as_bytes());
        }
        let cached = match (&detail, from_headers) {
            (Some(detail), true) => headers.remove(&detail.content.id()),
            _ => None,
        };
        let rendered = if let Some(header) = cached {
            match render_items(&mime::Message::parse_for(&header, revision), &items) {
                Ok(rendered) => rendered,
                Err(e) => return Ok(binary_refusal(e).after(out)),
            }
        } else if let (true, Some(detail)) = (needs_structure, &detail) {
            match render(&archives, &detail.content, &items, revision).await {
                Ok(Ok(rendered)) => rendered,
                Ok(Err(refusal)) => return Ok(refusal.after(out)),
                Err(e) => {
                    let cause = format_args!("reading message {} failed: {e}", message.uid);
                    let failed =
                        Reply::failed(Code::ServerBug, "The message could not be read", &cause);
                    return Ok(failed.after(out));
                }
            }
        } else {
            vec![None; items.len()]
        };
        if let Err(e) = write_message(
            stream,
            &mut out,
            &archives,
            position + 1,
            &message,
            detail.as_ref(),
            &items,
            rendered,
        )
        .await
        {
            if e.kind() == std::io::ErrorKind::Other {
                // The store failed mid-response: the connection cannot go on.
                tracing::error!(error = %e, uid = message.uid, "reading a message failed");
                let bye = Reply::bye(Some(Code::Unavailable), "The archive store failed");
                send(stream, bye.line("*")).await?;
            }
            return Err(e.into());
        }
    }
    Ok(Reply::completed_passing_over(verb, passed_over).after(out))
}

/// Appends one message's FETCH response to `out`; a whole message body is
/// streamed straight to `stream` (after what `out` holds so far). `detail`
/// is there when an item needs it.
#[allow(clippy::too_many_arguments)]
async fn write_message<S: AsyncWrite + Unpin>(
    stream: &mut S,
    out: &mut Vec<u8>,
    archives: &Arc<Archives>,
    seq: usize,
    message: &MailboxMessage,
    detail: Option<&MessageDetail>,
    items: &[Item],
    rendered: Vec<Option<Vec<u8>>>,
) -> std::io::Result<()> {
    use std::io::Write;
    write!(out, "* {seq} FETCH (")?;
    let detail = || detail.ok_or_else(|| std::io::Error::other("no message details read"));
    for (i, (item, rendered)) in items.iter().zip(rendered).enumerate() {
        if i > 0 {
            out.push(b' ');
        }
        if let Some(bytes) = rendered {
            out.extend_from_slice(&bytes);
            continue;
        }
        match *item {
            Item::Uid => write!(out, "UID {}", message.uid)?,
            Item::Flags => {
                out.extend_from_slice(b"FLAGS ");
                write_flag_list(out, message);
            }
            Item::ModSeq => write!(out, "MODSEQ ({})", message.modseq)?,
            Item::InternalDate => write!(
                out,
                "INTERNALDATE {}",
                internal_date(detail()?.internal_date)
            )?,
            Item::Size => write!(out, "RFC822.SIZE {}", detail()?.content.served_size())?,
            Item::Full {
                rfc822, partial, ..
            } => {
                let content = &detail()?.content;
                let len = content.served_size();
                let (start, count) = match partial {
                    Some((start, count)) => (u64::from(start), u64::from(count)),
                    None => (0, len),
                };
                let end = (start + count).min(len);
                let start = start.min(len);
                let name = match (rfc822, partial) {
                    (true, _) => "RFC822".to_string(),
                    (false, Some((s, _))) => format!("BODY[]<{s}>"),
                    (false, None) => "BODY[]".to_string(),
                };
                write!(out, "{name} {{{}}}\r\n", end - start)?;
                stream.write_all(out).await?;
                out.clear();
                stream_served(stream, archives, content, start, end).await?;
            }
            // Rendered above.
            Item::Envelope
            | Item::Structure { .. }
            | Item::Section { .. }
            | Item::Binary { .. }
            | Item::BinarySize { .. }
            | Item::Preview => {}
        }
    }
    out.extend_from_slice(b")\r\n");
    if out.len() >= OUTPUT_BATCH {
        stream.write_all(out).await?;
        out.clear();
    }
    Ok(())
}

/// `NAME {n}\r\nBYTES` (or `~{n}` for binary data with NUL bytes), for a
/// partial range `NAME<start> ...`.
fn literal(name: &str, data: &[u8], partial: Option<(u32, u32)>) -> Vec<u8> {
    let (name, data) = match partial {
        Some((start, count)) => {
            let from = (start as usize).min(data.len());
            let to = from.saturating_add(count as usize).min(data.len());
            (format!("{name}<{start}>"), &data[from..to])
        }
        None => (name.to_string(), data),
    };
    let tilde = if data.contains(&0) { "~" } else { "" };
    let mut out = format!("{name} {tilde}{{{}}}\r\n", data.len()).into_bytes();
    out.extend_from_slice(data);
    out
}

/// Reads a message once and renders every item that needs its structure;
/// `Err(reply)` is the refusal of a BINARY that cannot be decoded.
async fn render(
    archives: &Arc<Archives>,
    content: &Content,
    items: &[Item],
    revision: mime::Revision,
) -> std::io::Result<Result<Vec<Option<Vec<u8>>>, Reply>> {
    let (archives, content, items) = (archives.clone(), content.clone(), items.to_vec());
    tokio::task::spawn_blocking(move || {
        let raw = archives
            .read_message(&content)
            .map_err(std::io::Error::other)?;
        Ok(render_items(&mime::Message::parse_for(&raw, revision), &items).map_err(binary_refusal))
    })
    .await
    .map_err(std::io::Error::other)?
}

/// The answer to a BINARY that cannot be decoded.
fn binary_refusal(e: BinaryError) -> Reply {
    match e {
        BinaryError::UnknownCte => Reply::no(
            Code::UnknownCte,
            "The part's Content-Transfer-Encoding is not known",
        ),
        BinaryError::Parse | BinaryError::Broken => {
            Reply::no(Code::Parse, "The part's encoded content is broken")
        }
        BinaryError::Unsupported => Reply::no(
            Code::Cannot,
            "BINARY of a multipart or message part is not supported",
        ),
    }
}

/// Renders every item that needs the message's structure (the rest are
/// `None`); `Err(reply)` is the refusal of a BINARY that cannot be decoded.
fn render_items(
    message: &mime::Message,
    items: &[Item],
) -> Result<Vec<Option<Vec<u8>>>, BinaryError> {
    let mut rendered = Vec::with_capacity(items.len());
    for item in items {
        rendered.push(match item {
            Item::Envelope => Some([b"ENVELOPE ".as_slice(), &message.envelope()].concat()),
            Item::Structure { extensible } => {
                let name: &[u8] = if *extensible {
                    b"BODYSTRUCTURE "
                } else {
                    b"BODY "
                };
                Some([name, &message.body_structure(*extensible)].concat())
            }
            Item::Section {
                label,
                spec,
                partial,
                ..
            } => Some(match message.section(spec) {
                Some(data) => literal(label, &data, *partial),
                None => format!("{label} \"\"").into_bytes(),
            }),
            Item::Binary { path, partial, .. } => {
                let label = format!(
                    "BINARY[{}]",
                    path.iter()
                        .map(u32::to_string)
                        .collect::<Vec<_>>()
                        .join(".")
                );
                match message.binary(path) {
                    Ok(Some(data)) => Some(literal(&label, &data, *partial)),
                    Ok(None) => Some(format!("{label} \"\"").into_bytes()),
                    Err(e) => return Err(e),
                }
            }
            Item::BinarySize { path } => {
                let label = path
                    .iter()
                    .map(u32::to_string)
                    .collect::<Vec<_>>()
                    .join(".");
                match message.binary_size(path) {
                    Ok(size) => Some(format!("BINARY.SIZE[{label}] {size}").into_bytes()),
                    Err(e) => return Err(e),
                }
            }
            Item::Preview => {
                let text = crate::index::preview(message);
                Some(match text.is_ascii() {
                    true => format!("PREVIEW {}", quoted(&text)).into_bytes(),
                    false => literal("PREVIEW", text.as_bytes(), None),
                })
            }
            _ => None,
        });
    }
    Ok(rendered)
}

/// Writes bytes `start..end` of the served form.
async fn stream_served<S: AsyncWrite + Unpin>(
    stream: &mut S,
    archives: &Arc<Archives>,
    content: &Content,
    start: u64,
    end: u64,
) -> std::io::Result<()> {
    if content.size() > WHOLE_LIMIT {
        return stream_chunks(stream, archives, content, start, end).await;
    }
    let sha = hex::encode(content.sha256());
    let (archives, content) = (archives.clone(), content.clone());
    let served = tokio::task::spawn_blocking(move || {
        let raw = archives
            .read_message(&content)
            .map_err(std::io::Error::other)?;
        let mut served = Vec::with_capacity(content.served_size() as usize);
        let mut form = Served::default();
        form.push(&raw, &mut served);
        form.finish(&mut served);
        Ok::<_, std::io::Error>(served)
    })
    .await
    .map_err(std::io::Error::other)??;
    match served.get(start as usize..end as usize) {
        Some(range) => stream.write_all(range).await,
        None => Err(std::io::Error::other(format!(
            "message {sha}: {} bytes served, {end} announced",
            served.len()
        ))),
    }
}

/// Streams bytes `start..end` of the served form of a large message; a
/// reader thread decompresses ahead by a few chunks at most.
async fn stream_chunks<S: AsyncWrite + Unpin>(
    stream: &mut S,
    archives: &Arc<Archives>,
    content: &Content,
    start: u64,
    end: u64,
) -> std::io::Result<()> {
    let (tx, mut rx) = mpsc::channel::<std::io::Result<Vec<u8>>>(4);
    let sha = hex::encode(content.sha256());
    let (archives, content) = (archives.clone(), content.clone());
    tokio::task::spawn_blocking(move || {
        let run = || -> std::io::Result<()> {
            let mut reader = open(&archives, &content)?;
            let mut raw = vec![0u8; CHUNK];
            let mut form = Served::default();
            let mut at = 0u64;
            loop {
                let n = reader.read(&mut raw)?;
                if at >= end {
                    return Ok(());
                }
                let mut served = Vec::with_capacity(n + n / 16);
                if n == 0 {
                    form.finish(&mut served);
                } else {
                    form.push(&raw[..n], &mut served);
                }
                let from = start.saturating_sub(at).min(served.len() as u64) as usize;
                let to = end.saturating_sub(at).min(served.len() as u64) as usize;
                at += served.len() as u64;
                // Sent as converted (a copy only for the ends of a partial range).
                let part = match (from, to) {
                    (0, to) if to == served.len() => served,
                    _ => served[from..to].to_vec(),
                };
                if from < to && tx.blocking_send(Ok(part)).is_err() {
                    return Ok(()); // the client went away
                }
                if n == 0 {
                    return Ok(());
                }
            }
        };
        if let Err(e) = run() {
            let _ = tx.blocking_send(Err(e));
        }
    });
    let mut sent = 0u64;
    while let Some(chunk) = rx.recv().await {
        let chunk = chunk?;
        sent += chunk.len() as u64;
        stream.write_all(&chunk).await?;
    }
    if sent != end - start {
        return Err(std::io::Error::other(format!(
            "message {sha}: {sent} bytes sent, {} announced",
            end - start
        )));
    }
    Ok(())
}
