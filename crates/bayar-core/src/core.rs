//! [`Core`]: the one entry point every face calls.

use std::sync::Arc;
use std::time::Duration;

use crate::handoff::Handoff;
use bayar_snap::{PrivateKey, PublicKey};
use chrono::{DateTime, Utc};

use crate::api_key::ApiKey;
use crate::api_log::{self, ApiLogQueue};
use crate::binding::{Binding, BindingStatus, auth_code_hash};
use crate::commands::{
    Answer, BeginBinding, CreateCustomer, CreateMerchant, PayWithWallet, RecordPin, RedeemAuthCode,
    RedeemOneTimeToken, WalletOutcome,
};
use crate::customer::{Customer, CustomerStatus, PhoneNumber, Pin, Rail, generate_account_number};
use crate::error::CoreError;
use crate::gateway::{GatewayKeys, StoredGatewayKeys};
use crate::idempotency::{IdempotencyKey, Idempotent, StoredResponse, WithKey};
use crate::ids::MerchantId;
use crate::ids::{BindingId, CustomerId, PaymentId};
use crate::ledger::{AccountId, Balance, Breach};
use crate::merchant::{
    ClientId, CreatedMerchant, Merchant, MerchantUrls, NewMerchant, generate_client_secret,
};
use crate::merchant_cache::MerchantCache;
use crate::payment::Fees;
use crate::payment::Payment;
use crate::secret::Secret;
use crate::store::Store;
use crate::token::{self, IssuedToken, TokenError, TokenKind};
use crate::writer::{Command, Context, Writer, WriterConfig};

/// Tunables of the core.
#[derive(Clone, Debug)]
pub struct CoreConfig {
    /// Lifetime of B2B access tokens, in seconds (SNAP: 900).
    pub b2b_token_ttl_secs: u32,
    /// Lifetime of customer access tokens from account bindings, in seconds.
    pub customer_token_ttl_secs: u32,
    /// Lifetime of customer refresh tokens, in seconds.
    pub refresh_token_ttl_secs: u32,
    /// The gateway's fees.
    pub fees: Fees,
    /// Group commit settings.
    pub writer: WriterConfig,
}

impl Default for CoreConfig {
    fn default() -> Self {
        Self {
            b2b_token_ttl_secs: 900,
            customer_token_ttl_secs: 86_400,
            refresh_token_ttl_secs: 30 * 86_400,
            fees: Fees::default(),
            writer: WriterConfig::default(),
        }
    }
}

/// The core: domain rules over the store. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Core {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    store: Store,
    writer: Writer,
    /// Where bookkeeping commands run ([`Command::bookkeeping`]): `writer` itself on SQLite.
    records: Writer,
    api_log: ApiLogQueue,
    handoff: Arc<Handoff>,
    merchants: MerchantCache,
    gateway: GatewayKeys,
    config: CoreConfig,
}

impl Core {
    /// Starts the core on an open store, creating the gateway keys on first run.
    pub async fn start(store: Store, config: CoreConfig) -> Result<Core, CoreError> {
        let stored = store
            .gateway_keys_or_insert(StoredGatewayKeys::generate)
            .await??;
        let gateway = stored.load()?;
        let handoff = Arc::new(Handoff::default());
        let ctx = Context {
            fees: config.fees.clone(),
        };
        let writer = Writer::start(
            "bayar-writer",
            store.clone(),
            config.writer.clone(),
            ctx.clone(),
            handoff.clone(),
        );
        let (records, api_log_pace) = match &store {
            // Bookkeeping (API log, notification claims and deliveries) was a third of the
            // payment loop's round trips; on a connection of its own it commits beside the
            // payments instead of between them, as another process's would.
            Store::Postgres(_) => (
                Writer::start(
                    "bayar-records",
                    store.clone(),
                    WriterConfig {
                        loops: 1,
                        ..config.writer.clone()
                    },
                    ctx,
                    handoff.clone(),
                ),
                api_log::PACE,
            ),
            // SQLite has one write lock: a second loop would only wait for it, and sharing
            // the payments' commits shares their fsyncs.
            Store::Sqlite { .. } => (writer.clone(), Duration::ZERO),
        };
        Ok(Core {
            inner: Arc::new(Inner {
                store,
                api_log: ApiLogQueue::start(records.clone(), api_log_pace),
                writer,
                records,
                handoff,
                merchants: MerchantCache::new(Duration::from_secs(5)),
                gateway,
                config,
            }),
        })
    }

