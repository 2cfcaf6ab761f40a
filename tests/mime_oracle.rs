//! Compares `archimap::mime` with Dovecot 2.3's answers, captured by
//! `conformance/capture_dovecot.py` (format documented there), for
//! * the shared edge corpus (`../shared/corpus/edge/eml`):
//!   `tests/fixtures/dovecot-edge.json` and `dovecot-edge-parts.json`;
//! * the small crafted set in `tests/fixtures/mime-eml/`:
//!   `tests/fixtures/dovecot-mime-eml.json` and `dovecot-mime-eml-parts.json`.
//!
//! Every item must match byte for byte, except for a known number of
//! mismatches per item (the ceilings, explained in
//! `conformance/KNOWN-DIFFERENCES.md`): more mismatches than that fail the
//! test, fewer are welcome (lower the ceiling).
//!
//! Environment: `MIME_ORACLE_SHOW=N` (mismatches shown per item, default 3),
//! `MIME_ORACLE_ONLY=substring` (only matching file names, no ceilings), and
//! `MIME_ORACLE_CORPUS=DIR MIME_ORACLE_FIXTURE=JSON [MIME_ORACLE_PARTS=JSON]`
//! to check another corpus captured the same way (test `other_corpus`).

use std::collections::BTreeMap;
use std::path::Path;

use archimap::mime::{BinaryError, Message, SectionSpec};
use sha2::{Digest, Sha256};

const EDGE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/corpus/edge/eml");
const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");

/// The items compared, in the fixture's names.
const ITEMS: &[&str] = &[
    "RFC822.SIZE",
    "ENVELOPE",
    "BODYSTRUCTURE",
    "BODY",
    "BODY[HEADER]",
    "BODY[TEXT]",
    "BODY[1]",
    "BODY[1.MIME]",
    "BODY[HEADER.FIELDS (From Subject Date)]",
    "BODY[]<0.100>",
    "BODY[2]",
    "BODY[2.MIME]",
    "BODY[1.1]",
    "BODY[1.2.MIME]",
    "BODY[2.1]",
    "BODY[1.HEADER]",
    "BODY[1.TEXT]",
    "BODY[2.HEADER]",
    "BODY[2.TEXT]",
    "BODY[HEADER.FIELDS.NOT (From Subject Date)]",
    "BODY[1.HEADER.FIELDS (Subject)]",
    "BINARY[1]",
    "BINARY.SIZE[1]",
];

/// Known mismatches for the edge corpus (items not listed: 0).
const EDGE_CEILINGS: &[(&str, usize)] = &[("BINARY.SIZE[1]", 32)];

fn b64decode(s: &str) -> Vec<u8> {
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u32, 0);
    for c in s.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => continue,
        };
        acc = (acc << 6) | v as u32;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    out
}

/// Does our value match the fixture's (`null` = NIL)?
fn matches(expected: &serde_json::Value, ours: Option<&[u8]>) -> bool {
    use serde_json::Value;
    match expected {
        Value::Null => ours.is_none(),
        Value::Object(o) => {
            let Some(ours) = ours else { return false };
            if let Some(e) = o.get("err").and_then(Value::as_str) {
                ours == format!("err:{e}").as_bytes()
            } else if let Some(s) = o.get("s").and_then(Value::as_str) {
                ours == s.as_bytes()
            } else if let Some(s) = o.get("b64").and_then(Value::as_str) {
                ours == b64decode(s)
            } else if let Some(h) = o.get("sha256").and_then(Value::as_str) {
                hex::encode(Sha256::digest(ours)) == h
            } else {
                false
            }
        }
        _ => false,
    }
}

fn show(v: &serde_json::Value) -> String {
    match v.get("s").and_then(|s| s.as_str()) {
        Some(s) => format!("{s:?}"),
        None => v.to_string(),
    }
}

