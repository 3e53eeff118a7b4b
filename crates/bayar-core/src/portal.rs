//! The merchant portal's domain: portal users, their passwords and sessions, and the queries
//! and actions the portal offers on a merchant's payments, balances and credentials.
//!
//! Who sees what is decided here, not in the pages: every query takes a [`Scope`], and a
//! merchant user's scope is its own merchant, so a guessed id of another merchant's payment
//! finds nothing. Sign-up creates a new merchant (sandbox credentials at once, like Stripe or
//! Xendit); further staff of an existing merchant and the gateway's operators are created by
//! the operator with `bayar admin create`.

use std::fmt;

use argon2::Argon2;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use aws_lc_rs::digest;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bayar_snap::{Money, PrivateKey, PublicKey};
use chrono::{DateTime, Duration, Utc};
use thiserror::Error;

use crate::Core;
use crate::api_key::{ApiKey, ApiKeySummary};
use crate::commands::{
    CreateUser, DeleteSession, RecordLogin, ResendEvent, RollApiKey, RotateSecret,
    SendTestNotification, SetMerchantUrls, SetPublicKey, SignUp,
};
use crate::error::CoreError;
use crate::ids::{EventId, MerchantId, PaymentId, UserId};
use crate::merchant::{
    CreatedMerchant, Merchant, MerchantName, MerchantUrls, NewMerchant, NotifyUrl,
};
use crate::outbox::{Attempt, Event};
use crate::payment::{Channel, Payment, PaymentStatus, Refund};
use crate::secret::Secret;
use crate::store::{DailyVolume, LedgerLine, StoredUser};

/// Failed logins in a row that lock an account.
pub const MAX_FAILED_LOGINS: i64 = 5;

/// How long a locked account stays locked.
pub const LOCKOUT: Duration = Duration::minutes(15);

/// How long a session lasts after login.
pub const SESSION_TTL: Duration = Duration::hours(12);

/// How long a rotated-away client secret keeps verifying signatures.
pub const SECRET_GRACE: Duration = Duration::hours(24);

/// Most rows on one page of a portal list.
pub const PAGE_SIZE: usize = 50;

/// Why a portal input was refused.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum PortalInputError {
    /// Not an email address.
    #[error("enter a valid email address")]
    Email,
    /// A password must be 10 to 128 characters.
    #[error("the password must be 10 to 128 characters")]
    Password,
}

/// A portal user's email: trimmed, lower-cased, `local@domain`, at most 254 characters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    /// Parses an email as typed.
    pub fn parse(s: &str) -> Result<Self, PortalInputError> {
        let s = s.trim().to_lowercase();
        let ok = s.len() <= 254
            && !s.chars().any(|c| c.is_whitespace() || c.is_control())
            && s.split_once('@').is_some_and(|(local, domain)| {
                !local.is_empty() && domain.contains('.') && !domain.contains('@')
            });
        if ok {
            Ok(Self(s))
        } else {
            Err(PortalInputError::Email)
        }
    }

    /// The email as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A password as typed: never printed, only hashed or checked.
pub struct Password(Secret<String>);

impl Password {
    /// Parses a password: 10 to 128 characters.
    pub fn parse(s: &str) -> Result<Self, PortalInputError> {
        let n = s.chars().count();
        if (10..=128).contains(&n) {
            Ok(Self(Secret::new(s.to_string())))
        } else {
            Err(PortalInputError::Password)
        }
    }

    /// An argon2id hash with a fresh salt (slow on purpose: call off the async threads).
    fn hash(&self) -> Result<String, CoreError> {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(self.0.expose().as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|_| CoreError::PasswordHash)
    }

    /// Whether the password matches `phc` (argon2 compares in constant time).
    fn verify(&self, phc: &str) -> bool {
        PasswordHash::new(phc).is_ok_and(|hash| {
            Argon2::default()
                .verify_password(self.0.expose().as_bytes(), &hash)
                .is_ok()
        })
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password([redacted])")
    }
}

