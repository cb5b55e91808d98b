//! Sign-in with the tenant's OpenID Connect provider (Microsoft Entra ID):
//! its configuration, with the client secret sealed by a [`SecretBox`]; which
//! provisioned user an asserted identity is, and whether they may come in;
//! and the sessions of the users who did.

use chrono::{DateTime, Duration, Utc};
use rusqlite::{params, Connection, OptionalExtension};

use super::access::{self, Access};
use super::admins::{digest, random_token, SESSION_HOURS};
use super::sign_in_events::{self, Method, Outcome};
use super::tenants::Tenant;
use super::users::{self, User};
use super::{format_time, now, parse_time, roles, Error, Result, TenantId};
use crate::secretbox::SecretBox;

/// Which ID-token claim names the provisioned user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Claim {
    /// Matched to `userName`, case-insensitively (Entra: the user principal name).
    #[default]
    PreferredUsername,
    /// Matched to any of the user's e-mail addresses, case-insensitively.
    Email,
    /// Entra's object id, matched to `externalId` (when Entra maps objectId to it).
    Oid,
}

impl Claim {
    pub const ALL: [Claim; 3] = [Claim::PreferredUsername, Claim::Email, Claim::Oid];

    pub fn as_str(self) -> &'static str {
        match self {
            Claim::PreferredUsername => "preferred_username",
            Claim::Email => "email",
            Claim::Oid => "oid",
        }
    }

    pub fn parse(s: &str) -> Option<Claim> {
        Claim::ALL.into_iter().find(|c| c.as_str() == s)
    }

    /// The user attribute the claim is matched to, for people.
    pub fn matched_to(self) -> &'static str {
        match self {
            Claim::PreferredUsername => "userName",
            Claim::Email => "an e-mail address",
            Claim::Oid => "externalId",
        }
    }
}

/// What is known of the stored client secret; never the secret itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretState {
    Missing,
    /// Stored and readable; `last4` is empty for secrets too short to show any of.
    Stored {
        last4: String,
    },
    /// Stored under another `secret_key`: it must be entered again.
    Unreadable,
}

/// A tenant's SSO configuration, as the settings page shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SsoConfig {
    pub enabled: bool,
    pub issuer: String,
    pub client_id: String,
    pub claim: Claim,
    pub secret: SecretState,
    /// None: never saved.
    pub updated: Option<DateTime<Utc>>,
}

/// What an administrator submits. A blank `client_secret` keeps the stored one.
#[derive(Debug, Clone, Default)]
pub struct SsoInput {
    pub enabled: bool,
    pub issuer: String,
    pub client_id: String,
    pub client_secret: String,
    pub claim: String,
}

/// Everything sign-in needs, secret included (only in memory, never logged).
#[derive(Clone)]
pub struct Provider {
    pub issuer: String,
    pub client_id: String,
    pub client_secret: String,
    pub claim: Claim,
}

impl std::fmt::Debug for Provider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Provider")
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field("claim", &self.claim)
            .finish_non_exhaustive()
    }
}

const MAX_ISSUER: usize = 2048;
const MAX_CLIENT_ID: usize = 256;
const MAX_SECRET: usize = 1024;
/// Secrets shorter than this show none of their characters.
const SHOW_LAST4_FROM: usize = 16;

/// The associated data sealing a tenant's client secret to its row.
fn sealed_for(tenant: TenantId) -> String {
    format!("sso_configs.client_secret_enc tenant={}", tenant.0)
}