/// How the fixture records a refused BINARY fetch.
fn binary_error(e: BinaryError) -> Vec<u8> {
    match e {
        BinaryError::UnknownCte => b"err:NO [UNKNOWN-CTE]".to_vec(),
        BinaryError::Parse => b"err:NO [PARSE]".to_vec(),
        BinaryError::Broken => b"err:BYE".to_vec(),
        BinaryError::Unsupported => b"err:unsupported".to_vec(),
    }
}

fn item(msg: &Message, name: &str) -> Option<Vec<u8>> {
    let sec = |t: &str| {
        Some(
            msg.section(&SectionSpec::parse(t).unwrap())
                .unwrap_or_default(),
        )
    };
    match name {
        "RFC822.SIZE" => Some(msg.size().to_string().into_bytes()),
        "ENVELOPE" => Some(msg.envelope()),
        "BODYSTRUCTURE" => Some(msg.body_structure(true)),
        "BODY" => Some(msg.body_structure(false)),
        "BINARY[1]" => Some(match msg.binary(&[1]) {
            Ok(v) => v.unwrap_or_default(),
            Err(e) => binary_error(e),
        }),
        "BINARY.SIZE[1]" => Some(match msg.binary_size(&[1]) {
            Ok(n) => n.to_string().into_bytes(),
            Err(e) => binary_error(e),
        }),
        "BODY[]<0.100>" => sec("").map(|mut v| {
            v.truncate(100);
            v
        }),
        _ => sec(name
            .strip_prefix("BODY[")
            .and_then(|n| n.strip_suffix(']'))
            .unwrap()),
    }
}

fn load(path: &str) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Compares every item of every message; returns the items over their
/// ceiling (`None`: report only).
fn check_items(corpus: &str, fixture: &str, ceilings: Option<&[(&str, usize)]>) -> Vec<String> {
    let fixture = load(fixture);
    let messages = fixture["messages"].as_object().unwrap();
    let mut mismatches: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    let only = std::env::var("MIME_ORACLE_ONLY").ok();
    for (name, expected) in messages {
        if only.as_deref().is_some_and(|o| !name.contains(o)) {
            continue;
        }
        let raw = std::fs::read(Path::new(corpus).join(name)).unwrap();
        let msg = Message::parse(&raw);
        for &item_name in ITEMS {
            let ours = item(&msg, item_name);
            let exp = &expected[item_name];
            if !matches(exp, ours.as_deref()) {
                mismatches.entry(item_name).or_default().push(format!(
                    "{name}\n    dovecot: {}\n    ours:    {:?}",
                    show(exp),
                    ours.as_deref().map(String::from_utf8_lossy)
                ));
            }
        }
    }
    let show_n: usize = std::env::var("MIME_ORACLE_SHOW")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3);
    let mut failed = Vec::new();
    println!("mime oracle {corpus}: {} messages", messages.len());
    for &item_name in ITEMS {
        let list = mismatches.get(item_name).map(Vec::as_slice).unwrap_or(&[]);
        let ceiling = ceilings.map(|c| c.iter().find(|e| e.0 == item_name).map_or(0, |e| e.1));
        println!(
            "  {item_name:45} {:4} mismatched (ceiling {ceiling:?})",
            list.len()
        );
        for m in list.iter().take(show_n) {
            println!("    {m}");
        }
        if let Some(c) = ceiling
            && list.len() > c
            && only.is_none()
        {
            failed.push(format!("{item_name}: {} > {c}", list.len()));
        }
    }
    failed
}

