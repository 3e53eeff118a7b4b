//! Account binding commands: begin (OTP issued, or straight to the PIN for a wallet), OTP
//! answer, PIN outcome, unbinding.

use chrono::Duration;
use futures_util::future::BoxFuture;

use crate::binding::{
    Binding, BindingStatus, MAX_FAILURES, ONE_TIME_TOKEN_TTL_SECS, OTP_TTL_SECS, auth_code_hash,
    generate_auth_code, generate_otp,
};
use crate::customer::{CustomerStatus, PhoneNumber, Rail};
use crate::error::CoreError;
use crate::ids::{BindingId, MerchantId};
use crate::secret::Secret;
use crate::store::{BindingChange, Tx};
use crate::writer::{Command, Context};

/// A merchant asks to bind the account registered to `phone` at `rail`.
///
/// A bank account (Allo-like) is proven with an OTP sent to the phone, then the PIN: the
/// binding starts at the OTP step. A wallet (DANA-like) is proven by logging in with the phone
/// number and PIN on the wallet's own page, so its binding starts at the PIN step.
#[derive(Clone, Debug)]
pub struct BeginBinding {
    /// The merchant.
    pub merchant_id: MerchantId,
    /// Where the account is held.
    pub rail: Rail,
    /// The account holder's phone number.
    pub phone: PhoneNumber,
    /// The merchant's id of its customer.
    pub cust_id_merchant: String,
    /// Where the browser goes on success.
    pub success_url: String,
    /// Where the browser goes on failure.
    pub failed_url: String,
}

impl Command for BeginBinding {
    type Output = Binding;

    fn execute<'t>(
        &'t self,
        tx: &'t mut Tx,
        ctx: &'t Context,
    ) -> BoxFuture<'t, Result<Binding, CoreError>> {
        Box::pin(async move {
            let now = ctx.now();
            let customer = tx
                .customer_by_phone(self.rail, &self.phone)
                .await?
                .ok_or(CoreError::CustomerNotFound)?;
            if customer.status == CustomerStatus::Frozen {
                return Err(CoreError::AccountFrozen);
            }
            // A bank account is bound to one customer of the merchant. A wallet's owner decides
            // on the wallet's own page, and a new binding replaces the earlier one.
            if self.rail == Rail::Bank
                && let Some(existing) = tx.active_binding(&self.merchant_id, &customer.id).await?
                && existing.cust_id_merchant != self.cust_id_merchant
            {
                return Err(CoreError::AlreadyBound);
            }
            let binding = Binding {
                id: BindingId::generate(),
                merchant_id: self.merchant_id,
                customer_id: customer.id,
                cust_id_merchant: self.cust_id_merchant.clone(),
                status: match self.rail {
                    Rail::Bank => BindingStatus::Otp,
                    Rail::Wallet => BindingStatus::Pin,
                },
                otp: generate_otp(),
                otp_expires_at: now + Duration::seconds(OTP_TTL_SECS),
                failures: 0,
                success_url: self.success_url.clone(),
                failed_url: self.failed_url.clone(),
                created_at: now,
                updated_at: now,
            };
            tx.insert_binding(&binding).await?;
            Ok(binding)
        })
    }
}

/// What an answer on the binding page came to.
#[derive(Debug)]
pub enum Answer {
    /// Right: the binding moved on (to the PIN step, or to active with this auth code).
    Accepted {
        /// The binding after the step.
        binding: Box<Binding>,
        /// The auth code, when the binding became active (shown to the merchant once).
        auth_code: Option<Secret<String>>,
    },
    /// Wrong; this many tries are left.
    Wrong {
        /// Tries left before the binding fails.
        remaining: u32,
    },
    /// The OTP expired: the binding failed.
    Expired,
    /// Too many wrong answers: the binding failed.
    Locked,
}

/// The customer typed an OTP on the binding page.
#[derive(Clone, Debug)]
pub struct SubmitOtp {
    /// The binding.
    pub binding_id: BindingId,
    /// What they typed.
    pub otp: String,
}

impl Command for SubmitOtp {
    type Output = Answer;

    fn execute<'t>(
        &'t self,
        tx: &'t mut Tx,
        ctx: &'t Context,
    ) -> BoxFuture<'t, Result<Answer, CoreError>> {
        Box::pin(async move {
            let now = ctx.now();
            let binding = step(tx, &self.binding_id, BindingStatus::Otp).await?;
            if binding.otp_expires_at <= now {
                fail(tx, &binding, BindingStatus::Otp, false, ctx).await?;
                return Ok(Answer::Expired);
            }
            let right = aws_lc_rs::constant_time::verify_slices_are_equal(
                binding.otp.expose().as_bytes(),
                self.otp.trim().as_bytes(),
            )
            .is_ok();
            if !right {
                return wrong(tx, &binding, BindingStatus::Otp, ctx).await;
            }
            advance(
                tx,
                &binding,
                BindingStatus::Otp,
                BindingStatus::Pin,
                None,
                ctx,
            )
            .await?;
            let binding = step(tx, &self.binding_id, BindingStatus::Pin).await?;
            Ok(Answer::Accepted {
                binding: Box::new(binding),
                auth_code: None,
            })
        })
    }
}

