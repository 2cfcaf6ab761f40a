//! THREAD and UID THREAD (RFC 5256): ORDEREDSUBJECT and REFERENCES over
//! the messages a search finds, from the same stored header blocks as SORT
//! (no message read), answered as Dovecot answers.

mod ordered;
mod references;

use imap_codec::imap_types::core::Charset;
use imap_codec::imap_types::extensions::thread::ThreadingAlgorithm;
use imap_codec::imap_types::search::SearchKey;

use super::reply::{Code, Handled, Reply};
use super::search;
use super::sort::{SortFields, Wanted, found_messages, sort_fields};
use super::{Session, Shared};

/// One thread's member: a found message (an index into the found ones) or
/// a dummy standing for a message not found, and its replies.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Node {
    pub message: Option<usize>,
    pub children: Vec<Node>,
}

impl Node {
    fn leaf(message: usize) -> Node {
        Node {
            message: Some(message),
            children: Vec::new(),
        }
    }
}

/// Which algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Algorithm {
    OrderedSubject,
    References,
}

pub async fn thread(
    session: &mut Session,
    algorithm: &ThreadingAlgorithm<'_>,
    charset: &Charset<'_>,
    keys: Vec<SearchKey<'static>>,
    uid: bool,
) -> Handled {
    let verb = if uid { "UID THREAD" } else { "THREAD" };
    let algorithm = match algorithm {
        ThreadingAlgorithm::OrderedSubject => Algorithm::OrderedSubject,
        ThreadingAlgorithm::References => Algorithm::References,
        ThreadingAlgorithm::Other(_) => {
            return Ok(Reply::bad("Unknown threading algorithm").with_code(Code::ClientBug));
        }
    };
    let Some(decode) = search::decoder(Some(charset)) else {
        return Ok(search::unknown_charset());
    };
    let selected = session.selected_or_bad()?;
    let (view, saved) = (selected.view.clone(), selected.saved.clone());
    let shared = session.shared.clone();
    let threaded = tokio::task::spawn_blocking(move || {
        let searched = search::Searched {
            view: &view,
            saved: &saved,
        };
        threaded(&shared, &searched, algorithm, &keys, decode, uid)
    })
    .await;
    match threaded {
        Ok(line) => Ok(Reply::completed(verb).after(line?)),
        Err(panic) => Ok(Reply::failed(
            Code::ServerBug,
            "The threading failed; the error is logged",
            &format_args!("thread panicked: {panic}"),
        )),
    }
}

/// The `* THREAD` line for the messages `keys` find.
fn threaded(
    shared: &Shared,
    searched: &search::Searched,
    algorithm: Algorithm,
    keys: &[SearchKey<'static>],
    decode: search::Decode,
    uid: bool,
) -> crate::error::Result<String> {
    let archives = &shared.archives;
    let (found, _) = search::matching(archives, searched, keys, decode, &shared.limits)?;
    let messages = found_messages(archives, searched.view, &found)?;
    let fields = sort_fields(archives, &shared.sort_keys, &messages, Wanted::threading())?;
    let threads = match algorithm {
        Algorithm::OrderedSubject => ordered::threads(&fields),
        Algorithm::References => references::threads(&fields),
    };
    let number = |i: usize| if uid { messages[i].uid } else { found[i] };
    let mut line = String::from("* THREAD ");
    for thread in &threads {
        write_thread(&mut line, thread, &number);
    }
    let line = line.trim_end().to_string();
    Ok(line + "\r\n")
}

/// A thread as RFC 5256 writes it: a message and its only reply follow
/// one another, several replies are each a parenthesised thread.
fn write_thread(out: &mut String, node: &Node, number: &dyn Fn(usize) -> u32) {
    out.push('(');
    let mut node = node;
    let mut first = true;
    loop {
        if let Some(message) = node.message {
            if !first {
                out.push(' ');
            }
            out.push_str(&number(message).to_string());
            first = false;
        }
        match node.children.as_slice() {
            [] => break,
            [only] if node.message.is_some() => node = only,
            children => {
                if !first {
                    out.push(' ');
                }
                for child in children {
                    write_thread(out, child, number);
                }
                break;
            }
        }
    }
    out.push(')');
}

/// Orders siblings by sent date, then by sequence number (the found
/// messages' order); a dummy by its first child.
fn by_date(nodes: &mut [Node], fields: &[SortFields]) {
    nodes.sort_by_key(|n| first_date(n, fields));
}

/// The date and index a node sorts by: its message's, or for a dummy its
/// first child's (children sorted first).
fn first_date(node: &Node, fields: &[SortFields]) -> (i64, usize) {
    match node.message {
        Some(i) => (fields[i].date, i),
        None => node
            .children
            .first()
            .map_or((i64::MAX, usize::MAX), |c| first_date(c, fields)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(message: Option<usize>, children: Vec<Node>) -> Node {
        Node { message, children }
    }

    #[test]
    fn threads_are_written_as_rfc_5256_writes_them() {
        let number = |i: usize| i as u32;
        let mut out = String::new();
        // 3 -> 6 -> {4 -> 23, 44 -> 7 -> 96}
        let thread = node(
            Some(3),
            vec![node(
                Some(6),
                vec![
                    node(Some(4), vec![Node::leaf(23)]),
                    node(Some(44), vec![node(Some(7), vec![Node::leaf(96)])]),
                ],
            )],
        );
        write_thread(&mut out, &thread, &number);
        assert_eq!(out, "(3 6 (4 23)(44 7 96))");
        out.clear();
        write_thread(
            &mut out,
            &node(None, vec![Node::leaf(1), Node::leaf(2)]),
            &number,
        );
        assert_eq!(out, "((1)(2))");
    }
}