/// Checks an issuer URL: https with a host, no credentials, query or fragment;
/// plain http only on loopback (127.0.0.1, localhost, [::1]) for local testing.
pub fn validate_issuer(issuer: &str) -> std::result::Result<(), String> {
    let example = "such as https://login.microsoftonline.com/<directory (tenant) id>/v2.0";
    if issuer.is_empty() {
        return Err(format!("enter the issuer URL, {example}"));
    }
    if issuer.len() > MAX_ISSUER {
        return Err(format!("the issuer URL is longer than {MAX_ISSUER} characters"));
    }
    let url = url::Url::parse(issuer).map_err(|e| format!("the issuer is not a URL ({e}); enter one {example}"))?;
    let loopback = matches!(url.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"));
    match url.scheme() {
        "https" => {}
        "http" if loopback => {}
        _ => return Err(format!("the issuer must be an https:// URL, {example}")),
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(format!("the issuer URL has no host; enter one {example}"));
    }
    if !url.username().is_empty() || url.password().is_some() || url.query().is_some() || url.fragment().is_some() {
        return Err("the issuer URL must not carry a user name, password, query or fragment".into());
    }
    Ok(())
}

/// The first field of `input` that [`save`] would refuse, and why:
/// `("issuer" | "client_id" | "client_secret" | "claim", message)`.
/// `secret_usable` says whether a readable secret is already stored.
pub fn invalid_field(input: &SsoInput, secret_usable: bool) -> Option<(&'static str, String)> {
    if let Err(m) = validate_issuer(input.issuer.trim()) {
        return Some(("issuer", m));
    }
    let client_id = input.client_id.trim();
    if client_id.is_empty() || client_id.chars().count() > MAX_CLIENT_ID {
        return Some((
            "client_id",
            format!("enter the application (client) id of the app registration (1 to {MAX_CLIENT_ID} characters)"),
        ));
    }
    if input.client_secret.chars().count() > MAX_SECRET {
        return Some(("client_secret", format!("the client secret is longer than {MAX_SECRET} characters")));
    }
    if Claim::parse(&input.claim).is_none() {
        return Some(("claim", "choose preferred_username, email or oid".into()));
    }
    if input.enabled && input.client_secret.trim().is_empty() && !secret_usable {
        return Some(("client_secret", "enter the client secret before turning sign-in with Microsoft on".into()));
    }
    None
}

fn secret_state(secrets: &SecretBox, tenant: TenantId, sealed: Option<&[u8]>) -> (SecretState, Option<String>) {
    let Some(sealed) = sealed else { return (SecretState::Missing, None) };
    match secrets.open(sealed, &sealed_for(tenant)).and_then(|b| String::from_utf8(b).ok()) {
        Some(secret) => {
            let n = secret.chars().count();
            let last4 = if n >= SHOW_LAST4_FROM { secret.chars().skip(n - 4).collect() } else { String::new() };
            (SecretState::Stored { last4 }, Some(secret))
        }
        None => (SecretState::Unreadable, None),
    }
}

type Row = (bool, String, String, Option<Vec<u8>>, String, String);

fn row(conn: &Connection, tenant: TenantId) -> Result<Option<Row>> {
    Ok(conn
        .prepare_cached(
            "SELECT enabled, issuer, client_id, client_secret_enc, claim, updated FROM sso_configs WHERE tenant_id = ?1",
        )?
        .query_row([tenant.0], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?)))
        .optional()?)
}

/// The tenant's configuration (off and empty when never saved).
pub fn get(conn: &Connection, tenant: TenantId, secrets: &SecretBox) -> Result<SsoConfig> {
    Ok(load(conn, tenant, secrets)?.0)
}

fn load(conn: &Connection, tenant: TenantId, secrets: &SecretBox) -> Result<(SsoConfig, Option<String>)> {
    let Some((enabled, issuer, client_id, sealed, claim, updated)) = row(conn, tenant)? else {
        let empty = SsoConfig {
            enabled: false,
            issuer: String::new(),
            client_id: String::new(),
            claim: Claim::default(),
            secret: SecretState::Missing,
            updated: None,
        };
        return Ok((empty, None));
    };
    let (secret, plain) = secret_state(secrets, tenant, sealed.as_deref());
    let claim = Claim::parse(&claim).unwrap_or_default();
    Ok((SsoConfig { enabled, issuer, client_id, claim, secret, updated: Some(parse_time(&updated)) }, plain))
}

/// Saves the configuration. A blank secret keeps the stored one; a new one is
/// sealed. Turning sign-in on needs a usable secret.
pub fn save(conn: &Connection, tenant: TenantId, input: &SsoInput, secrets: &SecretBox) -> Result<SsoConfig> {
    let current = row(conn, tenant)?.and_then(|r| r.3);
    let usable = matches!(secret_state(secrets, tenant, current.as_deref()).0, SecretState::Stored { .. });
    if let Some((_, message)) = invalid_field(input, usable) {
        return Err(Error::Invalid(message));
    }
    let sealed = match input.client_secret.trim() {
        "" => current,
        secret => Some(secrets.seal(secret.as_bytes(), &sealed_for(tenant))),
    };
    let claim = Claim::parse(&input.claim).unwrap_or_default();
    conn.prepare_cached(
        "INSERT INTO sso_configs (tenant_id, enabled, issuer, client_id, client_secret_enc, claim, updated)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
         ON CONFLICT (tenant_id) DO UPDATE SET enabled = ?2, issuer = ?3, client_id = ?4,
             client_secret_enc = ?5, claim = ?6, updated = ?7",
    )?
    .execute(params![
        tenant.0,
        input.enabled,
        input.issuer.trim(),
        input.client_id.trim(),
        sealed,
        claim.as_str(),
        format_time(&now())
    ])?;
    get(conn, tenant, secrets)
}

