//! `archimap audit`: the audit log as a table or as JSON lines.

use std::io::Write;

use anyhow::{Result, bail};
use chrono::{DateTime, NaiveDate, SecondsFormat, TimeDelta, Utc};
use clap::ValueEnum;
use clap::builder::PossibleValue;
use serde::Serialize;

use super::cli::AuditArgs;
use crate::archive::{Archives, AuditAction, AuditFilter, AuditRecord};

impl ValueEnum for AuditAction {
    fn value_variants<'a>() -> &'a [Self] {
        &AuditAction::ALL
    }

    fn to_possible_value(&self) -> Option<PossibleValue> {
        Some(PossibleValue::new(self.as_str()))
    }
}

/// Parses the TIME of `--since` and `--until` (see `AuditArgs`).
pub(super) fn parse_time(text: &str) -> Result<DateTime<Utc>, String> {
    if let Ok(time) = DateTime::parse_from_rfc3339(text) {
        return Ok(time.to_utc());
    }
    if let Ok(date) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Ok(date.and_time(Default::default()).and_utc());
    }
    age(text).map(|age| Utc::now() - age).ok_or_else(|| {
        format!(
            "expected RFC 3339 (2025-03-01T08:00:00Z), a date (2025-03-01) \
             or an age (90s, 30m, 12h, 7d), not {text:?}"
        )
    })
}

fn age(text: &str) -> Option<TimeDelta> {
    let unit = text.chars().last()?;
    let number: i64 = text[..text.len() - unit.len_utf8()].parse().ok()?;
    match unit {
        's' => TimeDelta::try_seconds(number),
        'm' => TimeDelta::try_minutes(number),
        'h' => TimeDelta::try_hours(number),
        'd' => TimeDelta::try_days(number),
        _ => None,
    }
    .filter(|age| *age >= TimeDelta::zero())
}

pub(super) fn run(archives: &Archives, args: AuditArgs) -> Result<()> {
    if let (Some(since), Some(until)) = (args.since, args.until)
        && since >= until
    {
        let [since, until] = [since, until].map(|t| t.to_rfc3339_opts(SecondsFormat::Secs, true));
        bail!("--since ({since}) must be earlier than --until ({until})");
    }
    let records = archives.audit_query(&AuditFilter {
        since: args.since,
        until: args.until,
        actor: args.user,
        actions: args.actions,
        limit: args.limit.map(usize::from),
    })?;
    let mut out = std::io::stdout().lock();
    if args.json {
        for record in &records {
            serde_json::to_writer(&mut out, &Line::of(record))?;
            out.write_all(b"\n")?;
        }
    } else {
        table(&mut out, &records)?;
    }
    out.flush()?;
    Ok(())
}

/// One record as a JSON line.
#[derive(Serialize)]
struct Line<'a> {
    time: String,
    actor: &'a str,
    ip: Option<String>,
    action: &'static str,
    target: &'a str,
    details: &'a serde_json::Value,
}

impl Line<'_> {
    fn of(record: &AuditRecord) -> Line<'_> {
        Line {
            time: record.time.to_rfc3339_opts(SecondsFormat::Millis, true),
            actor: &record.actor,
            ip: record.ip.map(|ip| ip.to_string()),
            action: record.action.as_str(),
            target: &record.target,
            details: &record.details,
        }
    }
}

fn table(out: &mut impl Write, records: &[AuditRecord]) -> Result<()> {
    if records.is_empty() {
        writeln!(out, "no audit records match")?;
        return Ok(());
    }
    let header = ["TIME", "ACTOR", "IP", "ACTION", "TARGET", "DETAILS"].map(String::from);
    let rows: Vec<[String; 6]> = records
        .iter()
        .map(|record| {
            let line = Line::of(record);
            let details = match record.details.as_object() {
                Some(map) if map.is_empty() => String::new(),
                _ => record.details.to_string(),
            };
            [
                line.time,
                printable(line.actor),
                line.ip.unwrap_or_else(|| "-".into()),
                line.action.into(),
                printable(line.target),
                details,
            ]
        })
        .collect();
    let mut widths = [0; 5];
    for row in std::iter::once(&header).chain(&rows) {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    for row in std::iter::once(&header).chain(&rows) {
        let mut line = String::new();
        for (width, cell) in widths.iter().zip(row) {
            line.push_str(&format!("{cell:<width$}  "));
        }
        line.push_str(&row[5]);
        writeln!(out, "{}", line.trim_end())?;
    }
    Ok(())
}

/// Control characters escaped: actors and targets may come from a client
/// (a login name), and must not drive the terminal.
fn printable(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_unicode().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_in_every_form() {
        let exact = parse_time("2025-03-01T09:00:00+01:00").unwrap();
        assert_eq!(exact.to_rfc3339(), "2025-03-01T08:00:00+00:00");
        let date = parse_time("2025-03-01").unwrap();
        assert_eq!(date.to_rfc3339(), "2025-03-01T00:00:00+00:00");
        let age = Utc::now() - parse_time("2h").unwrap();
        assert!((age - TimeDelta::hours(2)).abs() < TimeDelta::minutes(1));
        for bad in ["", "h", "-2h", "2y", "2025-13-01", "yesterday", "ä"] {
            assert!(parse_time(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(printable("a\u{1b}[31mb"), "a\\u{1b}[31mb");
    }
}