/// Hashes `password` on a blocking thread (argon2 would stall the async workers).
async fn hash_password(password: Password) -> Result<String, CoreError> {
    tokio::task::spawn_blocking(move || password.hash())
        .await
        .map_err(|_| CoreError::PasswordHash)?
}

/// What a portal user may see.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// The gateway's operator: every merchant.
    Operator,
    /// A merchant's staff: that merchant only.
    Merchant(MerchantId),
}

impl Role {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Operator => "operator",
            Role::Merchant(_) => "merchant",
        }
    }
}

/// A portal user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PortalUser {
    /// Its id.
    pub id: UserId,
    /// Its login.
    pub email: Email,
    /// What it sees.
    pub role: Role,
}

impl PortalUser {
    /// The merchants this user may see: its own, or (operator) those named in `chosen`.
    pub fn scope(&self, chosen: Option<MerchantId>) -> Scope {
        match self.role {
            Role::Merchant(id) => Scope::Merchant(id),
            Role::Operator => chosen.map_or(Scope::All, Scope::Merchant),
        }
    }

    /// Whether the user may see and act on `merchant`'s data.
    pub fn may_see(&self, merchant: &MerchantId) -> bool {
        match self.role {
            Role::Operator => true,
            Role::Merchant(own) => own == *merchant,
        }
    }
}

/// The merchants a query covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Every merchant (operators only).
    All,
    /// One merchant.
    Merchant(MerchantId),
}

impl Scope {
    /// The merchant id to filter on, `None` for all.
    pub fn merchant(self) -> Option<MerchantId> {
        match self {
            Scope::All => None,
            Scope::Merchant(id) => Some(id),
        }
    }
}

/// A session token: 256 random bits, given to the browser in a cookie. The store keeps only
/// its SHA-256, so the token is never written anywhere but the browser.
pub struct SessionToken(Secret<String>);

impl SessionToken {
    fn generate() -> Result<Self, CoreError> {
        let mut bytes = [0u8; 32];
        aws_lc_rs::rand::fill(&mut bytes).map_err(|_| CoreError::PasswordHash)?;
        Ok(Self(Secret::new(URL_SAFE_NO_PAD.encode(bytes))))
    }

    /// A token as the browser sent it: 43 base64url characters, anything else is no token.
    pub fn parse(s: &str) -> Option<Self> {
        (s.len() == 43
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
        .then(|| Self(Secret::new(s.to_string())))
    }

    /// The token, for the cookie.
    pub fn expose(&self) -> &str {
        self.0.expose()
    }

    /// What the store keeps: hex SHA-256 of the token.
    pub(crate) fn hash(&self) -> String {
        hex_sha256(self.0.expose().as_bytes())
    }

    /// A value derived from the token that proves a form came from this session's pages (the
    /// portal's CSRF token): knowing it reveals nothing of the token.
    pub fn csrf_token(&self) -> String {
        let hash = digest::digest(
            &digest::SHA256,
            format!("bayar-portal-csrf:{}", self.0.expose()).as_bytes(),
        );
        URL_SAFE_NO_PAD.encode(hash.as_ref())
    }
}

impl fmt::Debug for SessionToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SessionToken([redacted])")
    }
}

fn hex_sha256(bytes: &[u8]) -> String {
    digest::digest(&digest::SHA256, bytes)
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A new login: the user and the token to give the browser.
#[derive(Debug)]
pub struct Login {
    /// Who logged in.
    pub user: PortalUser,
    /// The session's token (goes in the cookie, never stored).
    pub token: SessionToken,
}

/// A filter of the payments list; every field is optional.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PaymentFilter {
    /// The merchant's `partnerReferenceNo` or bayar's `pay_` id, exactly.
    pub reference: Option<String>,
    /// One status.
    pub status: Option<PaymentStatus>,
    /// One channel.
    pub channel: Option<Channel>,
    /// Created at or after.
    pub from: Option<DateTime<Utc>>,
    /// Created before.
    pub until: Option<DateTime<Utc>>,
    /// Amount at least.
    pub min_amount: Option<Money>,
    /// Amount at most.
    pub max_amount: Option<Money>,
    /// Keyset cursor: only payments older than this one (the last of the previous page).
    pub before: Option<PaymentId>,
}