/// Whether a tenant's people can sign in with SSO now.
#[derive(Debug, Clone)]
pub enum SignInWith {
    /// The tenant has sign-in with SSO switched off (or never set up).
    Off,
    /// Switched on, but its client secret cannot be read (the server's
    /// `secret_key` changed since it was saved): it must be entered again.
    SecretUnreadable,
    Provider(Provider),
}

impl SignInWith {
    /// The provider, when sign-in can run.
    pub fn ready(self) -> Option<Provider> {
        match self {
            SignInWith::Provider(p) => Some(p),
            _ => None,
        }
    }
}

/// What sign-in with SSO can do for `tenant`: one read of its configuration.
pub fn provider(conn: &Connection, tenant: TenantId, secrets: &SecretBox) -> Result<SignInWith> {
    let (config, secret) = load(conn, tenant, secrets)?;
    Ok(match secret {
        _ if !config.enabled => SignInWith::Off,
        Some(client_secret) => SignInWith::Provider(Provider {
            issuer: config.issuer,
            client_id: config.client_id,
            client_secret,
            claim: config.claim,
        }),
        None => SignInWith::SecretUnreadable,
    })
}

/// True when the tenant has sign-in with SSO switched on.
pub fn enabled(conn: &Connection, tenant: TenantId) -> Result<bool> {
    Ok(conn
        .prepare_cached("SELECT enabled FROM sso_configs WHERE tenant_id = ?1")?
        .query_row([tenant.0], |r| r.get(0))
        .optional()?
        .unwrap_or(false))
}

/// Which provisioned user an asserted identity is.
#[derive(Debug, Clone, PartialEq)]
pub enum Matched {
    Unknown,
    /// More than one user has it (an e-mail address or externalId may repeat).
    Ambiguous,
    User(Box<User>),
}

/// Finds the provisioned user of `tenant` whose `claim` attribute is `value`.
pub fn match_identity(conn: &Connection, tenant: TenantId, claim: Claim, value: &str) -> Result<Matched> {
    let value = value.trim();
    if value.is_empty() {
        return Ok(Matched::Unknown);
    }
    let mut found = match claim {
        Claim::PreferredUsername => users::find_by_user_name(conn, tenant, value)?.into_iter().collect(),
        Claim::Email => users::find_by_email(conn, tenant, value, 2)?,
        Claim::Oid => users::find_by_external_id(conn, tenant, value, 2)?,
    };
    Ok(match found.len() {
        0 => Matched::Unknown,
        1 => Matched::User(Box::new(found.remove(0))),
        _ => Matched::Ambiguous,
    })
}

/// How an SSO sign-in ended.
#[derive(Debug, Clone, PartialEq)]
pub enum SignIn {
    /// In: the new session's cookie secret, the user, and whether their role
    /// lets them manage System Settings.
    Started { secret: String, user: Box<User>, manages_settings: bool },
    /// Not in, and why (for the person, and recorded).
    Refused { reason: String },
}

/// Signs in the user whose `claim` is `value` (None: the ID token lacked the
/// claim): a new session when they are a provisioned, active user of
/// `tenant`, else a refusal. Either way the attempt is recorded.
pub fn sign_in(conn: &Connection, tenant: TenantId, claim: Claim, value: Option<&str>) -> Result<SignIn> {
    let identity = value.unwrap_or_default();
    let refused = |reason: String| -> Result<SignIn> {
        sign_in_events::record(conn, tenant, Method::Sso, identity, Outcome::Refused, &reason)?;
        Ok(SignIn::Refused { reason })
    };
    let Some(value) = value.filter(|v| !v.trim().is_empty()) else {
        return refused(format!(
            "Microsoft Entra ID did not send the {} claim that this tenant identifies people by. \
             Add it to the app registration's ID token (Token configuration › Add optional claim), or choose another claim in SSO Config.",
            claim.as_str()
        ));
    };
    let user = match match_identity(conn, tenant, claim, value)? {
        Matched::User(user) => user,
        Matched::Unknown => {
            return refused(format!(
                "No user with {} “{value}” is provisioned for this tenant. Ask an administrator to assign you \
                 to the enterprise application in Microsoft Entra ID, then wait for the next provisioning cycle.",
                claim.matched_to()
            ))
        }
        Matched::Ambiguous => {
            return refused(format!(
                "More than one provisioned user has {} “{value}”, so it does not say who you are. \
                 Ask an administrator to identify people by preferred_username instead.",
                claim.matched_to()
            ))
        }
    };
    if user.active == Some(false) {
        return refused(format!("The account “{}” is suspended in Microsoft Entra ID.", user.user_name));
    }
    let access = access::effective(conn, tenant, &user)?;
    let secret = start_session(conn, tenant, &user)?;
    sign_in_events::record(conn, tenant, Method::Sso, &user.user_name, Outcome::SignedIn, "")?;
    Ok(SignIn::Started { secret, user, manages_settings: access.has_permission(roles::MANAGE_SYSTEM_SETTINGS) })
}

