//! A fixture for core tests: a core on a fresh store with one merchant, and helpers to open
//! customers, read balances and check the ledger.

#![allow(dead_code)]

use bayar_core::commands::CreatePayment;
use bayar_core::customer::{Customer, PhoneNumber, Pin, Rail};
use bayar_core::ledger::AccountId;
use bayar_core::merchant::{Merchant, MerchantName, NewMerchant};
use bayar_core::payment::{Channel, PartnerReference};
use bayar_core::testing::TestStore;
use bayar_core::{Core, CoreConfig, NewCustomer};
use bayar_snap::Money;

pub struct Fixture {
    pub core: Core,
    pub merchant: Merchant,
    pub engine: &'static str,
    pub store: TestStore,
}

pub fn idr(s: &str) -> Money {
    Money::parse(s).unwrap()
}

impl Fixture {
    pub async fn new(store: TestStore) -> Fixture {
        let core = Core::start(store.store.clone(), CoreConfig::default())
            .await
            .unwrap();
        let merchant = core
            .create_merchant(NewMerchant {
                name: MerchantName::parse("Toko Test").unwrap(),
                notify_url: None,
                public_key: Some(bayar_snap::PrivateKey::generate().unwrap().public_key()),
            })
            .await
            .unwrap()
            .merchant;
        Fixture {
            engine: store.engine,
            core,
            merchant,
            store,
        }
    }

    pub async fn customer(&self, rail: Rail, phone: &str, balance: &str) -> Customer {
        self.core
            .create_customer(NewCustomer {
                rail,
                phone: PhoneNumber::parse(phone).unwrap(),
                pin: Pin::parse("123456").unwrap(),
                opening_balance: idr(balance),
            })
            .await
            .unwrap()
    }

    pub fn payment(&self, reference: &str, channel: Channel, amount: &str) -> CreatePayment {
        CreatePayment {
            merchant_id: self.merchant.id,
            partner_reference_no: PartnerReference::parse(reference).unwrap(),
            external_id: format!("ext-{reference}"),
            channel,
            face: bayar_core::payment::Face::Doku,
            amount: idr(amount),
            valid_until: None,
            title: None,
            return_url: None,
            notify_url: None,
        }
    }

    /// Posted balance in minor units.
    pub async fn posted(&self, account: &AccountId) -> i64 {
        self.core.balance(account).await.unwrap().unwrap().posted
    }

    /// Posted minus held.
    pub async fn available(&self, account: &AccountId) -> i64 {
        self.core
            .balance(account)
            .await
            .unwrap()
            .unwrap()
            .available()
    }

    pub fn available_account(&self) -> AccountId {
        AccountId::merchant_available(&self.merchant.id)
    }

    pub fn deposit_account(&self) -> AccountId {
        AccountId::merchant_deposit(&self.merchant.id)
    }

    pub async fn assert_ledger_sound(&self) {
        let breaches = self.core.verify_ledger().await.unwrap();
        assert!(
            breaches.is_empty(),
            "{}: ledger breaches: {breaches:?}",
            self.engine
        );
    }

    /// Runs a one-argument write outside the core, behind the ledger's back (to test
    /// that `verify` notices).
    pub async fn execute(&self, sql: &str, arg: &str) {
        match &self.store.store {
            bayar_core::store::Store::Sqlite { writer, .. } => {
                sqlx::query(sql).bind(arg).execute(writer).await.map(drop)
            }
            bayar_core::store::Store::Postgres(pool) => {
                sqlx::query(sql).bind(arg).execute(pool).await.map(drop)
            }
        }
        .unwrap();
    }

    /// How many outbox events exist of a kind.
    pub async fn events(&self, kind: &str) -> i64 {
        let sql = "SELECT COUNT(*) FROM events WHERE kind = $1";
        match &self.store.store {
            bayar_core::store::Store::Sqlite { readers, .. } => sqlx::query_scalar(sql)
                .bind(kind)
                .fetch_one(readers)
                .await
                .unwrap(),
            bayar_core::store::Store::Postgres(pool) => sqlx::query_scalar(sql)
                .bind(kind)
                .fetch_one(pool)
                .await
                .unwrap(),
        }
    }
}

