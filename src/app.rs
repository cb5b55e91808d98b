//! Shared application state: the database and what every surface needs to know.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::config::AppConfig;
use crate::db::{Db, DbError, WriteQueue};
use crate::domain::api_keys::{self, KeyOwner};
use crate::key_cache::KeyCache;
use crate::oidc::Oidc;
use crate::secretbox::SecretBox;

/// Managed Rocket state.
#[derive(Clone)]
pub struct App {
    pub db: Db,
    /// The server's writes, group-committed on one thread (`None` only if
    /// that thread could not be started: writes then run one by one).
    writes: Option<WriteQueue>,
    pub config: AppConfig,
    /// `public_url` resolved once.
    pub public_url: String,
    /// When each API key's `last_used` was last written, so that busy keys
    /// cost one write a minute rather than one per request.
    pub key_use: Arc<Mutex<HashMap<i64, Instant>>>,
    /// Live API keys recently confirmed by the database.
    pub keys: Arc<KeyCache>,
    /// Failed sign-ins, per account and per client address.
    pub sign_in_throttle: Arc<crate::throttle::Throttle>,
    /// The optional per-token SCIM rate limit.
    pub scim_limiter: Option<Arc<crate::throttle::RateLimiter>>,
    /// Seals the stored secrets that must be read back (SSO client secrets).
    pub secrets: SecretBox,
    /// The OpenID Connect relying party, with its per-issuer cache.
    pub oidc: Arc<Oidc>,
}

/// How stale an API key's `last used` time may get.
pub const KEY_USE_RESOLUTION: Duration = Duration::from_secs(60);

impl App {
    pub fn new(db: Db, config: AppConfig, secrets: SecretBox) -> App {
        let writes = WriteQueue::start(db.clone())
            .inspect_err(|e| rocket::warn!("writes will not be batched: cannot start the writer thread: {e}"))
            .ok();
        App {
            writes,
            db,
            secrets,
            oidc: Arc::new(Oidc::new()),
            public_url: config.public_url(),
            key_use: Arc::default(),
            keys: Arc::default(),
            sign_in_throttle: Arc::default(),
            scim_limiter: (config.scim_rate_limit > 0.0)
                .then(|| Arc::new(crate::throttle::RateLimiter::new(config.scim_rate_limit, config.scim_rate_burst))),
            config,
        }
    }

    /// The owner of a presented API key if it is live (not revoked, not
    /// expired): from the key cache when the database confirmed it within
    /// the last second, otherwise from the database.
    pub async fn authenticate(&self, token: &str) -> Result<Option<KeyOwner>, crate::domain::Error> {
        let digest = api_keys::digest(token);
        if let Some(owner) = self.keys.get(&digest, Instant::now(), chrono::Utc::now()) {
            return Ok(Some(owner));
        }
        let generation = self.keys.generation();
        // One statement: no transaction needed around it.
        let live = self.lookup_one(move |conn| api_keys::find_live(conn, &digest)).await?;
        Ok(live.map(|key| {
            let owner = key.owner.clone();
            self.keys.put(digest, key, generation, Instant::now());
            owner
        }))
    }

    /// Revokes API key `id` of `tenant`; once that has committed, no request
    /// is let in on a cached answer from before.
    pub async fn revoke_api_key(&self, tenant: crate::domain::TenantId, id: i64) -> Result<(), crate::domain::Error> {
        self.write(move |tx| api_keys::revoke(tx, tenant, id)).await?;
        self.keys.forget_all();
        Ok(())
    }

    /// Records, in the background, that key `id` was used (at most once a
    /// minute per key). Bookkeeping must neither fail nor delay the request.
    pub fn record_key_use(&self, id: i64) {
        if !self.key_use_due(id) {
            return;
        }
        let app = self.clone();
        rocket::tokio::spawn(async move {
            if let Err(e) = app.write(move |tx| crate::domain::api_keys::mark_used(tx, id)).await {
                rocket::warn!("could not record API key use: {e}");
            }
        });
    }

    /// True when key `id`'s `last_used` is due a write (and notes that it is being written).
    pub fn key_use_due(&self, id: i64) -> bool {
        let Ok(mut seen) = self.key_use.lock() else { return false };
        let now = Instant::now();
        match seen.get(&id) {
            Some(at) if now.duration_since(*at) < KEY_USE_RESOLUTION => false,
            _ => {
                seen.insert(id, now);
                true
            }
        }
    }

    /// Runs `f` as one request's write: atomically (a failure changes
    /// nothing), answered once it is committed. `f` may run more than once
    /// and must only act through its transaction (see `db::group_commit`).
    pub async fn write<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnMut(&rusqlite::Transaction) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<DbError> + Send + 'static,
    {
        if let Some(queue) = &self.writes {
            return queue.write(f).await;
        }
        let db = self.db.clone();
        rocket::tokio::task::spawn_blocking(move || db.write(f))
            .await
            .unwrap_or_else(|e| Err(E::from(DbError::Migration(format!("database task failed: {e}")))))
    }

    /// Runs a short read transaction (a few indexed lookups) on the calling
    /// thread when a reader is free, saving two thread hand-offs; otherwise on
    /// a blocking thread like [`App::read`]. WAL readers never wait for the
    /// writer, so this does not stall the async worker; never use it for scans.
    pub async fn lookup<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&rusqlite::Connection) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<DbError> + Send + 'static,
    {
        match self.db.try_read(f) {
            Ok(result) => result,
            Err(f) => self.read(f).await,
        }
    }

    /// [`App::lookup`] for `f` that runs exactly one statement, without a
    /// transaction around it (see [`crate::db::Db::try_read_one`]).
    pub async fn lookup_one<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&rusqlite::Connection) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<DbError> + Send + 'static,
    {
        match self.db.try_read_one(f) {
            Ok(result) => result,
            Err(f) => self.read(f).await,
        }
    }

    /// Runs a read transaction on a blocking thread.
    pub async fn read<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&rusqlite::Connection) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<DbError> + Send + 'static,
    {
        let db = self.db.clone();
        rocket::tokio::task::spawn_blocking(move || db.read(f))
            .await
            .unwrap_or_else(|e| Err(E::from(DbError::Migration(format!("database task failed: {e}")))))
    }
}