    /// Where API log records queue (see [`crate::api_log`]).
    pub(crate) fn api_log_queue(&self) -> &ApiLogQueue {
        &self.inner.api_log
    }

    /// How the events the writer commits reach the notification worker: handed over with
    /// their commit, or signalled due (see [`crate::handoff`]).
    pub fn handoff(&self) -> Arc<Handoff> {
        self.inner.handoff.clone()
    }

    /// Runs a command in the next group commit; returns once it is durable (or refused).
    pub async fn run<C: Command>(&self, command: C) -> Result<C::Output, CoreError> {
        let writer = if command.bookkeeping() {
            &self.inner.records
        } else {
            &self.inner.writer
        };
        writer.run(command).await
    }

    /// Runs a command once per idempotency key: a repeat with the same request gets the
    /// stored response; with another request, [`CoreError::InconsistentRequest`].
    pub async fn run_idempotent<C, R>(
        &self,
        key: IdempotencyKey,
        command: C,
        render: R,
    ) -> Result<Idempotent<C::Output>, CoreError>
    where
        C: Command,
        R: Fn(&C::Output) -> StoredResponse + Send + Sync + 'static,
    {
        self.run(WithKey {
            key,
            command,
            render,
        })
        .await
    }

    /// The store underneath.
    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    /// The gateway's public key, given to merchants to verify bayar's signatures.
    pub fn gateway_public_key(&self) -> &PublicKey {
        &self.inner.gateway.public_key
    }

    /// The gateway's private key, for signing what bayar sends as the provider.
    pub fn gateway_private_key(&self) -> &PrivateKey {
        &self.inner.gateway.private_key
    }

    /// The gateway's fee schedule, so faces can quote a fee before charging it.
    pub fn fees(&self) -> &Fees {
        &self.inner.config.fees
    }

    /// Creates a merchant with fresh credentials; generates an RSA pair when none is given.
    pub async fn create_merchant(&self, new: NewMerchant) -> Result<CreatedMerchant, CoreError> {
        let mut created = self.new_merchant(new)?;
        loop {
            // A clash of 20 random digits is vanishingly rare; draw again if it happens.
            if self
                .run(CreateMerchant {
                    merchant: created.merchant.clone(),
                    api_key: created.secret_key.stored(),
                })
                .await?
            {
                return Ok(created);
            }
            created.merchant.id = MerchantId::generate();
            created.merchant.client_id = ClientId::generate();
        }
    }

    /// A merchant not yet stored, with fresh id and credentials (secret API key included);
    /// generates an RSA pair when none is given.
    pub(crate) fn new_merchant(&self, new: NewMerchant) -> Result<CreatedMerchant, CoreError> {
        let (public_key, private_key_pem) = match new.public_key {
            Some(key) => (key, None),
            None => {
                let pair = PrivateKey::generate()?;
                (pair.public_key(), Some(Secret::new(pair.to_pkcs8_pem())))
            }
        };
        Ok(CreatedMerchant {
            merchant: Merchant {
                id: MerchantId::generate(),
                name: new.name,
                client_id: ClientId::generate(),
                client_secret: generate_client_secret(),
                public_key,
                notify_url: new.notify_url,
                urls: MerchantUrls::default(),
                created_at: Utc::now(),
            },
            private_key_pem,
            secret_key: ApiKey::generate(),
        })
    }

    /// Drops `client_id` from the merchant cache after its credentials changed.
    pub(crate) fn forget_merchant(&self, client_id: &ClientId) {
        self.inner.merchants.forget(client_id);
    }

    /// Every merchant, oldest first.
    pub async fn merchants(&self) -> Result<Vec<Merchant>, CoreError> {
        Ok(self.inner.store.merchants().await?)
    }