/// Runs a read query on whichever engine `store` is, returning every row.
pub async fn fetch_rows<T>(store: &bayar_core::store::Store, sql: &str) -> Vec<T>
where
    T: for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow>
        + for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>
        + Send
        + Unpin,
{
    match store {
        bayar_core::store::Store::Sqlite { readers, .. } => sqlx::query_as(sql)
            .fetch_all(readers)
            .await
            .unwrap_or_else(|e| panic!("sqlite: {sql}: {e}")),
        bayar_core::store::Store::Postgres(pool) => sqlx::query_as(sql)
            .fetch_all(pool)
            .await
            .unwrap_or_else(|e| panic!("postgres: {sql}: {e}")),
    }
}

/// Every ledger account's balances, by account id: `(posted, pending_debits, pending_credits)`.
pub async fn all_balances(
    store: &bayar_core::store::Store,
) -> std::collections::BTreeMap<String, (i64, i64, i64)> {
    fetch_rows::<(String, i64, i64, i64)>(
        store,
        "SELECT id, balance, pending_debits, pending_credits FROM accounts",
    )
    .await
    .into_iter()
    .map(|(id, posted, debits, credits)| (id, (posted, debits, credits)))
    .collect()
}

/// How many outbox events exist, by kind.
pub async fn event_counts(
    store: &bayar_core::store::Store,
) -> std::collections::BTreeMap<String, i64> {
    fetch_rows::<(String, i64)>(
        store,
        "SELECT kind, CAST(COUNT(*) AS BIGINT) FROM events GROUP BY kind",
    )
    .await
    .into_iter()
    .collect()
}

/// Everything a command could have written, as comparable text: balances, payments and their
/// states, refunds, disbursements, customers' statuses, events, transfers, entries, legs,
/// idempotency records. Equal snapshots before and after a command mean it left no trace.
pub async fn snapshot(store: &bayar_core::store::Store) -> Vec<String> {
    const QUERIES: [&str; 10] = [
        "SELECT 'account ' || id || ' ' || CAST(balance AS TEXT) || ' '
                || CAST(pending_debits AS TEXT) || ' ' || CAST(pending_credits AS TEXT)
         FROM accounts ORDER BY id",
        "SELECT 'payment ' || id || ' ' || status || ' ' || CAST(refunded AS TEXT) || ' '
                || CAST(refund_count AS TEXT) || ' ' || COALESCE(customer_id, '-') || ' '
                || COALESCE(failure, '-') || ' ' || CAST(updated_at AS TEXT) || ' '
                || COALESCE(CAST(paid_at AS TEXT), '-')
         FROM payments ORDER BY id",
        "SELECT 'refund ' || id || ' ' || payment_id || ' ' || CAST(amount AS TEXT)
         FROM refunds ORDER BY id",
        "SELECT 'disbursement ' || id || ' ' || status || ' ' || COALESCE(failure, '-')
         FROM disbursements ORDER BY id",
        "SELECT 'customer ' || id || ' ' || status FROM customers ORDER BY id",
        "SELECT 'event ' || id || ' ' || kind || ' ' || subject_id FROM events ORDER BY id",
        "SELECT 'transfer ' || id || ' ' || kind FROM transfers ORDER BY id",
        "SELECT 'entry ' || transfer_id || ' ' || account_id || ' ' || CAST(amount AS TEXT)
         FROM entries ORDER BY transfer_id, account_id",
        "SELECT 'leg ' || transfer_id || ' ' || CAST(leg AS TEXT) FROM transfer_legs
         ORDER BY transfer_id, leg",
        "SELECT 'idempotency ' || scope || ' ' || key FROM idempotency ORDER BY scope, key",
    ];
    let mut rows = Vec::new();
    for sql in QUERIES {
        rows.extend(
            fetch_rows::<(String,)>(store, sql)
                .await
                .into_iter()
                .map(|(row,)| row),
        );
    }
    rows
}
