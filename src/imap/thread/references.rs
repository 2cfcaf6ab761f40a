//! THREAD=REFERENCES (RFC 5256 2.4, Jamie Zawinski's algorithm): messages
//! linked by Message-ID, References and In-Reply-To; dummies stand for
//! messages referred to but not found; threads whose roots share a base
//! subject gathered; siblings in sent-date order.

use std::collections::VecDeque;

use rustc_hash::FxHashMap;

use super::{Node, by_date, first_date};
use crate::imap::sort::SortFields;

/// A message's references taken into account: its last (nearest) ones.
/// Mail names a few; a crafted References field of thousands would make
/// the links cost their square.
const MAX_REFERENCES: usize = 100;

/// How far up the loop check looks before it takes a link for a loop:
/// no thread of real mail is this deep, and a crafted chain of messages
/// must not make every link walk it whole.
const MAX_DEPTH: usize = 1000;

/// How deep threads are answered (and held: building, sorting, writing
/// and dropping them recurse): deeper replies are listed flat below the
/// last level. Links refused past `MAX_DEPTH` do not bound depth alone
/// (threads linked root to leaf can grow it).
const MAX_NESTING: usize = 200;

/// A message, found or only referred to, and its place.
#[derive(Default)]
struct Container {
    message: Option<usize>,
    parent: Option<usize>,
    children: Vec<usize>,
}

/// The containers, and the one of each message id (borrowed from the
/// messages' keys: 100,000 messages name some 300,000 ids).
#[derive(Default)]
struct Links<'a> {
    containers: Vec<Container>,
    by_id: FxHashMap<&'a str, usize>,
}

impl<'a> Links<'a> {
    fn new_container(&mut self) -> usize {
        self.containers.push(Container::default());
        self.containers.len() - 1
    }

    fn container(&mut self, id: &'a str) -> usize {
        if let Some(&c) = self.by_id.get(id) {
            return c;
        }
        let c = self.new_container();
        self.by_id.insert(id, c);
        c
    }

    /// Whether `ancestor` is `node` or above it, or may be: also true
    /// past `MAX_DEPTH` levels.
    fn is_above(&self, ancestor: usize, node: usize) -> bool {
        let mut at = Some(node);
        for _ in 0..MAX_DEPTH {
            let Some(c) = at else {
                return false;
            };
            if c == ancestor {
                return true;
            }
            at = self.containers[c].parent;
        }
        true
    }

    fn unlink(&mut self, child: usize) {
        if let Some(parent) = self.containers[child].parent.take() {
            self.containers[parent].children.retain(|&c| c != child);
        }
    }

    /// Makes `child` a child of `parent` unless that would make a loop.
    fn link(&mut self, parent: usize, child: usize) {
        if self.is_above(child, parent) {
            return;
        }
        self.unlink(child);
        self.containers[child].parent = Some(parent);
        self.containers[parent].children.push(child);
    }

    /// Step 3: dummies without children go; a dummy's children take its
    /// place, at the top only when it has one child. `depth` is the
    /// list's level, from 0.
    fn pruned(&mut self, list: Vec<usize>, depth: usize) -> Vec<Node> {
        let top = depth == 0;
        if depth >= MAX_NESTING {
            return self.flattened(list);
        }
        let mut queue: VecDeque<usize> = list.into();
        let mut out = Vec::new();
        while let Some(c) = queue.pop_front() {
            let children = std::mem::take(&mut self.containers[c].children);
            let dummy = self.containers[c].message.is_none();
            if dummy && children.is_empty() {
                continue;
            }
            if dummy && (!top || children.len() == 1) {
                for &child in children.iter().rev() {
                    queue.push_front(child);
                }
                continue;
            }
            out.push(Node {
                message: self.containers[c].message,
                children: self.pruned(children, depth + 1),
            });
        }
        out
    }

    /// The messages of `list` and all below them, as leaves (dummies go).
    fn flattened(&mut self, list: Vec<usize>) -> Vec<Node> {
        let mut stack = list;
        stack.reverse();
        let mut out = Vec::new();
        while let Some(c) = stack.pop() {
            let children = std::mem::take(&mut self.containers[c].children);
            stack.extend(children.into_iter().rev());
            if let Some(message) = self.containers[c].message {
                out.push(Node::leaf(message));
            }
        }
        out
    }
}

pub fn threads(fields: &[SortFields]) -> Vec<Node> {
    let mut links = Links::default();
    // Step 1.
    for (i, f) in fields.iter().enumerate() {
        // A: a missing Message-ID, or one an earlier message has, gets a
        // container of its own.
        let own = match f.threading.message_id() {
            Some(id)
                if links
                    .by_id
                    .get(id)
                    .is_none_or(|&c| links.containers[c].message.is_none()) =>
            {
                links.container(id)
            }
            _ => links.new_container(),
        };
        links.containers[own].message = Some(i);
        // B: each reference the parent of the next, unless it has one.
        let named: Vec<&str> = f.threading.references().collect();
        let nearest = named.len().saturating_sub(MAX_REFERENCES);
        let references: Vec<usize> = named[nearest..]
            .iter()
            .map(|&id| links.container(id))
            .collect();
        for pair in references.windows(2) {
            if pair[0] != pair[1] && links.containers[pair[1]].parent.is_none() {
                links.link(pair[0], pair[1]);
            }
        }
        // C: the last reference is the parent; one the message had from
        // other messages' references goes.
        links.unlink(own);
        if let Some(&parent) = references.last()
            && parent != own
        {
            links.link(parent, own);
        }
    }
    // Step 2 and 3.
    let roots: Vec<usize> = (0..links.containers.len())
        .filter(|&c| links.containers[c].parent.is_none())
        .collect();
    let mut roots = links.pruned(roots, 0);
    // Step 4: in date order (a dummy by its first child).
    sort_tree(&mut roots, fields);
    // Step 5.
    let mut roots = gathered_by_subject(roots, fields);
    // Step 6.
    sort_tree(&mut roots, fields);
    roots
}