/// One page of payments, newest first.
#[derive(Debug)]
pub struct PaymentPage {
    /// The payments.
    pub payments: Vec<Payment>,
    /// The cursor of the next page, when there is one.
    pub next: Option<PaymentId>,
}

/// Everything the payment detail page shows.
#[derive(Debug)]
pub struct PaymentDetail {
    /// The payment.
    pub payment: Payment,
    /// Its refunds.
    pub refunds: Vec<Refund>,
    /// The ledger legs of its transfers and its refunds' transfers.
    pub ledger: Vec<LedgerLine>,
    /// The notifications about it and its refunds, each with its attempts.
    pub events: Vec<(Event, Vec<Attempt>)>,
}

/// A merchant's balances, in minor units.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Balances {
    /// Collected and not yet paid out (what refunds draw on).
    pub available: i64,
    /// The disbursement deposit (MDA) top-ups and disbursements draw on.
    pub deposit: i64,
}

/// A client secret just rotated: the new one is shown once.
#[derive(Debug)]
pub struct RotatedSecret {
    /// The new secret.
    pub secret: Secret<String>,
    /// Until when the previous one keeps working.
    pub previous_valid_until: DateTime<Utc>,
}

/// A secret API key just rolled: the new one is shown once.
#[derive(Debug)]
pub struct RolledApiKey {
    /// The new key.
    pub key: ApiKey,
    /// Until when the previous keys keep working.
    pub previous_valid_until: DateTime<Utc>,
}

/// One signed API call as the API log keeps it: no headers, no body, so no token, signature
/// or secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiCall {
    /// Its id (a ULID: the log's order).
    pub id: String,
    /// Who called.
    pub merchant_id: MerchantId,
    /// When it arrived.
    pub at: DateTime<Utc>,
    /// `POST`, `GET`...
    pub method: String,
    /// The path, without the query.
    pub path: String,
    /// The HTTP status bayar answered.
    pub http_status: u16,
    /// The SNAP `responseCode`, when the answer had one.
    pub response_code: Option<String>,
    /// The SNAP `responseMessage` (why a call failed), when the answer had one.
    pub message: Option<String>,
    /// How long bayar took, in milliseconds.
    pub latency_ms: i64,
}

/// The argon2 hash checked when the email is unknown, so an unknown email takes as long as a
/// wrong password and the login form does not tell which emails have accounts.
fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| {
        Password(Secret::new("decoy-password-never-valid".into()))
            .hash()
            .unwrap_or_default()
    })
}

impl Core {
    /// Signs up: a new merchant (fresh credentials, a generated key pair) and its first user,
    /// in one transaction. The secret and private key in the answer are shown once.
    pub async fn sign_up(
        &self,
        email: Email,
        password: Password,
        merchant_name: MerchantName,
    ) -> Result<(PortalUser, CreatedMerchant), CoreError> {
        let password_hash = hash_password(password).await?;
        loop {
            let created = self.new_merchant(NewMerchant {
                name: merchant_name.clone(),
                notify_url: None,
                public_key: None,
            })?;
            let user = PortalUser {
                id: UserId::generate(),
                email: email.clone(),
                role: Role::Merchant(created.merchant.id),
            };
            let done = self
                .run(SignUp {
                    user: user.clone(),
                    password_hash: password_hash.clone(),
                    merchant: created.merchant.clone(),
                    api_key: created.secret_key.stored(),
                })
                .await?;
            // False only when the random client id clashed: draw again.
            if done {
                return Ok((user, created));
            }
        }
    }