/// Every part of every message: BODY[n], BODY[n.MIME], and n.HEADER, n.TEXT
/// of message/rfc822 parts, against Dovecot's (hashed) answers. Returns the
/// number of mismatches.
fn check_parts(corpus: &str, fixture: &str) -> usize {
    let fixture = load(fixture);
    let mut total = 0;
    let mut bad = Vec::new();
    for (name, sections) in fixture.as_object().unwrap() {
        let raw = std::fs::read(Path::new(corpus).join(name)).unwrap();
        let msg = Message::parse(&raw);
        for (sec, expected) in sections.as_object().unwrap() {
            total += 1;
            let ours = msg
                .section(&SectionSpec::parse(sec).unwrap())
                .unwrap_or_default();
            let ours = format!(
                "{}:{}",
                &hex::encode(Sha256::digest(&ours))[..16],
                ours.len()
            );
            if expected.as_str() != Some(ours.as_str()) {
                bad.push(format!(
                    "{name} BODY[{sec}]: dovecot {expected}, ours {ours}"
                ));
            }
        }
    }
    println!(
        "mime oracle parts {corpus}: {total} sections, {} mismatched",
        bad.len()
    );
    for b in bad.iter().take(10) {
        println!("  {b}");
    }
    bad.len()
}

#[test]
fn edge_corpus_matches_dovecot() {
    if !Path::new(EDGE).is_dir() {
        eprintln!("skipped: no corpus at {EDGE}");
        return;
    }
    let failed = check_items(
        EDGE,
        &format!("{FIXTURES}/dovecot-edge.json"),
        Some(EDGE_CEILINGS),
    );
    assert!(failed.is_empty(), "more mismatches than known: {failed:?}");
}

#[test]
fn edge_corpus_parts_match_dovecot() {
    if !Path::new(EDGE).is_dir() {
        eprintln!("skipped: no corpus at {EDGE}");
        return;
    }
    let bad = check_parts(EDGE, &format!("{FIXTURES}/dovecot-edge-parts.json"));
    assert_eq!(bad, 0, "part mismatches (none known)");
}

#[test]
fn crafted_set_matches_dovecot() {
    let dir = format!("{FIXTURES}/mime-eml");
    let failed = check_items(
        &dir,
        &format!("{FIXTURES}/dovecot-mime-eml.json"),
        Some(&[]),
    );
    assert!(failed.is_empty(), "mismatches: {failed:?}");
    assert_eq!(
        check_parts(&dir, &format!("{FIXTURES}/dovecot-mime-eml-parts.json")),
        0
    );
}

/// `MIME_ORACLE_CORPUS=DIR MIME_ORACLE_FIXTURE=JSON [MIME_ORACLE_PARTS=JSON]`:
/// report on another corpus captured the same way (never fails).
#[test]
fn other_corpus() {
    let (Ok(corpus), Ok(fixture)) = (
        std::env::var("MIME_ORACLE_CORPUS"),
        std::env::var("MIME_ORACLE_FIXTURE"),
    ) else {
        return;
    };
    check_items(&corpus, &fixture, None);
    if let Ok(parts) = std::env::var("MIME_ORACLE_PARTS") {
        check_parts(&corpus, &parts);
    }
}

/// Robustness: every prefix-truncation (in steps) and some byte edits of
/// every edge message go through every item without panicking.
#[test]
fn no_panics_on_damaged_messages() {
    let Ok(dir) = std::fs::read_dir(EDGE) else {
        return;
    };
    let mut files: Vec<_> = dir.flatten().map(|d| d.path()).collect();
    files.sort();
    let mut n = 0;
    for sub in files {
        let Ok(entries) = std::fs::read_dir(&sub) else {
            continue;
        };
        for e in entries.flatten() {
            let raw = std::fs::read(e.path()).unwrap();
            let step = (raw.len() / 23).max(1);
            let mut variants: Vec<Vec<u8>> = (0..raw.len().min(20_000))
                .step_by(step)
                .map(|cut| raw[..cut].to_vec())
                .collect();
            for (i, b) in [b'\r', b'\n', b'-', b'"', b'(', b'\\', 0]
                .into_iter()
                .enumerate()
            {
                let mut v = raw.clone();
                if !v.is_empty() {
                    let at = (i * 7919) % v.len();
                    v[at] = b;
                }
                variants.push(v);
            }
            for v in variants {
                let msg = Message::parse(&v);
                for &item_name in ITEMS {
                    let _ = item(&msg, item_name);
                }
                n += 1;
            }
        }
    }
    println!("{n} damaged messages parsed");
}
