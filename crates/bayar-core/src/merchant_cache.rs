//! A short-lived cache of merchants by client id: every signed request names its merchant, and
//! reading the row each time would put a database round trip on the hot path. Entries live a
//! few seconds, so a change (a rotated secret, a new key) reaches every process that quickly.

use std::collections::HashMap;
use std::sync::RwLock;
use std::time::{Duration, Instant};

use crate::merchant::{ClientId, Merchant};

/// Merchants recently read, by client id.
#[derive(Debug)]
pub(crate) struct MerchantCache {
    ttl: Duration,
    entries: RwLock<HashMap<ClientId, (Instant, Merchant)>>,
}

impl MerchantCache {
    /// An empty cache whose entries live `ttl`.
    pub(crate) fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            entries: RwLock::new(HashMap::new()),
        }
    }

    /// The cached merchant, if read less than `ttl` ago.
    pub(crate) fn get(&self, client_id: &ClientId) -> Option<Merchant> {
        let entries = self.entries.read().ok()?;
        let (at, merchant) = entries.get(client_id)?;
        (at.elapsed() < self.ttl).then(|| merchant.clone())
    }

    /// Remembers a merchant just read; drops expired entries when the map grows.
    pub(crate) fn put(&self, merchant: &Merchant) {
        if let Ok(mut entries) = self.entries.write() {
            if entries.len() >= 10_000 {
                entries.retain(|_, (at, _)| at.elapsed() < self.ttl);
            }
            entries.insert(
                merchant.client_id.clone(),
                (Instant::now(), merchant.clone()),
            );
        }
    }

    /// Drops a merchant whose credentials just changed, so this process sees the change now.
    pub(crate) fn forget(&self, client_id: &ClientId) {
        if let Ok(mut entries) = self.entries.write() {
            entries.remove(client_id);
        }
    }
}