/// Sorts every set of siblings by date, the deepest first.
fn sort_tree(nodes: &mut [Node], fields: &[SortFields]) {
    for node in nodes.iter_mut() {
        sort_tree(&mut node.children, fields);
    }
    by_date(nodes, fields);
}

/// The message a node's subject is read from: its own, a dummy's first
/// child's.
fn subject_message(node: &Node) -> Option<usize> {
    node.message
        .or_else(|| node.children.first().and_then(subject_message))
}

/// Step 5: roots with the same base subject gathered.
fn gathered_by_subject(roots: Vec<Node>, fields: &[SortFields]) -> Vec<Node> {
    let subject = |n: &Node| subject_message(n).map(|m| &*fields[m].subject);
    let reply = |n: &Node| n.message.is_some_and(|m| fields[m].reply);
    // B: the root each subject gathers under.
    let mut table: FxHashMap<&str, usize> = FxHashMap::default();
    for (k, root) in roots.iter().enumerate() {
        let Some(s) = subject(root).filter(|s| !s.is_empty()) else {
            continue;
        };
        match table.get(s) {
            None => {
                table.insert(s, k);
            }
            Some(&j) => {
                let old = &roots[j];
                let better = (root.message.is_none() && old.message.is_some())
                    || (old.message.is_some()
                        && reply(old)
                        && root.message.is_some()
                        && !reply(root));
                if better {
                    table.insert(s, k);
                }
            }
        }
    }
    // C: the others join it.
    let mut slots: Vec<Option<Node>> = roots.into_iter().map(Some).collect();
    for k in 0..slots.len() {
        let Some(s) = slots[k]
            .as_ref()
            .and_then(&subject)
            .filter(|s| !s.is_empty())
        else {
            continue;
        };
        let Some(&j) = table.get(s) else { continue };
        if j == k || slots[j].is_none() {
            continue;
        }
        let this = slots[k].take().expect("checked above");
        let that = slots[j].take().expect("checked above");
        let merged = match (that.message.is_none(), this.message.is_none()) {
            (true, true) => {
                let mut that = that;
                that.children.extend(this.children);
                that
            }
            (true, false) => {
                let mut that = that;
                that.children.push(this);
                that
            }
            (false, true) => {
                let mut this = this;
                this.children.push(that);
                this
            }
            (false, false) if !reply(&that) && reply(&this) => {
                let mut that = that;
                that.children.push(this);
                that
            }
            (false, false) if reply(&that) && !reply(&this) => {
                let mut this = this;
                this.children.push(that);
                this
            }
            (false, false) => Node {
                message: None,
                children: vec![that, this],
            },
        };
        slots[j] = Some(merged);
    }
    let mut out: Vec<Node> = slots.into_iter().flatten().collect();
    out.sort_by_key(|n| first_date(n, fields));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::imap::sort::keys::ThreadIds;

    fn message(id: usize, references: impl Iterator<Item = usize>) -> SortFields {
        let references: Vec<String> = references.map(|r| format!("<{r}@x>")).collect();
        SortFields {
            threading: ThreadIds::new(Some(&format!("<{id}@x>")), &references),
            ..Default::default()
        }
    }

    /// A crafted References field of 200,000 ids, and 2,000 messages of
    /// 100 references each, the first of each the last of the one before
    /// (a chain some 200,000 deep), thread in little time: each message's
    /// last 100 references count, and the loop check looks 1,000 levels up.
    #[test]
    fn crafted_reference_chains_cost_little() {
        let started = std::time::Instant::now();
        let one = message(0, 1..200_001);
        assert_eq!(threads(&[one]).len(), 1);
        let chain: Vec<SortFields> = (0..2_000)
            .map(|m| message(1_000_000 + m, (m * 99)..(m * 99 + 100)))
            .collect();
        assert!(!threads(&chain).is_empty());
        assert!(
            started.elapsed() < std::time::Duration::from_secs(3),
            "{:?}",
            started.elapsed()
        );
    }

    /// 20,000 messages, each a reply to the one before, thread on a thread
    /// with a small stack: no level of the answer is deeper than
    /// MAX_NESTING, whatever the links.
    #[test]
    fn deep_reply_chains_stay_shallow() {
        let chain: Vec<SortFields> = (0..20_000)
            .map(|m| message(m, (m > 0).then(|| m - 1).into_iter()))
            .collect();
        let depth = std::thread::Builder::new()
            .stack_size(256 * 1024)
            .spawn(move || {
                fn depth(nodes: &[Node]) -> usize {
                    nodes
                        .iter()
                        .map(|n| 1 + depth(&n.children))
                        .max()
                        .unwrap_or(0)
                }
                depth(&threads(&chain))
            })
            .unwrap()
            .join()
            .unwrap();
        assert!(depth <= MAX_NESTING + 1, "{depth}");
    }

    #[test]
    fn replies_thread_under_what_they_answer() {
        let root = message(1, std::iter::empty());
        let reply = message(2, [1].into_iter());
        let nodes = threads(&[root, reply]);
        assert_eq!(nodes.len(), 1);
        assert_eq!(nodes[0].message, Some(0));
        assert_eq!(nodes[0].children[0].message, Some(1));
    }
}