/// The outcome of the PIN check (argon2, done before the writer by [`crate::Core`]).
#[derive(Clone, Debug)]
pub struct RecordPin {
    /// The binding.
    pub binding_id: BindingId,
    /// Whether the PIN matched.
    pub correct: bool,
}

impl Command for RecordPin {
    type Output = Answer;

    fn execute<'t>(
        &'t self,
        tx: &'t mut Tx,
        ctx: &'t Context,
    ) -> BoxFuture<'t, Result<Answer, CoreError>> {
        Box::pin(async move {
            let binding = tx
                .binding(&self.binding_id)
                .await?
                .ok_or(CoreError::BindingNotFound)?;
            if !binding.takes_pin(ctx.now()) {
                return Err(CoreError::BindingNotActive);
            }
            if binding.status == BindingStatus::Active {
                // A second submit right after activation: a fresh code replaces the first,
                // whose answer the browser dropped. A wrong PIN here changes nothing.
                if !self.correct {
                    return Err(CoreError::BindingNotActive);
                }
                let code = generate_auth_code();
                let hash = auth_code_hash(code.expose());
                advance(
                    tx,
                    &binding,
                    BindingStatus::Active,
                    BindingStatus::Active,
                    Some(&hash),
                    ctx,
                )
                .await?;
                let binding = step(tx, &self.binding_id, BindingStatus::Active).await?;
                return Ok(Answer::Accepted {
                    binding: Box::new(binding),
                    auth_code: Some(code),
                });
            }
            if !self.correct {
                return wrong(tx, &binding, BindingStatus::Pin, ctx).await;
            }
            // A re-binding of the same account replaces the earlier binding.
            if let Some(old) = tx
                .active_binding(&binding.merchant_id, &binding.customer_id)
                .await?
            {
                advance(
                    tx,
                    &old,
                    BindingStatus::Active,
                    BindingStatus::Unbound,
                    None,
                    ctx,
                )
                .await?;
            }
            let code = generate_auth_code();
            let hash = auth_code_hash(code.expose());
            advance(
                tx,
                &binding,
                BindingStatus::Pin,
                BindingStatus::Active,
                Some(&hash),
                ctx,
            )
            .await?;
            let binding = step(tx, &self.binding_id, BindingStatus::Active).await?;
            Ok(Answer::Accepted {
                binding: Box::new(binding),
                auth_code: Some(code),
            })
        })
    }
}

/// Uses up an auth code: DANA's codes are exchanged once (a second exchange is "Auth Code
/// Used"), unlike DOKU's, which its SDK exchanges before every call while the binding lasts.
#[derive(Clone, Debug)]
pub struct RedeemAuthCode {
    /// The binding the code was issued for.
    pub binding_id: BindingId,
    /// The code's hash ([`auth_code_hash`]).
    pub hash: String,
}

impl Command for RedeemAuthCode {
    type Output = ();

    fn execute<'t>(
        &'t self,
        tx: &'t mut Tx,
        _ctx: &'t Context,
    ) -> BoxFuture<'t, Result<(), CoreError>> {
        Box::pin(async move {
            if tx.consume_auth_code(&self.binding_id, &self.hash).await? {
                Ok(())
            } else {
                Err(CoreError::InvalidAuthCode)
            }
        })
    }
}

/// The merchant unbinds an account; its customer tokens stop working at once.
#[derive(Clone, Debug)]
pub struct Unbind {
    /// Whose binding.
    pub merchant_id: MerchantId,
    /// The binding.
    pub binding_id: BindingId,
}

impl Command for Unbind {
    type Output = Binding;

    fn execute<'t>(
        &'t self,
        tx: &'t mut Tx,
        ctx: &'t Context,
    ) -> BoxFuture<'t, Result<Binding, CoreError>> {
        Box::pin(async move {
            let binding = tx
                .binding(&self.binding_id)
                .await?
                .filter(|b| b.merchant_id == self.merchant_id)
                .ok_or(CoreError::BindingNotFound)?;
            if binding.status != BindingStatus::Active {
                return Err(CoreError::BindingNotActive);
            }
            advance(
                tx,
                &binding,
                BindingStatus::Active,
                BindingStatus::Unbound,
                None,
                ctx,
            )
            .await?;
            step(tx, &self.binding_id, BindingStatus::Unbound).await
        })
    }
}

/// The binding, which must be at `expected`.
async fn step(tx: &mut Tx, id: &BindingId, expected: BindingStatus) -> Result<Binding, CoreError> {
    let binding = tx.binding(id).await?.ok_or(CoreError::BindingNotFound)?;
    if binding.status == expected {
        Ok(binding)
    } else {
        Err(CoreError::BindingNotActive)
    }
}

async fn advance(
    tx: &mut Tx,
    binding: &Binding,
    from: BindingStatus,
    to: BindingStatus,
    auth_code_hash: Option<&str>,
    ctx: &Context,
) -> Result<(), CoreError> {
    let moved = tx
        .change_binding(BindingChange {
            id: &binding.id,
            from,
            to,
            failed_attempt: false,
            auth_code_hash,
            now: ctx.now(),
        })
        .await?;
    if moved {
        Ok(())
    } else {
        Err(CoreError::BindingNotActive)
    }
}