/// A provisioned user's live session, re-checked: the user as stored now and
/// their effective access now.
#[derive(Debug, Clone, PartialEq)]
pub struct UserSession {
    pub tenant: Tenant,
    pub user: User,
    pub access: Access,
    pub csrf_token: String,
    pub expires: DateTime<Utc>,
}

/// What a session cookie's secret leads to.
#[derive(Debug, Clone, PartialEq)]
pub enum SessionLookup {
    Live(Box<UserSession>),
    /// It existed and ran out.
    Expired,
    /// No such session: ended, or its user was deleted (which deletes it).
    Missing,
}

/// Starts a session for an active user; returns the cookie secret (only its hash is stored).
pub fn start_session(conn: &Connection, tenant: TenantId, user: &User) -> Result<String> {
    if user.active == Some(false) {
        return Err(Error::Invalid(format!("{} is suspended", user.user_name)));
    }
    let secret = random_token();
    let at = now();
    conn.prepare_cached(
        "INSERT INTO user_sessions (token_hash, tenant_id, user_id, csrf_token, created, expires)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![
        digest(&secret),
        tenant.0,
        user.row_id,
        random_token(),
        format_time(&at),
        format_time(&(at + Duration::hours(SESSION_HOURS)))
    ])?;
    // Expired sessions of this user are of no further use.
    conn.prepare_cached("DELETE FROM user_sessions WHERE user_id = ?1 AND expires < ?2")?
        .execute(params![user.row_id, format_time(&at)])?;
    Ok(secret)
}

/// The session for a cookie secret, with its user and their access as they are now.
pub fn find_session(conn: &Connection, secret: &str) -> Result<SessionLookup> {
    let found = conn
        .prepare_cached(
            "SELECT s.tenant_id, t.slug, t.name, s.user_id, s.csrf_token, s.expires
             FROM user_sessions s JOIN tenants t ON t.id = s.tenant_id WHERE s.token_hash = ?1",
        )?
        .query_row([digest(secret)], |r| {
            let tenant = Tenant { id: TenantId(r.get(0)?), slug: r.get(1)?, name: r.get(2)? };
            Ok((tenant, r.get::<_, i64>(3)?, r.get::<_, String>(4)?, parse_time(&r.get::<_, String>(5)?)))
        })
        .optional()?;
    let Some((tenant, user_row, csrf_token, expires)) = found else { return Ok(SessionLookup::Missing) };
    if expires <= now() {
        return Ok(SessionLookup::Expired);
    }
    let Some(user) = users::find_by_row(conn, tenant.id, user_row)? else { return Ok(SessionLookup::Missing) };
    let access = access::effective(conn, tenant.id, &user)?;
    Ok(SessionLookup::Live(Box::new(UserSession { tenant, user, access, csrf_token, expires })))
}

/// Ends one session.
pub fn end_session(conn: &Connection, secret: &str) -> Result<()> {
    conn.prepare_cached("DELETE FROM user_sessions WHERE token_hash = ?1")?.execute([digest(secret)])?;
    Ok(())
}

/// Ends every session of a user (suspended: none of them may go on); returns how many.
pub fn end_sessions_of(conn: &Connection, user_row: i64) -> Result<usize> {
    Ok(conn.prepare_cached("DELETE FROM user_sessions WHERE user_id = ?1")?.execute([user_row])?)
}

#[cfg(test)]
#[path = "sso_tests.rs"]
mod tests;