    /// The merchant presenting `client_id`, if any (cached for a few seconds).
    pub async fn merchant_by_client_id(
        &self,
        client_id: &ClientId,
    ) -> Result<Option<Merchant>, CoreError> {
        if let Some(merchant) = self.inner.merchants.get(client_id) {
            return Ok(Some(merchant));
        }
        let found = self.inner.store.merchant_by_client_id(client_id).await?;
        if let Some(merchant) = &found {
            self.inner.merchants.put(merchant);
        }
        Ok(found)
    }

    /// The merchant with id `id`, if any (cached for a few seconds, like
    /// [`Core::merchant_by_client_id`]).
    pub async fn merchant_by_id(&self, id: &MerchantId) -> Result<Option<Merchant>, CoreError> {
        if let Some(merchant) = self.inner.merchants.get_by_id(id) {
            return Ok(Some(merchant));
        }
        let found = self.inner.store.merchant_by_id(id).await?;
        if let Some(merchant) = &found {
            self.inner.merchants.put(merchant);
        }
        Ok(found)
    }

    /// Issues a B2B access token to `merchant`.
    pub fn issue_b2b_token(&self, merchant: &Merchant, now: DateTime<Utc>) -> IssuedToken {
        token::issue(
            &self.inner.gateway.token_key,
            TokenKind::B2b,
            merchant.client_id.as_str(),
            now,
            self.inner.config.b2b_token_ttl_secs,
        )
    }

    /// Checks a B2B access token and names the client it belongs to.
    pub fn check_b2b_token(&self, token: &str, now: DateTime<Utc>) -> Result<ClientId, TokenError> {
        let subject = token::verify(&self.inner.gateway.token_key, TokenKind::B2b, token, now)?;
        ClientId::parse(&subject).map_err(|_| TokenError::Invalid)
    }

    /// Checks a PIN typed on the binding page against the account holder's PIN (argon2, on a
    /// blocking thread, outside the writer) and records the outcome.
    pub async fn submit_binding_pin(
        &self,
        binding_id: BindingId,
        pin: Pin,
    ) -> Result<Answer, CoreError> {
        let binding = self
            .inner
            .store
            .binding(&binding_id)
            .await?
            .ok_or(CoreError::BindingNotFound)?;
        if !binding.takes_pin(Utc::now()) {
            return Err(CoreError::BindingNotActive);
        }
        let customer = self
            .inner
            .store
            .customer(&binding.customer_id)
            .await?
            .ok_or(CoreError::CustomerNotFound)?;
        let hash = customer.pin_hash;
        let correct = tokio::task::spawn_blocking(move || hash.verify(&pin))
            .await
            .map_err(|_| CoreError::PinHash)?;
        self.run(RecordPin {
            binding_id,
            correct,
        })
        .await
    }

    /// A wallet user authorizes a merchant on the wallet's OAuth page (DANA's get-auth-code) by
    /// logging in with `phone` and `pin`: a wallet binding is begun at its PIN step (or the
    /// one of `authorization.attempt` continued, so wrong PINs count), the PIN is checked with
    /// argon2 off the writer, and the outcome recorded: a right PIN activates the binding
    /// (replacing the merchant's earlier binding of this wallet) and yields its auth code; the
    /// third wrong PIN fails it. An unknown phone number is refused without counting, like a
    /// login form would ([`CoreError::CustomerNotFound`]). Returns the binding tried, for the
    /// page to continue after a wrong PIN, and the answer.
    pub async fn authorize_wallet(
        &self,
        authorization: WalletAuthorization,
    ) -> Result<(BindingId, Answer), CoreError> {
        let WalletAuthorization {
            merchant_id,
            phone,
            pin,
            attempt,
            reference,
            redirect_url,
        } = authorization;
        let customer = self
            .inner
            .store
            .customer_by_phone(Rail::Wallet, &phone)
            .await?
            .ok_or(CoreError::CustomerNotFound)?;
        if customer.status == CustomerStatus::Frozen {
            return Err(CoreError::AccountFrozen);
        }
        let continued = match attempt {
            Some(id) => self.inner.store.binding(&id).await?.filter(|b| {
                b.merchant_id == merchant_id
                    && b.customer_id == customer.id
                    && b.status == BindingStatus::Pin
            }),
            None => None,
        };
        let binding_id = match continued {
            Some(binding) => binding.id,
            None => {
                self.run(BeginBinding {
                    merchant_id,
                    rail: Rail::Wallet,
                    phone,
                    cust_id_merchant: reference,
                    success_url: redirect_url.clone(),
                    failed_url: redirect_url,
                })
                .await?
                .id
            }
        };
        let hash = customer.pin_hash;
        let correct = tokio::task::spawn_blocking(move || hash.verify(&pin))
            .await
            .map_err(|_| CoreError::PinHash)?;
        let answer = self
            .run(RecordPin {
                binding_id,
                correct,
            })
            .await?;
        Ok((binding_id, answer))
    }

