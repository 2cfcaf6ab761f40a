//! THREAD=ORDEREDSUBJECT (RFC 5256 2.1): the messages grouped by base
//! subject; in each group the earliest (by sent date) is the root and the
//! others its replies, in date order; threads in the order of their roots.

use super::{Node, by_date};
use imap_codec::imap_types::extensions::sort::SortKey;

use crate::imap::sort::SortFields;
use crate::imap::sort::keys::positions;

pub fn threads(fields: &[SortFields]) -> Vec<Node> {
    // Subjects as ranks: compared once each, not at every comparison.
    let subjects = positions(fields, &SortKey::Subject);
    let mut order: Vec<usize> = (0..fields.len()).collect();
    order.sort_unstable_by_key(|&i| (subjects[i], fields[i].date, i));
    let mut threads: Vec<Node> = order
        .chunk_by(|&a, &b| subjects[a] == subjects[b])
        .map(|group| Node {
            message: Some(group[0]),
            children: group[1..].iter().map(|&i| Node::leaf(i)).collect(),
        })
        .collect();
    by_date(&mut threads, fields);
    threads
}