    /// Creates a portal user (the operator's `bayar admin create`).
    pub async fn create_portal_user(
        &self,
        email: Email,
        password: Password,
        role: Role,
    ) -> Result<PortalUser, CoreError> {
        if let Role::Merchant(id) = role {
            self.store()
                .merchant_by_id(&id)
                .await?
                .ok_or(CoreError::MerchantNotFound)?;
        }
        let password_hash = hash_password(password).await?;
        let user = PortalUser {
            id: UserId::generate(),
            email,
            role,
        };
        self.run(CreateUser {
            user: user.clone(),
            password_hash,
        })
        .await?;
        Ok(user)
    }

    /// Logs in: [`CoreError::LockedOut`] while the account is locked, [`CoreError::LoginRefused`]
    /// for an unknown email or a wrong password (counted; the fifth in a row locks).
    pub async fn log_in(&self, email: &Email, password: Password) -> Result<Login, CoreError> {
        let now = Utc::now();
        let stored = self.store().portal_user_by_email(email).await?;
        let hash = match &stored {
            Some(s) => s.password_hash.clone(),
            None => decoy_hash().to_string(),
        };
        let correct = tokio::task::spawn_blocking(move || password.verify(&hash))
            .await
            .map_err(|_| CoreError::PasswordHash)?;
        let Some(StoredUser {
            user, locked_until, ..
        }) = stored
        else {
            return Err(CoreError::LoginRefused);
        };
        if locked_until.is_some_and(|until| until > now) {
            return Err(CoreError::LockedOut);
        }
        let token = SessionToken::generate()?;
        let ok = self
            .run(RecordLogin {
                user_id: user.id,
                session: correct.then(|| token.hash()),
                expires_at: now + SESSION_TTL,
            })
            .await?;
        if ok {
            Ok(Login { user, token })
        } else {
            Err(CoreError::LoginRefused)
        }
    }

    /// The user of a live session, if the token names one.
    pub async fn portal_session(
        &self,
        token: &SessionToken,
    ) -> Result<Option<PortalUser>, CoreError> {
        Ok(self
            .store()
            .portal_session(&token.hash(), Utc::now())
            .await?)
    }

    /// Ends a session.
    pub async fn log_out(&self, token: &SessionToken) -> Result<(), CoreError> {
        self.run(DeleteSession {
            token_hash: token.hash(),
        })
        .await
    }

    /// A page of the payments `scope` covers, newest first.
    pub async fn portal_payments(
        &self,
        scope: Scope,
        filter: &PaymentFilter,
    ) -> Result<PaymentPage, CoreError> {
        let mut payments = self
            .store()
            .list_payments(scope.merchant(), filter, PAGE_SIZE + 1)
            .await?;
        let next = if payments.len() > PAGE_SIZE {
            payments.truncate(PAGE_SIZE);
            payments.last().map(|p| p.id)
        } else {
            None
        };
        Ok(PaymentPage { payments, next })
    }

    /// A payment with its refunds, ledger legs and notifications, if `user` may see it.
    pub async fn portal_payment(
        &self,
        user: &PortalUser,
        id: &PaymentId,
    ) -> Result<Option<PaymentDetail>, CoreError> {
        let store = self.store();
        let Some(payment) = store
            .payment(id)
            .await?
            .filter(|p| user.may_see(&p.merchant_id))
        else {
            return Ok(None);
        };
        let refunds = store.refunds_of(&payment.id).await?;
        let mut subjects = vec![payment.id.to_string()];
        subjects.extend(refunds.iter().map(|r| r.id.to_string()));
        let mut ledger = Vec::new();
        let mut events = Vec::new();
        for subject in &subjects {
            ledger.extend(store.ledger_lines_of(subject).await?);
            for event in store.events_of(&payment.merchant_id, subject).await? {
                let attempts = store.attempts(&event.id).await?;
                events.push((event, attempts));
            }
        }
        ledger.sort_by(|a, b| (a.at, &a.transfer_id).cmp(&(b.at, &b.transfer_id)));
        events.sort_by_key(|(e, _)| e.id);
        Ok(Some(PaymentDetail {
            payment,
            refunds,
            ledger,
            events,
        }))
    }