    /// The customer on the hosted wallet page logs in with `phone` and `pin` and pays: the PIN
    /// is checked with argon2 off the writer, then the payment runs (or the wrong PIN counts).
    /// An unknown phone number is refused without counting, like a login form would.
    pub async fn pay_with_wallet(
        &self,
        payment_id: PaymentId,
        phone: &PhoneNumber,
        pin: Pin,
    ) -> Result<WalletOutcome, CoreError> {
        let customer = self
            .inner
            .store
            .customer_by_phone(Rail::Wallet, phone)
            .await?
            .ok_or(CoreError::CustomerNotFound)?;
        let hash = customer.pin_hash;
        let pin_correct = tokio::task::spawn_blocking(move || hash.verify(&pin))
            .await
            .map_err(|_| CoreError::PinHash)?;
        self.run(PayWithWallet {
            payment_id,
            customer_id: customer.id,
            pin_correct,
        })
        .await
    }

    /// Exchanges an auth code (repeatedly, while its binding is active) for customer tokens.
    pub async fn exchange_auth_code(
        &self,
        merchant: &Merchant,
        auth_code: &str,
    ) -> Result<CustomerTokens, CoreError> {
        let binding = self
            .inner
            .store
            .binding_by_auth_code(&auth_code_hash(auth_code))
            .await?
            .filter(|b| b.merchant_id == merchant.id && b.status == BindingStatus::Active)
            .ok_or(CoreError::InvalidAuthCode)?;
        Ok(self.customer_tokens(binding))
    }

    /// Exchanges an auth code once for customer tokens (DANA's rule): the code is used up in
    /// the same step, and a second exchange, even a concurrent one, is
    /// [`CoreError::InvalidAuthCode`].
    pub async fn redeem_auth_code(
        &self,
        merchant: &Merchant,
        auth_code: &str,
    ) -> Result<CustomerTokens, CoreError> {
        let hash = auth_code_hash(auth_code);
        let binding = self
            .inner
            .store
            .binding_by_auth_code(&hash)
            .await?
            .filter(|b| b.merchant_id == merchant.id && b.status == BindingStatus::Active)
            .ok_or(CoreError::InvalidAuthCode)?;
        self.run(RedeemAuthCode {
            binding_id: binding.id,
            hash,
        })
        .await?;
        Ok(self.customer_tokens(binding))
    }

    /// Exchanges a refresh token for fresh customer tokens.
    pub async fn refresh_customer_token(
        &self,
        merchant: &Merchant,
        refresh_token: &str,
    ) -> Result<CustomerTokens, CoreError> {
        let binding = self
            .bound(TokenKind::Refresh, refresh_token, merchant)
            .await
            .map_err(|_| CoreError::InvalidAuthCode)?;
        Ok(self.customer_tokens(binding))
    }

    /// The active binding a customer access token stands for.
    pub async fn customer_binding(
        &self,
        merchant: &Merchant,
        access_token: &str,
    ) -> Result<Binding, CoreError> {
        self.bound(TokenKind::Customer, access_token, merchant)
            .await
    }

    async fn bound(
        &self,
        kind: TokenKind,
        token: &str,
        merchant: &Merchant,
    ) -> Result<Binding, CoreError> {
        let subject = token::verify(&self.inner.gateway.token_key, kind, token, Utc::now())
            .map_err(|_| CoreError::InvalidCustomerToken)?;
        let id: BindingId = subject
            .parse()
            .map_err(|_| CoreError::InvalidCustomerToken)?;
        self.inner
            .store
            .binding(&id)
            .await?
            .filter(|b| b.merchant_id == merchant.id && b.status == BindingStatus::Active)
            .ok_or(CoreError::InvalidCustomerToken)
    }

