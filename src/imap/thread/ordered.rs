//! THREAD=ORDEREDSUBJECT (RFC 5256 2.1): the messages grouped by base
//! subject; in each group the earliest (by sent date) is the root and the
//! others its replies, in date order; threads in the order of their roots.

use super::{Node, by_date};
use crate::imap::sort::SortFields;

pub fn threads(fields: &[SortFields]) -> Vec<Node> {
    let mut order: Vec<usize> = (0..fields.len()).collect();
    order.sort_by(|&a, &b| {
        fields[a]
            .subject
            .cmp(&fields[b].subject)
            .then(fields[a].date.cmp(&fields[b].date))
            .then(a.cmp(&b))
    });
    let mut threads: Vec<Node> = order
        .chunk_by(|&a, &b| fields[a].subject == fields[b].subject)
        .map(|group| Node {
            message: Some(group[0]),
            children: group[1..].iter().map(|&i| Node::leaf(i)).collect(),
        })
        .collect();
    by_date(&mut threads, fields);
    threads
}
