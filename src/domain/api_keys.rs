//! API keys: the bearer tokens Entra (and other systems) present.
//!
//! A key is 256 random bits, shown once at creation. Only its SHA-256 is
//! stored; a presented token is hashed and looked up by that hash, and the
//! stored hash is compared in constant time before it is trusted.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::{format_time, now, parse_time, Error, Result, TenantId};

/// Every secret starts with this, so that secret scanners and people recognise it.
pub const TOKEN_PREFIX: &str = "scimp_";
const SHOWN_PREFIX_LEN: usize = TOKEN_PREFIX.len() + 6;
const MAX_LABEL_LEN: usize = 100;

/// A key as listed (never with its secret).
#[derive(Debug, Clone)]
pub struct ApiKey {
    pub id: i64,
    pub tenant: TenantId,
    pub label: String,
    pub prefix: String,
    pub created: DateTime<Utc>,
    pub expires: Option<DateTime<Utc>>,
    pub last_used: Option<DateTime<Utc>>,
    pub revoked: Option<DateTime<Utc>>,
}

/// Who presented a valid token.
#[derive(Debug, Clone)]
pub struct KeyOwner {
    pub key_id: i64,
    pub tenant: TenantId,
    pub tenant_slug: String,
    pub label: String,
}

/// Creates a key for `tenant` and returns it with its secret, the only time the secret exists.
pub fn create(
    conn: &Connection,
    tenant: TenantId,
    label: &str,
    expires: Option<DateTime<Utc>>,
) -> Result<(ApiKey, String)> {
    let label = label.trim();
    if label.is_empty() || label.chars().count() > MAX_LABEL_LEN {
        return Err(Error::Invalid(format!("a key needs a label of 1 to {MAX_LABEL_LEN} characters")));
    }
    let created = now();
    if expires.is_some_and(|e| e <= created) {
        return Err(Error::Invalid("the expiry must be in the future".into()));
    }
    let raw: [u8; 32] = rand::random();
    let secret = format!("{TOKEN_PREFIX}{}", URL_SAFE_NO_PAD.encode(raw));
    let prefix = secret[..SHOWN_PREFIX_LEN].to_string();
    conn.execute(
        "INSERT INTO api_keys (tenant_id, label, prefix, secret_hash, created, expires)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            tenant.0,
            label,
            prefix,
            &digest(&secret)[..],
            format_time(&created),
            expires.as_ref().map(format_time)
        ],
    )?;
    let key = ApiKey {
        id: conn.last_insert_rowid(),
        tenant,
        label: label.to_string(),
        prefix,
        created,
        expires,
        last_used: None,
        revoked: None,
    };
    Ok((key, secret))
}

/// A live key as found by its digest: who owns it and until when it works.
#[derive(Debug, Clone)]
pub struct LiveKey {
    pub owner: KeyOwner,
    pub expires: Option<DateTime<Utc>>,
}

impl LiveKey {
    /// False once the key's expiry has passed.
    pub fn works_at(&self, at: DateTime<Utc>) -> bool {
        self.expires.is_none_or(|e| at < e)
    }
}

/// The SHA-256 of a presented secret: what is stored, looked up and cached.
pub fn digest(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

/// The live key (not revoked, not expired) whose secret has this digest.
pub fn find_live(conn: &Connection, presented: &[u8; 32]) -> Result<Option<LiveKey>> {
    let row = conn
        .prepare_cached(
            "SELECT k.id, k.tenant_id, t.slug, k.label, k.secret_hash, k.expires, k.revoked
             FROM api_keys k JOIN tenants t ON t.id = k.tenant_id
             WHERE k.secret_hash = ?1",
        )?
        .query_row([&presented[..]], |r| {
            Ok((
                KeyOwner { key_id: r.get(0)?, tenant: TenantId(r.get(1)?), tenant_slug: r.get(2)?, label: r.get(3)? },
                r.get::<_, Vec<u8>>(4)?,
                r.get::<_, Option<String>>(5)?,
                r.get::<_, Option<String>>(6)?,
            ))
        })
        .optional()?;
    let Some((owner, stored, expires, revoked)) = row else {
        return Ok(None);
    };
    let matches: bool = stored.ct_eq(&presented[..]).into();
    let key = LiveKey { owner, expires: expires.map(|e| parse_time(&e)) };
    Ok((matches && revoked.is_none() && key.works_at(Utc::now())).then_some(key))
}

/// Lists a tenant's keys, newest first.
pub fn list(conn: &Connection, tenant: TenantId) -> Result<Vec<ApiKey>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, tenant_id, label, prefix, created, expires, last_used, revoked
         FROM api_keys WHERE tenant_id = ?1 ORDER BY id DESC",
    )?;
    let keys = stmt
        .query_map([tenant.0], |r| {
            let time = |i: usize| -> rusqlite::Result<Option<DateTime<Utc>>> {
                Ok(r.get::<_, Option<String>>(i)?.map(|s| parse_time(&s)))
            };
            Ok(ApiKey {
                id: r.get(0)?,
                tenant: TenantId(r.get(1)?),
                label: r.get(2)?,
                prefix: r.get(3)?,
                created: parse_time(&r.get::<_, String>(4)?),
                expires: time(5)?,
                last_used: time(6)?,
                revoked: time(7)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(keys)
}

/// Revokes a key of `tenant`; it stops working at once.
pub fn revoke(conn: &Connection, tenant: TenantId, key_id: i64) -> Result<()> {
    let n = conn.execute(
        "UPDATE api_keys SET revoked = COALESCE(revoked, ?3) WHERE id = ?1 AND tenant_id = ?2",
        params![key_id, tenant.0, format_time(&now())],
    )?;
    if n == 0 {
        return Err(Error::NotFound("API key"));
    }
    Ok(())
}

/// Records that a key was used now.
pub fn mark_used(conn: &Connection, key_id: i64) -> Result<()> {
    conn.prepare_cached("UPDATE api_keys SET last_used = ?2 WHERE id = ?1")?
        .execute(params![key_id, format_time(&now())])?;
    Ok(())
}
