//! A short-lived cache of merchants by client id and by id: every signed request names its
//! merchant, every notification goes to one, and reading the row each time (and parsing its
//! public key) would put that work on the hot path. Entries live a few seconds, so a change (a
//! rotated secret, a new key, a new URL) reaches every process that quickly.

use std::collections::HashMap;
use std::sync::RwLock;
use std::time::{Duration, Instant};

use crate::ids::MerchantId;
use crate::merchant::{ClientId, Merchant};

/// Merchants recently read, by client id, with their client ids by merchant id.
#[derive(Debug)]
pub(crate) struct MerchantCache {
    ttl: Duration,
    entries: RwLock<Entries>,
}

#[derive(Debug, Default)]
struct Entries {
    by_client_id: HashMap<ClientId, (Instant, Merchant)>,
    client_ids: HashMap<MerchantId, ClientId>,
}

impl MerchantCache {
    /// An empty cache whose entries live `ttl`.
    pub(crate) fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            entries: RwLock::new(Entries::default()),
        }
    }

    /// The cached merchant presenting `client_id`, if read less than `ttl` ago.
    pub(crate) fn get(&self, client_id: &ClientId) -> Option<Merchant> {
        self.fresh(&*self.entries.read().ok()?, client_id)
    }

    /// The cached merchant with id `id`, if read less than `ttl` ago (one lock, no copy of
    /// the client id: every notification asks).
    pub(crate) fn get_by_id(&self, id: &MerchantId) -> Option<Merchant> {
        let entries = self.entries.read().ok()?;
        self.fresh(&entries, entries.client_ids.get(id)?)
    }

    fn fresh(&self, entries: &Entries, client_id: &ClientId) -> Option<Merchant> {
        let (at, merchant) = entries.by_client_id.get(client_id)?;
        (at.elapsed() < self.ttl).then(|| merchant.clone())
    }

    /// Remembers a merchant just read; drops expired entries when the map grows.
    pub(crate) fn put(&self, merchant: &Merchant) {
        if let Ok(mut entries) = self.entries.write() {
            if entries.by_client_id.len() >= 10_000 {
                let Entries {
                    by_client_id,
                    client_ids,
                } = &mut *entries;
                by_client_id.retain(|_, (at, _)| at.elapsed() < self.ttl);
                client_ids.retain(|_, client_id| by_client_id.contains_key(client_id));
            }
            entries
                .client_ids
                .insert(merchant.id, merchant.client_id.clone());
            entries.by_client_id.insert(
                merchant.client_id.clone(),
                (Instant::now(), merchant.clone()),
            );
        }
    }

    /// Drops a merchant whose credentials just changed, so this process sees the change now.
    pub(crate) fn forget(&self, client_id: &ClientId) {
        if let Ok(mut entries) = self.entries.write()
            && let Some((_, merchant)) = entries.by_client_id.remove(client_id)
        {
            entries.client_ids.remove(&merchant.id);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use chrono::Utc;

    use super::MerchantCache;
    use crate::ids::MerchantId;
    use crate::merchant::{ClientId, Merchant, MerchantName, MerchantUrls};

    fn merchant() -> Merchant {
        Merchant {
            id: MerchantId::generate(),
            name: MerchantName::parse("Toko Cache").unwrap(),
            client_id: ClientId::generate(),
            client_secret: crate::merchant::generate_client_secret(),
            public_key: bayar_snap::PrivateKey::generate().unwrap().public_key(),
            notify_url: None,
            urls: MerchantUrls::default(),
            created_at: Utc::now(),
        }
    }

    #[test]
    fn a_merchant_is_found_by_client_id_and_by_id_until_forgotten() {
        let merchant = merchant();
        let cache = MerchantCache::new(Duration::from_secs(60));
        assert!(cache.get_by_id(&merchant.id).is_none());
        cache.put(&merchant);
        assert_eq!(
            cache.get(&merchant.client_id).map(|m| m.id),
            Some(merchant.id)
        );
        assert_eq!(
            cache.get_by_id(&merchant.id).map(|m| m.id),
            Some(merchant.id)
        );
        cache.forget(&merchant.client_id);
        assert!(cache.get(&merchant.client_id).is_none());
        assert!(cache.get_by_id(&merchant.id).is_none());
    }

    #[test]
    fn entries_expire() {
        let merchant = merchant();
        let cache = MerchantCache::new(Duration::ZERO);
        cache.put(&merchant);
        assert!(cache.get_by_id(&merchant.id).is_none());
    }
}
