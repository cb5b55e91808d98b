//! The live API keys recently seen, so that a busy SCIM client's token is not
//! looked up in SQLite on every request.
//!
//! Every write commit invalidates each reader's page cache, so under Entra's
//! stream of writes the token check re-read its pages from the WAL on every
//! request. Entries are keyed by the SHA-256 digest of the token (the same
//! value the database stores and looks up), never by the token itself, and
//! only live keys are kept: an unknown or revoked token always goes to the
//! database.
//!
//! A revocation through this server forgets every entry at once. A change made
//! by another process (a second server on the same file, a manual edit) is
//! seen within [`RECHECK_AFTER`], when the entry is checked again. Expiry is
//! checked on every use.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use crate::domain::api_keys::{KeyOwner, LiveKey};

/// How long a cached key is trusted before the database is asked again.
pub const RECHECK_AFTER: Duration = Duration::from_secs(1);

/// More live keys than any tenant set has: past it the cache starts over.
const MAX_ENTRIES: usize = 1024;

struct Entry {
    key: LiveKey,
    checked: Instant,
}

#[derive(Default)]
pub struct KeyCache {
    entries: Mutex<HashMap<[u8; 32], Entry>>,
    /// Bumped by [`KeyCache::forget_all`]: a lookup that read the database
    /// before a revocation must not store its (now stale) answer after it.
    generation: AtomicU64,
}

impl KeyCache {
    /// The owner of a cached live key, if it was checked recently and has not expired.
    pub fn get(&self, digest: &[u8; 32], now: Instant, wall: DateTime<Utc>) -> Option<KeyOwner> {
        let entries = self.entries.lock().ok()?;
        let entry = entries.get(digest)?;
        (now.saturating_duration_since(entry.checked) < RECHECK_AFTER && entry.key.works_at(wall))
            .then(|| entry.key.owner.clone())
    }

    /// What a lookup notes before it reads the database, for [`KeyCache::put`].
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Keeps a key the database just confirmed live, unless keys were
    /// forgotten since `generation` was read.
    pub fn put(&self, digest: [u8; 32], key: LiveKey, generation: u64, checked: Instant) {
        let Ok(mut entries) = self.entries.lock() else { return };
        // Checked under the lock that `forget_all` also takes.
        if self.generation.load(Ordering::Acquire) != generation {
            return;
        }
        if entries.len() >= MAX_ENTRIES && !entries.contains_key(&digest) {
            entries.clear();
        }
        entries.insert(digest, Entry { key, checked });
    }

    /// Forgets every key: called once a revocation has committed.
    pub fn forget_all(&self) {
        if let Ok(mut entries) = self.entries.lock() {
            self.generation.fetch_add(1, Ordering::AcqRel);
            entries.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::TenantId;

    fn key(expires: Option<DateTime<Utc>>) -> LiveKey {
        let owner = KeyOwner { key_id: 7, tenant: TenantId(1), tenant_slug: "t".into(), label: "entra".into() };
        LiveKey { owner, expires }
    }

    #[test]
    fn a_cached_key_is_trusted_until_it_is_due_a_recheck() {
        let cache = KeyCache::default();
        let (t0, wall) = (Instant::now(), Utc::now());
        cache.put([1; 32], key(None), cache.generation(), t0);
        assert_eq!(cache.get(&[1; 32], t0 + RECHECK_AFTER / 2, wall).map(|o| o.key_id), Some(7));
        assert!(cache.get(&[1; 32], t0 + RECHECK_AFTER, wall).is_none());
        assert!(cache.get(&[2; 32], t0, wall).is_none(), "another digest");
    }

    #[test]
    fn an_expired_key_is_not_served_from_the_cache() {
        let cache = KeyCache::default();
        let (t0, wall) = (Instant::now(), Utc::now());
        cache.put([1; 32], key(Some(wall + chrono::Duration::milliseconds(10))), cache.generation(), t0);
        assert!(cache.get(&[1; 32], t0, wall).is_some());
        assert!(cache.get(&[1; 32], t0, wall + chrono::Duration::milliseconds(10)).is_none());
    }

    #[test]
    fn a_lookup_that_raced_a_revocation_does_not_store_its_answer() {
        let cache = KeyCache::default();
        let t0 = Instant::now();
        cache.put([1; 32], key(None), cache.generation(), t0);
        // A lookup reads the generation and then the database, which still says live...
        let before = cache.generation();
        // ...while a revocation commits and forgets every key.
        cache.forget_all();
        assert!(cache.get(&[1; 32], t0, Utc::now()).is_none());
        cache.put([1; 32], key(None), before, t0);
        assert!(cache.get(&[1; 32], t0, Utc::now()).is_none(), "the stale answer was kept");
        cache.put([1; 32], key(None), cache.generation(), t0);
        assert!(cache.get(&[1; 32], t0, Utc::now()).is_some());
    }

    #[test]
    fn the_cache_stays_bounded() {
        let cache = KeyCache::default();
        let t0 = Instant::now();
        for i in 0..(MAX_ENTRIES + 10) {
            let mut digest = [0u8; 32];
            digest[..8].copy_from_slice(&(i as u64).to_le_bytes());
            cache.put(digest, key(None), cache.generation(), t0);
        }
        assert!(cache.entries.lock().unwrap().len() <= MAX_ENTRIES);
    }
}
