//! THREAD=REFERENCES (RFC 5256 2.4, Jamie Zawinski's algorithm): messages
//! linked by Message-ID, References and In-Reply-To; dummies stand for
//! messages referred to but not found; threads whose roots share a base
//! subject gathered; siblings in sent-date order.

use std::collections::{HashMap, VecDeque};

use super::{Node, by_date, first_date};
use crate::imap::sort::SortFields;

/// A message, found or only referred to, and its place.
#[derive(Default)]
struct Container {
    message: Option<usize>,
    parent: Option<usize>,
    children: Vec<usize>,
}

#[derive(Default)]
struct Links {
    containers: Vec<Container>,
    by_id: HashMap<String, usize>,
}

impl Links {
    fn new_container(&mut self) -> usize {
        self.containers.push(Container::default());
        self.containers.len() - 1
    }

    fn container(&mut self, id: &str) -> usize {
        if let Some(&c) = self.by_id.get(id) {
            return c;
        }
        let c = self.new_container();
        self.by_id.insert(id.to_string(), c);
        c
    }

    /// Whether `ancestor` is `node` or above it.
    fn is_above(&self, ancestor: usize, node: usize) -> bool {
        let mut at = Some(node);
        while let Some(c) = at {
            if c == ancestor {
                return true;
            }
            at = self.containers[c].parent;
        }
        false
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
    /// place, at the top only when it has one child.
    fn pruned(&mut self, list: Vec<usize>, top: bool) -> Vec<Node> {
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
                children: self.pruned(children, false),
            });
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
        let own = match &f.message_id {
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
        let references: Vec<usize> = f.references.iter().map(|id| links.container(id)).collect();
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
    let mut roots = links.pruned(roots, true);
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
    let subject = |n: &Node| subject_message(n).map(|m| fields[m].subject.as_str());
    let reply = |n: &Node| n.message.is_some_and(|m| fields[m].reply);
    // B: the root each subject gathers under.
    let mut table: HashMap<String, usize> = HashMap::new();
    for (k, root) in roots.iter().enumerate() {
        let Some(s) = subject(root).filter(|s| !s.is_empty()) else {
            continue;
        };
        match table.get(s) {
            None => {
                table.insert(s.to_string(), k);
            }
            Some(&j) => {
                let old = &roots[j];
                let better = (root.message.is_none() && old.message.is_some())
                    || (old.message.is_some()
                        && reply(old)
                        && root.message.is_some()
                        && !reply(root));
                if better {
                    table.insert(s.to_string(), k);
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
            .map(str::to_string)
        else {
            continue;
        };
        let Some(&j) = table.get(&s) else { continue };
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
