//! Provisioning before the load: one merchant (with its notify URL pointing at the bench's
//! receiver) and N funded bank customers, each bound to the merchant, using bayar's core
//! library directly on the fresh database before any server starts. The binding goes through
//! the same commands as the hosted page (OTP, then PIN, then the auth code exchanged for a
//! customer token), so every token is real. Provisioning is not measured.

use anyhow::{Context, Result, anyhow, bail};
use bayar_core::commands::{Answer, BeginBinding, SubmitOtp};
use bayar_core::customer::{PhoneNumber, Pin, Rail};
use bayar_core::merchant::{MerchantName, NewMerchant, NotifyUrl};
use bayar_core::store::Store;
use bayar_core::{Core, CoreConfig, NewCustomer};
use bayar_snap::{Money, PrivateKey};
use futures_util::future::try_join_all;

/// The PIN every bench customer has.
const PIN: &str = "135790";

/// Customers provisioned at once.
const PARALLEL: usize = 8;

/// What the load generator needs to act as the merchant and its customers.
#[derive(Clone)]
pub struct Provisioned {
    /// The merchant's `X-PARTNER-ID` / `X-CLIENT-KEY`.
    pub client_id: String,
    /// The HMAC secret of transactional calls.
    pub client_secret: String,
    /// The merchant's RSA key, for B2B token requests.
    pub private_key: PrivateKey,
    /// The merchant's id (`mch_...`), for the checks' queries.
    pub merchant_id: String,
    /// One customer token (`Authorization-Customer`) per bound customer.
    pub customer_tokens: Vec<String>,
}

/// Provisions the merchant and `customers` bound, funded customers on `database_url`.
pub async fn provision(
    database_url: &str,
    notify_url: &str,
    customers: usize,
    opening_balance: &str,
) -> Result<Provisioned> {
    let store = Store::open(database_url, true)
        .await
        .context("opening the fresh database")?;
    let result = provision_on(&store, notify_url, customers, opening_balance).await;
    store.close().await;
    // Give the argon2 buffers back to the system before the measured part starts.
    // SAFETY: malloc_trim only releases free heap memory; it has no preconditions.
    unsafe {
        libc::malloc_trim(0);
    }
    result
}

async fn provision_on(
    store: &Store,
    notify_url: &str,
    customers: usize,
    opening_balance: &str,
) -> Result<Provisioned> {
    let core = Core::start(store.clone(), CoreConfig::default()).await?;
    let created = core
        .create_merchant(NewMerchant {
            name: MerchantName::parse("Bench Merchant")?,
            notify_url: Some(NotifyUrl::parse(notify_url)?),
            public_key: None,
        })
        .await?;
    let merchant = created.merchant;
    let pem = created
        .private_key_pem
        .ok_or_else(|| anyhow!("bayar generated no private key for the merchant"))?;
    let private_key = PrivateKey::from_pem(pem.expose())?;
    let balance = Money::parse(opening_balance).map_err(|e| anyhow!("--balance: {e}"))?;

    // Concurrently, so the writer batches them, but a few at a time: every PIN hash and check
    // is argon2 with ~19 MiB of working memory on a blocking thread, and dozens at once would
    // inflate the bench's RSS by gigabytes (kept by the allocator's per-thread arenas).
    let mut customer_tokens = Vec::with_capacity(customers);
    let indices: Vec<usize> = (0..customers).collect();
    for chunk in indices.chunks(PARALLEL) {
        let tokens = try_join_all(chunk.iter().map(|&i| {
            let core = core.clone();
            let merchant = merchant.clone();
            async move {
                let phone = PhoneNumber::parse(&format!("0819{i:08}"))?;
                let customer = core
                    .create_customer(NewCustomer {
                        rail: Rail::Bank,
                        phone: phone.clone(),
                        pin: Pin::parse(PIN)?,
                        opening_balance: balance,
                    })
                    .await?;
                let binding = core
                    .run(BeginBinding {
                        merchant_id: merchant.id,
                        rail: Rail::Bank,
                        phone: customer.phone.clone(),
                        cust_id_merchant: format!("bench-{i}"),
                        success_url: "https://merchant.example/bound".into(),
                        failed_url: "https://merchant.example/unbound".into(),
                    })
                    .await?;
                let otp = binding.otp.expose().clone();
                let answer = core
                    .run(SubmitOtp {
                        binding_id: binding.id,
                        otp,
                    })
                    .await?;
                if !matches!(answer, Answer::Accepted { .. }) {
                    bail!("customer {i}: OTP refused: {answer:?}");
                }
                let Answer::Accepted {
                    auth_code: Some(code),
                    ..
                } = core
                    .submit_binding_pin(binding.id, Pin::parse(PIN)?)
                    .await?
                else {
                    bail!("customer {i}: PIN refused");
                };
                let tokens = core.exchange_auth_code(&merchant, code.expose()).await?;
                anyhow::Ok(tokens.access.token.expose().clone())
            }
        }))
        .await?;
        customer_tokens.extend(tokens);
    }
    Ok(Provisioned {
        client_id: merchant.client_id.as_str().to_string(),
        client_secret: merchant.client_secret.expose().clone(),
        private_key,
        merchant_id: merchant.id.to_string(),
        customer_tokens,
    })
}