async fn wrong(
    tx: &mut Tx,
    binding: &Binding,
    at: BindingStatus,
    ctx: &Context,
) -> Result<Answer, CoreError> {
    let failures = binding.failures + 1;
    if failures >= MAX_FAILURES {
        fail(tx, binding, at, true, ctx).await?;
        return Ok(Answer::Locked);
    }
    let counted = tx
        .change_binding(BindingChange {
            id: &binding.id,
            from: at,
            to: at,
            failed_attempt: true,
            auth_code_hash: None,
            now: ctx.now(),
        })
        .await?;
    if !counted {
        return Err(CoreError::BindingNotActive);
    }
    Ok(Answer::Wrong {
        remaining: MAX_FAILURES - failures,
    })
}

async fn fail(
    tx: &mut Tx,
    binding: &Binding,
    at: BindingStatus,
    failed_attempt: bool,
    ctx: &Context,
) -> Result<(), CoreError> {
    let moved = tx
        .change_binding(BindingChange {
            id: &binding.id,
            from: at,
            to: BindingStatus::Failed,
            failed_attempt,
            auth_code_hash: None,
            now: ctx.now(),
        })
        .await?;
    if moved {
        Ok(())
    } else {
        Err(CoreError::BindingNotActive)
    }
}

/// Records a one-time token (DANA's apply OTT) for an active binding of the merchant: the
/// binding's customer may use it once, before `expires_at`, to arrive on the hosted wallet page
/// already identified. Made with [`IssueOneTimeToken::new`], which also gives the token.
#[derive(Clone, Debug)]
pub struct IssueOneTimeToken {
    merchant_id: MerchantId,
    binding_id: BindingId,
    /// The token's hash ([`auth_code_hash`]); the token itself is never stored.
    hash: String,
    expires_at: chrono::DateTime<chrono::Utc>,
}

impl IssueOneTimeToken {
    /// A fresh token for `binding_id` of `merchant_id`, valid [`ONE_TIME_TOKEN_TTL_SECS`]
    /// from `now`, and the command that records it.
    pub fn new(
        merchant_id: MerchantId,
        binding_id: BindingId,
        now: chrono::DateTime<chrono::Utc>,
    ) -> (Self, Secret<String>) {
        // As unguessable as an auth code (32 alphanumerics, about 190 bits), and URL-safe.
        let token = generate_auth_code();
        let command = Self {
            merchant_id,
            binding_id,
            hash: auth_code_hash(token.expose()),
            expires_at: now + Duration::seconds(ONE_TIME_TOKEN_TTL_SECS),
        };
        (command, token)
    }

    /// When the token stops working.
    pub fn expires_at(&self) -> chrono::DateTime<chrono::Utc> {
        self.expires_at
    }
}

impl Command for IssueOneTimeToken {
    type Output = ();

    fn execute<'t>(
        &'t self,
        tx: &'t mut Tx,
        ctx: &'t Context,
    ) -> BoxFuture<'t, Result<(), CoreError>> {
        Box::pin(async move {
            // Checked in the transaction: an unbinding committed since the caller looked
            // must not leave a usable pass behind.
            tx.binding(&self.binding_id)
                .await?
                .filter(|b| b.merchant_id == self.merchant_id && b.status == BindingStatus::Active)
                .ok_or(CoreError::InvalidCustomerToken)?;
            tx.insert_one_time_token(&self.hash, &self.binding_id, self.expires_at, ctx.now())
                .await?;
            Ok(())
        })
    }
}

/// Uses up a one-time token on a page of `merchant_id`'s: answers its binding (still active,
/// of that merchant) and marks the token used in the same step, so a second use, even a
/// concurrent one, is [`CoreError::InvalidCustomerToken`]. A token of another merchant's
/// binding is refused and left unused.
#[derive(Clone, Debug)]
pub struct RedeemOneTimeToken {
    /// The merchant whose page the token is presented on.
    pub merchant_id: MerchantId,
    /// The presented token's hash ([`auth_code_hash`]).
    pub hash: String,
}

impl Command for RedeemOneTimeToken {
    type Output = Binding;

    fn execute<'t>(
        &'t self,
        tx: &'t mut Tx,
        ctx: &'t Context,
    ) -> BoxFuture<'t, Result<Binding, CoreError>> {
        Box::pin(async move {
            let now = ctx.now();
            let binding_id = tx
                .usable_one_time_token(&self.hash, now)
                .await?
                .ok_or(CoreError::InvalidCustomerToken)?;
            let binding = tx
                .binding(&binding_id)
                .await?
                .filter(|b| b.merchant_id == self.merchant_id && b.status == BindingStatus::Active)
                .ok_or(CoreError::InvalidCustomerToken)?;
            if !tx.use_one_time_token(&self.hash, now).await? {
                return Err(CoreError::InvalidCustomerToken);
            }
            Ok(binding)
        })
    }
}
