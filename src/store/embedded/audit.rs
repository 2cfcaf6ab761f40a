//! The audit log and the compliance settings in SQL.
//!
//! Every function takes a plain connection, so a transaction works too
//! (`&Transaction` derefs to `&Connection`). A catalog mutation that must
//! be audited (an expunge, a move) calls `insert(&tx, ...)` inside its own
//! transaction: the change and its record then commit together or not at
//! all, and no crash can leave a deletion without its record. A mutation
//! that legal hold forbids reads `compliance(&tx)` in that transaction as
//! well: a hold switched on by another process cannot slip in between the
//! check and the change.

use super::cached::CachedSql;
use std::net::IpAddr;

use chrono::DateTime;
use rusqlite::types::{Type, Value};
use rusqlite::{Connection, OptionalExtension, Row, params};

use crate::store::{AuditAction, AuditFilter, AuditRecord, ComplianceSettings};

/// Appends `records` to the audit log.
pub(super) fn insert(conn: &Connection, records: &[AuditRecord]) -> rusqlite::Result<()> {
    let mut stmt = conn.prepare_cached(
        "INSERT INTO audit(time, actor, ip, action, target, details)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?;
    for record in records {
        stmt.execute(params![
            record.time.timestamp_millis(),
            record.actor,
            record.ip.map(|ip| ip.to_string()),
            record.action.as_str(),
            record.target,
            record.details.to_string(),
        ])?;
    }
    Ok(())
}

/// The records `filter` selects, oldest first; with a limit, the latest ones.
pub(super) fn query(conn: &Connection, filter: &AuditFilter) -> rusqlite::Result<Vec<AuditRecord>> {
    let mut sql =
        String::from("SELECT time, actor, ip, action, target, details FROM audit WHERE 1");
    let mut args = Vec::new();
    if let Some(since) = filter.since {
        sql.push_str(" AND time >= ?");
        args.push(Value::Integer(since.timestamp_millis()));
    }
    if let Some(until) = filter.until {
        sql.push_str(" AND time < ?");
        args.push(Value::Integer(until.timestamp_millis()));
    }
    if let Some(actor) = &filter.actor {
        sql.push_str(" AND actor = ? COLLATE NOCASE");
        args.push(Value::Text(actor.to_lowercase()));
    }
    if !filter.actions.is_empty() {
        let marks = vec!["?"; filter.actions.len()].join(",");
        sql.push_str(&format!(" AND action IN ({marks})"));
        args.extend(
            filter
                .actions
                .iter()
                .map(|a| Value::Text(a.as_str().to_string())),
        );
    }
    // Newest first so that LIMIT keeps the latest; reversed below.
    sql.push_str(" ORDER BY time DESC, id DESC LIMIT ?");
    let limit = filter
        .limit
        .map_or(-1, |n| i64::try_from(n).unwrap_or(i64::MAX));
    args.push(Value::Integer(limit));
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut records = stmt
        .query_map(rusqlite::params_from_iter(args), record_from_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    records.reverse();
    Ok(records)
}

fn record_from_row(row: &Row) -> rusqlite::Result<AuditRecord> {
    let action: String = row.get(3)?;
    let action = action
        .parse::<AuditAction>()
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(3, Type::Text, Box::new(e)))?;
    let ip: Option<String> = row.get(2)?;
    let details: String = row.get(5)?;
    Ok(AuditRecord {
        time: DateTime::from_timestamp_millis(row.get(0)?).unwrap_or_default(),
        actor: row.get(1)?,
        ip: ip.and_then(|ip| ip.parse::<IpAddr>().ok()),
        action,
        target: row.get(4)?,
        details: serde_json::from_str(&details).unwrap_or(serde_json::Value::String(details)),
    })
}

pub(super) fn compliance(conn: &Connection) -> rusqlite::Result<ComplianceSettings> {
    Ok(conn
        .prepare_cached(
            "SELECT legal_hold_enabled, audit_message_retrieval, audit_message_archiving
             FROM compliance WHERE id = 1",
        )?
        .query_row([], |r| {
            Ok(ComplianceSettings {
                legal_hold_enabled: r.get(0)?,
                audit_message_retrieval: r.get(1)?,
                audit_message_archiving: r.get(2)?,
            })
        })
        .optional()?
        .unwrap_or_default())
}

pub(super) fn set_compliance(
    conn: &Connection,
    settings: &ComplianceSettings,
) -> rusqlite::Result<()> {
    conn.run(
        "INSERT INTO compliance(id, legal_hold_enabled, audit_message_retrieval,
                                audit_message_archiving) VALUES (1, ?1, ?2, ?3)
         ON CONFLICT(id) DO UPDATE SET legal_hold_enabled = excluded.legal_hold_enabled,
                                       audit_message_retrieval = excluded.audit_message_retrieval,
                                       audit_message_archiving = excluded.audit_message_archiving",
        params![
            settings.legal_hold_enabled,
            settings.audit_message_retrieval,
            settings.audit_message_archiving
        ],
    )?;
    Ok(())
}
