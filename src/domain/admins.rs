//! Portal administrators: local accounts with Argon2id passwords, their
//! sessions, and the one-time links that create a tenant's first administrator.
//!
//! Password hashing is CPU-heavy, so it is kept out of database transactions:
//! callers hash with [`hash_password`] first and verify with [`verify_password`]
//! after reading the stored hash.

use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::Argon2;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Duration, Utc};
use rusqlite::{params, Connection, OptionalExtension};
use sha2::{Digest, Sha256};

use super::{format_time, is_unique_violation, now, parse_time, Error, Result, TenantId};
use crate::db::fold;

pub const MIN_PASSWORD_CHARS: usize = 12;
const MAX_PASSWORD_CHARS: usize = 1024;
/// How long a session lasts after sign-in.
pub const SESSION_HOURS: i64 = 12;
/// How long a set-up link stays valid.
pub const SETUP_HOURS: i64 = 24;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Admin {
    pub id: i64,
    pub tenant: TenantId,
    pub email: String,
}

/// A live session, as the portal needs it on every request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub admin: Admin,
    pub tenant_slug: String,
    pub tenant_name: String,
    pub csrf_token: String,
    pub expires: DateTime<Utc>,
}

/// A new random secret (256 bits, base64url): session cookies, CSRF tokens, set-up links.
pub(crate) fn random_token() -> String {
    let raw: [u8; 32] = rand::random();
    URL_SAFE_NO_PAD.encode(raw)
}

/// What is stored of a secret that is only ever checked: its SHA-256.
pub(crate) fn digest(secret: &str) -> Vec<u8> {
    Sha256::digest(secret.as_bytes()).to_vec()
}

/// Checks an e-mail address's shape (one `@`, something on both sides, no spaces).
pub fn validate_email(email: &str) -> Result<String> {
    let email = email.trim();
    let ok = email.len() <= 254
        && !email.contains(char::is_whitespace)
        && email
            .split_once('@')
            .is_some_and(|(local, domain)| !local.is_empty() && domain.contains('.') && !domain.contains('@'));
    if ok {
        Ok(email.to_string())
    } else {
        Err(Error::Invalid("enter an e-mail address such as admin@example.com".into()))
    }
}

/// Hashes a new password with Argon2id (random salt), after checking its length.
pub fn hash_password(password: &str) -> Result<String> {
    let n = password.chars().count();
    if n < MIN_PASSWORD_CHARS {
        return Err(Error::Invalid(format!("use a password of at least {MIN_PASSWORD_CHARS} characters")));
    }
    if n > MAX_PASSWORD_CHARS {
        return Err(Error::Invalid(format!("use a password of at most {MAX_PASSWORD_CHARS} characters")));
    }
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| Error::Invalid(format!("the password could not be hashed: {e}")))
}