    /// Queues a fresh copy of a notification (new event id, same facts), delivered like any
    /// other; the original and its attempts stay as they were.
    pub async fn resend_event(
        &self,
        merchant: MerchantId,
        event: EventId,
    ) -> Result<EventId, CoreError> {
        self.run(ResendEvent {
            merchant_id: merchant,
            event_id: event,
        })
        .await
    }

    /// A merchant's available balance and deposit.
    pub async fn portal_balances(&self, merchant: &MerchantId) -> Result<Balances, CoreError> {
        use crate::ledger::AccountId;
        let available = self
            .balance(&AccountId::merchant_available(merchant))
            .await?
            .map_or(0, |b| b.posted - b.pending_debits);
        let deposit = self
            .balance(&AccountId::merchant_deposit(merchant))
            .await?
            .map_or(0, |b| b.posted - b.pending_debits);
        Ok(Balances { available, deposit })
    }

    /// Every posted ledger entry on the merchant's accounts, oldest first (the statement).
    pub async fn statement(&self, merchant: &MerchantId) -> Result<Vec<LedgerLine>, CoreError> {
        Ok(self.store().statement(merchant).await?)
    }

    /// Replaces the merchant's client secret; the previous one keeps verifying for
    /// [`SECRET_GRACE`]. The new secret is in the answer, and nowhere else ever again.
    pub async fn rotate_client_secret(
        &self,
        merchant: &Merchant,
    ) -> Result<RotatedSecret, CoreError> {
        let secret = crate::merchant::generate_client_secret();
        let previous_valid_until = Utc::now() + SECRET_GRACE;
        self.run(RotateSecret {
            merchant_id: merchant.id,
            secret: secret.clone(),
            previous_valid_until,
        })
        .await?;
        self.forget_merchant(&merchant.client_id);
        Ok(RotatedSecret {
            secret,
            previous_valid_until,
        })
    }

    /// Rolls the merchant's secret API key: a new key, in the answer and nowhere else ever
    /// again; the previous keys keep authenticating for [`SECRET_GRACE`], like a rotated
    /// client secret.
    pub async fn roll_api_key(&self, merchant: &MerchantId) -> Result<RolledApiKey, CoreError> {
        let key = ApiKey::generate();
        let previous_valid_until = Utc::now() + SECRET_GRACE;
        self.run(RollApiKey {
            merchant_id: *merchant,
            key: key.stored(),
            previous_valid_until,
        })
        .await?;
        Ok(RolledApiKey {
            key,
            previous_valid_until,
        })
    }

    /// The merchant's secret API keys that work now, newest first.
    pub async fn api_keys(&self, merchant: &MerchantId) -> Result<Vec<ApiKeySummary>, CoreError> {
        Ok(self.store().api_keys(merchant, Utc::now()).await?)
    }

    /// Queues a test notification to the merchant (bayar's own dialect, to its notification
    /// URL); answers its event id.
    pub async fn send_test_notification(
        &self,
        merchant: &MerchantId,
    ) -> Result<EventId, CoreError> {
        self.run(SendTestNotification {
            merchant_id: *merchant,
        })
        .await
    }

    /// The merchant's latest test notification with its delivery attempts, if it asked for any.
    pub async fn last_test_notification(
        &self,
        merchant: &MerchantId,
    ) -> Result<Option<(Event, Vec<Attempt>)>, CoreError> {
        let store = self.store();
        let Some(event) = store
            .events_of(merchant, &merchant.to_string())
            .await?
            .into_iter()
            .rfind(|e| e.kind == crate::outbox::EventKind::Test)
        else {
            return Ok(None);
        };
        let attempts = store.attempts(&event.id).await?;
        Ok(Some((event, attempts)))
    }

    /// Sets or clears where the merchant's notifications and customers go.
    pub async fn set_merchant_urls(
        &self,
        merchant: &Merchant,
        notify_url: Option<NotifyUrl>,
        urls: MerchantUrls,
    ) -> Result<(), CoreError> {
        self.run(SetMerchantUrls {
            merchant_id: merchant.id,
            notify_url,
            urls,
        })
        .await?;
        self.forget_merchant(&merchant.client_id);
        Ok(())
    }

