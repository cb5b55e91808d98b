//! Every attempt to sign in to the portal, with SSO or a password, and its
//! outcome. Never a password, code or token: the identity as typed or as the
//! provider asserted it, and why a refusal happened.

use chrono::{DateTime, Utc};
use rusqlite::{params, Connection};

use super::{format_time, now, parse_time, Result, TenantId};

/// How the person tried to sign in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Sso,
    Password,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Sso => "sso",
            Method::Password => "password",
        }
    }
}

/// Whether they got in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    SignedIn,
    Refused,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::SignedIn => "signed_in",
            Outcome::Refused => "refused",
        }
    }
}

/// One recorded attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub id: i64,
    pub at: DateTime<Utc>,
    /// `sso` or `password`.
    pub method: String,
    pub identity: String,
    /// `signed_in` or `refused`.
    pub outcome: String,
    pub reason: String,
}

/// Attempts kept per tenant; older ones are dropped as new ones come in, so
/// that a flood of forged callbacks cannot grow the database without bound.
pub const KEEP: i64 = 10_000;
const MAX_IDENTITY: usize = 256;
const MAX_REASON: usize = 1_000;

fn clip(s: &str, max: usize) -> String {
    s.trim().chars().take(max).collect()
}

/// Records an attempt (identity and reason are trimmed and clipped).
pub fn record(
    conn: &Connection,
    tenant: TenantId,
    method: Method,
    identity: &str,
    outcome: Outcome,
    reason: &str,
) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO sign_in_events (tenant_id, at, method, identity, outcome, reason)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![
        tenant.0,
        format_time(&now()),
        method.as_str(),
        clip(identity, MAX_IDENTITY),
        outcome.as_str(),
        clip(reason, MAX_REASON)
    ])?;
    conn.prepare_cached(
        "DELETE FROM sign_in_events WHERE tenant_id = ?1 AND id <= (
             SELECT id FROM sign_in_events WHERE tenant_id = ?1 ORDER BY id DESC LIMIT 1 OFFSET ?2)",
    )?
    .execute(params![tenant.0, KEEP])?;
    Ok(())
}

/// The tenant's `limit` most recent attempts, newest first.
pub fn recent(conn: &Connection, tenant: TenantId, limit: i64) -> Result<Vec<Event>> {
    Ok(conn
        .prepare_cached(
            "SELECT id, at, method, identity, outcome, reason FROM sign_in_events
             WHERE tenant_id = ?1 ORDER BY id DESC LIMIT ?2",
        )?
        .query_map(params![tenant.0, limit], |r| {
            Ok(Event {
                id: r.get(0)?,
                at: parse_time(&r.get::<_, String>(1)?),
                method: r.get(2)?,
                identity: r.get(3)?,
                outcome: r.get(4)?,
                reason: r.get(5)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db() -> rusqlite::Connection {
        let mut conn = rusqlite::Connection::open_in_memory().unwrap();
        crate::db::migrate(&mut conn).unwrap();
        conn
    }

    #[test]
    fn newest_first_per_tenant_and_clipped() {
        let conn = db();
        let t = TenantId(1);
        record(&conn, t, Method::Password, "  a@example.com ", Outcome::Refused, "wrong password").unwrap();
        record(&conn, t, Method::Sso, &"x".repeat(1000), Outcome::SignedIn, "").unwrap();
        let events = recent(&conn, t, 20).unwrap();
        assert_eq!(events.len(), 2);
        assert_eq!((events[0].method.as_str(), events[0].outcome.as_str()), ("sso", "signed_in"));
        assert_eq!(events[0].identity.chars().count(), MAX_IDENTITY);
        assert_eq!(events[1].identity, "a@example.com");
        assert_eq!(recent(&conn, TenantId(2), 20).unwrap(), vec![]);
        assert_eq!(recent(&conn, t, 1).unwrap().len(), 1);
    }

    #[test]
    fn only_the_most_recent_are_kept() {
        let conn = db();
        let t = TenantId(1);
        conn.execute(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?1)
             INSERT INTO sign_in_events (tenant_id, at, method, identity, outcome, reason)
             SELECT 1, '2020-01-01T00:00:00.000Z', 'sso', 'old', 'refused', '' FROM n",
            [KEEP],
        )
        .unwrap();
        record(&conn, t, Method::Sso, "new", Outcome::Refused, "").unwrap();
        let count: i64 = conn.query_row("SELECT COUNT(*) FROM sign_in_events", [], |r| r.get(0)).unwrap();
        assert_eq!(count, KEEP);
        assert_eq!(recent(&conn, t, 1).unwrap()[0].identity, "new");
    }
}