    /// Uses up a one-time token presented on a page of `merchant_id`'s, answering the active
    /// binding it stands for; unknown, used, expired, unbound or another merchant's:
    /// [`CoreError::InvalidCustomerToken`].
    pub async fn redeem_one_time_token(
        &self,
        merchant_id: MerchantId,
        token: &str,
    ) -> Result<Binding, CoreError> {
        self.run(RedeemOneTimeToken {
            merchant_id,
            hash: auth_code_hash(token),
        })
        .await
    }

    fn customer_tokens(&self, binding: Binding) -> CustomerTokens {
        let key = &self.inner.gateway.token_key;
        let subject = binding.id.to_string();
        let now = Utc::now();
        CustomerTokens {
            access: token::issue(
                key,
                TokenKind::Customer,
                &subject,
                now,
                self.inner.config.customer_token_ttl_secs,
            ),
            refresh: token::issue(
                key,
                TokenKind::Refresh,
                &subject,
                now,
                self.inner.config.refresh_token_ttl_secs,
            ),
            binding,
        }
    }

    /// Opens a customer at a rail with an opening balance funded from the outside world.
    pub async fn create_customer(&self, new: NewCustomer) -> Result<Customer, CoreError> {
        // argon2 is deliberately slow: hash on a blocking thread, never inside the writer.
        let pin = new.pin;
        let pin_hash = tokio::task::spawn_blocking(move || pin.hash())
            .await
            .map_err(|_| CoreError::PinHash)?
            .map_err(|_| CoreError::PinHash)?;
        let id = CustomerId::generate();
        let customer = Customer {
            id,
            rail: new.rail,
            phone: new.phone,
            account_number: (new.rail == Rail::Bank).then(generate_account_number),
            pin_hash,
            status: CustomerStatus::Active,
            account: AccountId::customer(&id),
            created_at: Utc::now(),
        };
        self.run(CreateCustomer {
            customer,
            opening_balance: new.opening_balance,
        })
        .await
    }

    /// An account's balances.
    pub async fn balance(&self, account: &AccountId) -> Result<Option<Balance>, CoreError> {
        Ok(self.inner.store.balance(account).await?)
    }

    /// Checks every ledger invariant; an empty list means the ledger is sound.
    pub async fn verify_ledger(&self) -> Result<Vec<Breach>, CoreError> {
        Ok(self.inner.store.verify_ledger().await?)
    }

    /// The merchant's payment by its `partnerReferenceNo` and/or bayar reference.
    pub async fn find_payment(
        &self,
        merchant: &MerchantId,
        partner_reference_no: Option<&str>,
        reference_no: Option<&str>,
    ) -> Result<Option<Payment>, CoreError> {
        Ok(self
            .inner
            .store
            .find_payment(merchant, partner_reference_no, reference_no)
            .await?)
    }
}

/// What it takes to open a customer at a built-in rail.
#[derive(Debug)]
pub struct NewCustomer {
    /// Which rail.
    pub rail: Rail,
    /// Their phone number.
    pub phone: PhoneNumber,
    /// Their PIN (hashed before it is stored).
    pub pin: Pin,
    /// Their opening balance.
    pub opening_balance: bayar_snap::Money,
}

/// Customer tokens issued for an active binding.
#[derive(Debug)]
pub struct CustomerTokens {
    /// The binding they stand for.
    pub binding: Binding,
    /// Goes in `Authorization-Customer`.
    pub access: IssuedToken,
    /// Gets a new access token.
    pub refresh: IssuedToken,
}

/// A wallet user's login on the wallet's OAuth page (see [`Core::authorize_wallet`]). No
/// `Debug`: it carries the PIN.
pub struct WalletAuthorization {
    /// The merchant asking for access.
    pub merchant_id: MerchantId,
    /// The wallet's phone number as typed.
    pub phone: PhoneNumber,
    /// The wallet's PIN as typed.
    pub pin: Pin,
    /// The binding of an earlier wrong PIN on the same page, continued so tries are counted.
    pub attempt: Option<BindingId>,
    /// The merchant's reference of this authorization (DANA's `externalId`).
    pub reference: String,
    /// Where the wallet sends the browser back.
    pub redirect_url: String,
}