    /// Registers the merchant's own RSA public key.
    pub async fn set_merchant_public_key(
        &self,
        merchant: &Merchant,
        key: PublicKey,
    ) -> Result<(), CoreError> {
        self.run(SetPublicKey {
            merchant_id: merchant.id,
            public_key: key,
        })
        .await?;
        self.forget_merchant(&merchant.client_id);
        Ok(())
    }

    /// Generates a key pair for the merchant, registers its public half, and answers the
    /// private half (PKCS#8 PEM), shown once and never stored.
    pub async fn generate_merchant_key(
        &self,
        merchant: &Merchant,
    ) -> Result<Secret<String>, CoreError> {
        let pair = PrivateKey::generate()?;
        self.set_merchant_public_key(merchant, pair.public_key())
            .await?;
        Ok(Secret::new(pair.to_pkcs8_pem()))
    }

    /// Appends a call to the merchant's API log: queues it, to be written with the next
    /// batch of calls (a read right after may not see it yet).
    pub async fn record_api_call(&self, call: ApiCall) -> Result<(), CoreError> {
        self.api_log_queue().push(call).await
    }

    /// Up to [`PAGE_SIZE`] calls of the merchant's API log, newest first, older than `before`.
    pub async fn api_log(
        &self,
        merchant: &MerchantId,
        before: Option<&str>,
        limit: usize,
    ) -> Result<Vec<ApiCall>, CoreError> {
        Ok(self.store().api_log(merchant, before, limit).await?)
    }

    /// Every distinct outcome in the merchant's API log (path, status, code, message): what
    /// the integration checklist is ticked from.
    pub async fn api_outcomes(&self, merchant: &MerchantId) -> Result<Vec<ApiCall>, CoreError> {
        Ok(self.store().api_outcomes(merchant).await?)
    }

    /// The merchant's succeeded payments paid in `[from, until)`, per Jakarta day and channel.
    pub async fn daily_volume(
        &self,
        merchant: &MerchantId,
        from: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Vec<DailyVolume>, CoreError> {
        Ok(self.store().daily_volume(merchant, from, until).await?)
    }

    /// The secrets a signature of `merchant` may be made with right now, read fresh from the
    /// store (not the cache): the current one and, during its grace period, the previous one.
    /// Signature checks consult it only after the cached secret failed.
    pub async fn client_secrets(
        &self,
        merchant: &MerchantId,
    ) -> Result<Vec<Secret<String>>, CoreError> {
        Ok(self.store().client_secrets(merchant, Utc::now()).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        assert_eq!(
            Email::parse("  Ani@Toko.CO.id ").unwrap().as_str(),
            "ani@toko.co.id"
        );
        for bad in ["", "ani", "@toko.id", "ani@toko", "a b@toko.id", "a@b@c.id"] {
            assert_eq!(Email::parse(bad), Err(PortalInputError::Email), "{bad}");
        }
    }

    #[test]
    fn passwords_hash_and_verify_and_never_print() {
        assert!(Password::parse("short").is_err());
        let p = Password::parse("correct horse battery").unwrap();
        assert_eq!(format!("{p:?}"), "Password([redacted])");
        let hash = p.hash().unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(p.verify(&hash));
        assert!(
            !Password::parse("wrong horse battery")
                .unwrap()
                .verify(&hash)
        );
    }

    #[test]
    fn session_tokens_store_only_a_hash() {
        let t = SessionToken::generate().unwrap();
        assert_eq!(t.expose().len(), 43);
        assert!(SessionToken::parse(t.expose()).is_some());
        assert!(SessionToken::parse("short").is_none());
        assert_ne!(t.hash(), t.expose());
        assert_eq!(t.hash().len(), 64);
        assert_ne!(t.csrf_token(), t.expose());
        assert_eq!(format!("{t:?}"), "SessionToken([redacted])");
    }
}