/// True when `password` matches the stored `phc` hash. A missing account is
/// checked against a fixed hash so that its timing does not reveal it.
pub fn verify_password(password: &str, phc: Option<&str>) -> bool {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let dummy = DUMMY
        .get_or_init(|| Argon2::default().hash_password(b"no such account").map(|h| h.to_string()).unwrap_or_default());
    let (phc, real) = match phc {
        Some(p) => (p, true),
        None => (dummy.as_str(), false),
    };
    let matches = PasswordHash::new(phc)
        .map(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
        .unwrap_or(false);
    matches && real
}

/// Number of administrators of a tenant.
pub fn count(conn: &Connection, tenant: TenantId) -> Result<i64> {
    Ok(conn.prepare_cached("SELECT COUNT(*) FROM admins WHERE tenant_id = ?1")?.query_row([tenant.0], |r| r.get(0))?)
}

/// Creates an administrator with an already hashed password.
pub fn create(conn: &Connection, tenant: TenantId, email: &str, password_hash: &str) -> Result<Admin> {
    let email = validate_email(email)?;
    conn.prepare_cached(
        "INSERT INTO admins (tenant_id, email, email_key, password_hash, created) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![tenant.0, email, fold(&email), password_hash, format_time(&now())])
    .map_err(|e| {
        if is_unique_violation(&e) {
            Error::Conflict(format!("{email} is already an administrator of this tenant"))
        } else {
            e.into()
        }
    })?;
    Ok(Admin { id: conn.last_insert_rowid(), tenant, email })
}

/// The administrator with this e-mail and their password hash, if any.
pub fn find_for_sign_in(conn: &Connection, tenant: TenantId, email: &str) -> Result<Option<(Admin, String)>> {
    Ok(conn
        .prepare_cached("SELECT id, email, password_hash FROM admins WHERE tenant_id = ?1 AND email_key = ?2")?
        .query_row(params![tenant.0, fold(email.trim())], |r| {
            Ok((Admin { id: r.get(0)?, tenant, email: r.get(1)? }, r.get::<_, String>(2)?))
        })
        .optional()?)
}

/// Starts a session; returns the cookie secret (never stored) and the session.
pub fn start_session(conn: &Connection, admin: &Admin) -> Result<String> {
    let secret = random_token();
    let at = now();
    conn.prepare_cached(
        "INSERT INTO sessions (token_hash, admin_id, csrf_token, created, expires) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![
        digest(&secret),
        admin.id,
        random_token(),
        format_time(&at),
        format_time(&(at + Duration::hours(SESSION_HOURS)))
    ])?;
    conn.prepare_cached("UPDATE admins SET last_sign_in = ?2 WHERE id = ?1")?
        .execute(params![admin.id, format_time(&at)])?;
    // Expired sessions of this administrator are of no further use.
    conn.prepare_cached("DELETE FROM sessions WHERE admin_id = ?1 AND expires < ?2")?
        .execute(params![admin.id, format_time(&at)])?;
    Ok(secret)
}

/// The live session for a cookie secret.
pub fn find_session(conn: &Connection, secret: &str) -> Result<Option<Session>> {
    let found = conn
        .prepare_cached(
            "SELECT a.id, a.tenant_id, a.email, t.slug, t.name, s.csrf_token, s.expires
             FROM sessions s JOIN admins a ON a.id = s.admin_id JOIN tenants t ON t.id = a.tenant_id
             WHERE s.token_hash = ?1",
        )?
        .query_row([digest(secret)], |r| {
            Ok(Session {
                admin: Admin { id: r.get(0)?, tenant: TenantId(r.get(1)?), email: r.get(2)? },
                tenant_slug: r.get(3)?,
                tenant_name: r.get(4)?,
                csrf_token: r.get(5)?,
                expires: parse_time(&r.get::<_, String>(6)?),
            })
        })
        .optional()?;
    Ok(found.filter(|s| s.expires > now()))
}

/// Ends a session.
pub fn end_session(conn: &Connection, secret: &str) -> Result<()> {
    conn.prepare_cached("DELETE FROM sessions WHERE token_hash = ?1")?.execute([digest(secret)])?;
    Ok(())
}

/// Creates a one-time set-up link token for a tenant that has no administrator.
pub fn create_setup_token(conn: &Connection, tenant: TenantId) -> Result<String> {
    let secret = random_token();
    let expires = now() + Duration::hours(SETUP_HOURS);
    conn.prepare_cached("INSERT INTO setup_tokens (tenant_id, token_hash, expires) VALUES (?1, ?2, ?3)")?
        .execute(params![tenant.0, digest(&secret), format_time(&expires)])?;
    Ok(secret)
}

/// True when `secret` is a live set-up token of `tenant` and the tenant still has no administrator.
pub fn setup_token_valid(conn: &Connection, tenant: TenantId, secret: &str) -> Result<bool> {
    let expires: Option<String> = conn
        .prepare_cached("SELECT expires FROM setup_tokens WHERE tenant_id = ?1 AND token_hash = ?2")?
        .query_row(params![tenant.0, digest(secret)], |r| r.get(0))
        .optional()?;
    Ok(expires.is_some_and(|e| parse_time(&e) > now()) && count(conn, tenant)? == 0)
}

/// Uses a set-up token: creates the first administrator and spends every set-up token of the tenant.
pub fn complete_setup(
    conn: &Connection,
    tenant: TenantId,
    secret: &str,
    email: &str,
    password_hash: &str,
) -> Result<Admin> {
    if !setup_token_valid(conn, tenant, secret)? {
        return Err(Error::Invalid("this set-up link has expired or was already used".into()));
    }
    let admin = create(conn, tenant, email, password_hash)?;
    conn.prepare_cached("DELETE FROM setup_tokens WHERE tenant_id = ?1")?.execute([tenant.0])?;
    Ok(admin)
}

/// Tenants that have no administrator yet (id, slug).
pub fn tenants_without_admin(conn: &Connection) -> Result<Vec<(TenantId, String)>> {
    Ok(conn
        .prepare(
            "SELECT id, slug FROM tenants t
             WHERE NOT EXISTS (SELECT 1 FROM admins a WHERE a.tenant_id = t.id) ORDER BY id",
        )?
        .query_map([], |r| Ok((TenantId(r.get(0)?), r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?)
}
