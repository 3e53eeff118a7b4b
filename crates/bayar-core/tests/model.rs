//! A model-based property test of the payment core, on every engine.
//!
//! Random sequences of operations run over a small world (one merchant, two wallet customers,
//! two bank customers, a merchant deposit): wallet payments paid at once or held then captured
//! or cancelled, direct debits, commands on earlier payments in any state, refunds (partial,
//! full, too large, DANA's one-refund rule, Allo's many), disbursements, freezing and
//! unfreezing, deposit top-ups, expiry sweeps, repeated requests (a replay with the same
//! content, `InconsistentRequest` with other content) and injected failures (`FailAfter`: the
//! command runs fully, then fails, and must leave no trace; then the client may retry).
//!
//! A small model predicts every outcome (status, failure reason, refusal) from the rules, and
//! what every account must hold. After each operation the ledger must equal the model and the
//! outbox must hold the expected events; a refused, replayed or failed command must change
//! nothing at all; at the end `verify_ledger` finds no breach and every row matches the model.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use bayar_core::CoreError;
use bayar_core::commands::{
    Authorize, Cancel, Capture, CreatePayment, DebitNow, Disburse, ExpireOverdue, FundDeposit, Pay,
    PaymentLookup, RefundPayment, SetCustomerStatus,
};
use bayar_core::customer::{Customer, CustomerStatus, PhoneNumber, Rail};
use bayar_core::ids::{DisbursementId, PaymentId, RefundId};
use bayar_core::ledger::{AccountId, LedgerError};
use bayar_core::payment::{
    Channel, DisbursementStatus, FailureReason, PartnerReference, Payment, PaymentStatus,
    RefundPolicy,
};
use bayar_core::store::StoreError;
use bayar_core::testing::{self, FailAfter};
use bayar_core::writer::Command;
use bayar_snap::Money;
use chrono::{DateTime, Duration, Utc};
use common::{Fixture, all_balances, event_counts, snapshot};
use proptest::prelude::*;
use proptest::sample::Index;

/// Customers 0 and 1 hold wallets, 2 and 3 bank accounts.
const PHONES: [&str; 4] = [
    "081200000101",
    "081200000102",
    "081200000103",
    "081200000104",
];
/// A number no customer has.
const UNKNOWN_PHONE: &str = "081299999999";
/// `Fees::default()`: 1.5% on payments of either channel.
const PAYMENT_FEE_BASIS_POINTS: i64 = 150;
/// `Fees::default()`: Rp 2,500 per disbursement, on top of the amount.
const DISBURSEMENT_FEE: i64 = 250_000;

fn rail(customer: usize) -> Rail {
    if customer < 2 {
        Rail::Wallet
    } else {
        Rail::Bank
    }
}

fn money(minor: i64) -> Money {
    Money::from_minor(minor).expect("a valid amount")
}

fn payment_fee(amount: i64) -> i64 {
    (amount * PAYMENT_FEE_BASIS_POINTS / 10_000).min(amount)
}

fn in_range(channel: Channel, amount: i64) -> bool {
    let (min, max) = channel.limits();
    (min.minor()..=max.minor()).contains(&amount)
}

// ---------------------------------------------------------------------------------------------
// Operations

/// A payment's deadline.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Deadline {
    None,
    /// Already passed when the payment is created: it can only expire.
    Past,
    /// Far away: never reached during a run.
    Future,
}

impl Deadline {
    fn at(self) -> Option<DateTime<Utc>> {
        match self {
            Deadline::None => None,
            Deadline::Past => Some(Utc::now() - Duration::minutes(10)),
            Deadline::Future => Some(Utc::now() + Duration::days(1)),
        }
    }
}

/// A failure injected into one step of an operation: the step's command runs fully inside
/// `FailAfter`, which then fails; if `retry`, the client sends the command again.
#[derive(Clone, Copy, Debug)]
struct Inject {
    step: u8,
    retry: bool,
}

/// A command on an earlier payment, whatever state it is in.
#[derive(Clone, Copy, Debug)]
enum Poke {
    Pay(usize),
    Authorize(usize),
    Capture,
    Cancel,
}

/// How much a refund asks for, relative to what can still be refunded.
#[derive(Clone, Copy, Debug)]
enum RefundSize {
    Full,
    PerMille(u16),
    Exceeding(i64),
}

#[derive(Clone, Debug)]
enum Op {
    /// Create a wallet payment, then pay it at once (steps: create, pay).
    WalletPay {
        amount: i64,
        payer: usize,
        deadline: Deadline,
        inject: Option<Inject>,
    },
    /// A direct debit of a bank customer (one step).
    DirectDebit {
        amount: i64,
        payer: usize,
        inject: Option<Inject>,
    },
    /// Create, authorise (hold), cancel (release).
    AuthorizeCancel {
        amount: i64,
        payer: usize,
        deadline: Deadline,
        inject: Option<Inject>,
    },
    /// Create, authorise (hold), capture.
    AuthorizeCapture {
        amount: i64,
        payer: usize,
        deadline: Deadline,
        inject: Option<Inject>,
    },
    /// A state-machine command on an earlier payment.
    Poke {
        payment: Index,
        poke: Poke,
        inject: Option<Inject>,
    },
    Refund {
        payment: Index,
        size: RefundSize,
        by_reference: bool,
        inject: Option<Inject>,
    },
    /// To customer `to`'s phone (2 and 3 are bank customers, 4 nobody: not found).
    Disburse {
        to: usize,
        amount: i64,
        inject: Option<Inject>,
    },
    SetStatus {
        customer: usize,
        frozen: bool,
        inject: Option<Inject>,
    },
    TopUp {
        amount: i64,
        inject: Option<Inject>,
    },
    /// The request that created an earlier payment, again (same content, or another amount).
    RepeatPayment {
        payment: Index,
        same: bool,
        inject: Option<Inject>,
    },
    RepeatRefund {
        refund: Index,
        same: bool,
        inject: Option<Inject>,
    },
    RepeatDisbursement {
        disbursement: Index,
        same: bool,
        inject: Option<Inject>,
    },
    RepeatTopUp {
        top_up: Index,
        same: bool,
        inject: Option<Inject>,
    },
    /// The expiry sweep.
    Expire {
        inject: Option<Inject>,
    },
}

/// The world a case starts from.
#[derive(Clone, Debug)]
struct World {
    opening_balances: [i64; 4],
    deposit: i64,
}

fn world() -> impl Strategy<Value = World> {
    (prop::array::uniform4(0i64..=6_000_000), 0i64..=2_000_000).prop_map(
        |(opening_balances, deposit)| World {
            opening_balances,
            deposit,
        },
    )
}

fn inject() -> impl Strategy<Value = Option<Inject>> {
    prop::option::weighted(
        0.2,
        (any::<u8>(), any::<bool>()).prop_map(|(step, retry)| Inject { step, retry }),
    )
}

/// Mostly within the DANA limits (Rp 100 minimum), sometimes below them.
fn wallet_amount() -> impl Strategy<Value = i64> {
    prop_oneof![9 => 10_000i64..=1_500_000, 1 => 1i64..10_000]
}

/// Mostly within the Allo limits (Rp 1 minimum), sometimes below them.
fn bank_amount() -> impl Strategy<Value = i64> {
    prop_oneof![9 => 100i64..=1_500_000, 1 => 1i64..100]
}

/// Mostly a customer of the right rail, sometimes one of the other rail (not found).
fn wallet_payer() -> impl Strategy<Value = usize> {
    prop_oneof![9 => 0usize..2, 1 => 2usize..4]
}

fn bank_payer() -> impl Strategy<Value = usize> {
    prop_oneof![9 => 2usize..4, 1 => 0usize..2]
}

fn deadline() -> impl Strategy<Value = Deadline> {
    prop_oneof![
        6 => Just(Deadline::None),
        1 => Just(Deadline::Past),
        1 => Just(Deadline::Future),
    ]
}

fn poke() -> impl Strategy<Value = Poke> {
    prop_oneof![
        (0usize..4).prop_map(Poke::Pay),
        (0usize..4).prop_map(Poke::Authorize),
        Just(Poke::Capture),
        Just(Poke::Cancel),
    ]
}

fn refund_size() -> impl Strategy<Value = RefundSize> {
    prop_oneof![
        2 => Just(RefundSize::Full),
        5 => (1u16..=1000).prop_map(RefundSize::PerMille),
        2 => (1i64..=100_000).prop_map(RefundSize::Exceeding),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (wallet_amount(), wallet_payer(), deadline(), inject()).prop_map(
            |(amount, payer, deadline, inject)| Op::WalletPay { amount, payer, deadline, inject }
        ),
        3 => (bank_amount(), bank_payer(), inject())
            .prop_map(|(amount, payer, inject)| Op::DirectDebit { amount, payer, inject }),
        2 => (wallet_amount(), wallet_payer(), deadline(), inject()).prop_map(
            |(amount, payer, deadline, inject)| Op::AuthorizeCancel { amount, payer, deadline, inject }
        ),
        2 => (wallet_amount(), wallet_payer(), deadline(), inject()).prop_map(
            |(amount, payer, deadline, inject)| Op::AuthorizeCapture { amount, payer, deadline, inject }
        ),
        2 => (any::<Index>(), poke(), inject())
            .prop_map(|(payment, poke, inject)| Op::Poke { payment, poke, inject }),
        6 => (any::<Index>(), refund_size(), any::<bool>(), inject()).prop_map(
            |(payment, size, by_reference, inject)| Op::Refund { payment, size, by_reference, inject }
        ),
        3 => (prop_oneof![8 => 0usize..2, 2 => 2usize..5], 1i64..=1_500_000, inject())
            .prop_map(|(to, amount, inject)| Op::Disburse { to, amount, inject }),
        2 => (0usize..4, any::<bool>(), inject())
            .prop_map(|(customer, frozen, inject)| Op::SetStatus { customer, frozen, inject }),
        1 => (100_000i64..=2_000_000, inject())
            .prop_map(|(amount, inject)| Op::TopUp { amount, inject }),
        2 => (any::<Index>(), any::<bool>(), inject())
            .prop_map(|(payment, same, inject)| Op::RepeatPayment { payment, same, inject }),
        1 => (any::<Index>(), any::<bool>(), inject())
            .prop_map(|(refund, same, inject)| Op::RepeatRefund { refund, same, inject }),
        1 => (any::<Index>(), any::<bool>(), inject()).prop_map(
            |(disbursement, same, inject)| Op::RepeatDisbursement { disbursement, same, inject }
        ),
        1 => (any::<Index>(), any::<bool>(), inject())
            .prop_map(|(top_up, same, inject)| Op::RepeatTopUp { top_up, same, inject }),
        1 => inject().prop_map(|inject| Op::Expire { inject }),
    ]
}

/// Whether this step of an operation with `steps` steps gets the injected failure, and if so
/// whether the client retries.
fn injected(inject: Option<Inject>, step: u8, steps: u8) -> Option<bool> {
    inject.filter(|i| i.step % steps == step).map(|i| i.retry)
}

// ---------------------------------------------------------------------------------------------
// The model

/// An account's expected balances.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Acc {
    posted: i64,
    pending_debits: i64,
    pending_credits: i64,
}

#[derive(Clone, Debug)]
struct MPayment {
    id: PaymentId,
    reference: String,
    channel: Channel,
    amount: i64,
    fee: i64,
    status: PaymentStatus,
    failure: Option<FailureReason>,
    /// Who pays (set by a direct debit, or by a successful authorisation).
    customer: Option<usize>,
    /// The debited customer named by a direct-debit request (part of its fingerprint).
    debtor: Option<usize>,
    deadline: Deadline,
    refunded: i64,
    refund_count: u32,
}

#[derive(Clone, Debug)]
struct MRefund {
    id: RefundId,
    number: String,
    payment: usize,
    amount: i64,
}

#[derive(Clone, Debug)]
struct MDisbursement {
    id: DisbursementId,
    reference: String,
    to: usize,
    amount: i64,
    status: DisbursementStatus,
    failure: Option<FailureReason>,
}

#[derive(Clone, Debug)]
struct MTopUp {
    reference: String,
    amount: i64,
}

/// What a refused command must answer.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Refusal {
    AmountOutOfRange,
    Inconsistent,
    CustomerNotFound,
    InvalidState(PaymentStatus),
    RefundNotAllowed,
    RefundExceeds(i64),
    IdReused,
    /// The error `FailAfter` injects.
    Injected,
}

fn refusal_of(e: &CoreError) -> Option<Refusal> {
    Some(match e {
        CoreError::AmountOutOfRange { .. } => Refusal::AmountOutOfRange,
        CoreError::InconsistentRequest => Refusal::Inconsistent,
        CoreError::CustomerNotFound => Refusal::CustomerNotFound,
        CoreError::InvalidPaymentState { status } => Refusal::InvalidState(*status),
        CoreError::RefundNotAllowed => Refusal::RefundNotAllowed,
        CoreError::RefundExceedsPayment { refundable } => {
            Refusal::RefundExceeds(refundable.minor())
        }
        CoreError::Ledger(LedgerError::IdReused(_)) => Refusal::IdReused,
        CoreError::Store(StoreError::Aborted) => Refusal::Injected,
        _ => return None,
    })
}

/// What the model expects of a command.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Expect {
    /// It succeeds and changes the store.
    Changes,
    /// It succeeds (a replay) and changes nothing.
    NoChange,
    /// It is refused and changes nothing.
    Refused(Refusal),
}

/// What authorising a payment does, by the rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Authorized {
    /// Past its deadline: expired instead.
    Expired,
    /// The rail refused: failed.
    Failed(FailureReason),
    /// The money is held.
    Held,
}

struct Model {
    merchant_available: AccountId,
    deposit: AccountId,
    customer_accounts: Vec<AccountId>,
    accounts: BTreeMap<AccountId, Acc>,
    frozen: [bool; 4],
    payments: Vec<MPayment>,
    refunds: Vec<MRefund>,
    disbursements: Vec<MDisbursement>,
    top_ups: Vec<MTopUp>,
    events: BTreeMap<&'static str, i64>,
    next: u32,
}

impl Model {
    fn acc(&mut self, account: &AccountId) -> &mut Acc {
        self.accounts.entry(account.clone()).or_default()
    }

    fn post(&mut self, debit: &AccountId, credit: &AccountId, amount: i64) {
        self.acc(debit).posted -= amount;
        self.acc(credit).posted += amount;
    }

    fn hold(&mut self, debit: &AccountId, credit: &AccountId, amount: i64) {
        self.acc(debit).pending_debits += amount;
        self.acc(credit).pending_credits += amount;
    }

    fn resolve(&mut self, debit: &AccountId, credit: &AccountId, amount: i64, post: bool) {
        self.acc(debit).pending_debits -= amount;
        self.acc(credit).pending_credits -= amount;
        if post {
            self.post(debit, credit, amount);
        }
    }

    /// The legs of payment `p`: (customer -> merchant, net), (customer -> fees, fee).
    fn payment_legs(&self, p: usize) -> [(AccountId, AccountId, i64); 2] {
        let pay = &self.payments[p];
        let customer = self.customer_accounts[pay.customer.expect("a paying customer")].clone();
        [
            (
                customer.clone(),
                self.merchant_available.clone(),
                pay.amount - pay.fee,
            ),
            (customer, AccountId::gateway_fees(), pay.fee),
        ]
    }

    fn available(&self, customer: usize) -> i64 {
        let acc = self
            .accounts
            .get(&self.customer_accounts[customer])
            .copied()
            .unwrap_or_default();
        acc.posted - acc.pending_debits
    }

    fn event(&mut self, kind: &'static str) {
        *self.events.entry(kind).or_default() += 1;
    }

    fn fresh(&mut self, prefix: &str) -> String {
        self.next += 1;
        format!("{prefix}-{}", self.next)
    }

    /// Authorising payment `p` for `payer`, in the order the core checks.
    fn authorize(&self, p: usize, payer: usize) -> Result<Authorized, Refusal> {
        let pay = &self.payments[p];
        if pay.status != PaymentStatus::Created {
            return Err(Refusal::InvalidState(pay.status));
        }
        if pay.deadline == Deadline::Past {
            return Ok(Authorized::Expired);
        }
        if rail(payer) != pay.channel.rail() {
            return Err(Refusal::CustomerNotFound);
        }
        Ok(if self.frozen[payer] {
            Authorized::Failed(FailureReason::AccountFrozen)
        } else if self.available(payer) < pay.amount {
            Authorized::Failed(FailureReason::InsufficientFunds)
        } else {
            Authorized::Held
        })
    }

    fn apply_authorized(&mut self, p: usize, payer: usize, outcome: Authorized) {
        match outcome {
            Authorized::Expired => {
                self.payments[p].status = PaymentStatus::Expired;
                self.event("payment.expired");
            }
            Authorized::Failed(reason) => {
                self.payments[p].status = PaymentStatus::Failed;
                self.payments[p].failure = Some(reason);
                self.event("payment.failed");
            }
            Authorized::Held => {
                self.payments[p].status = PaymentStatus::Paying;
                self.payments[p].customer = Some(payer);
                for (debit, credit, amount) in self.payment_legs(p) {
                    self.hold(&debit, &credit, amount);
                }
            }
        }
    }

    fn apply_capture(&mut self, p: usize) {
        for (debit, credit, amount) in self.payment_legs(p) {
            self.resolve(&debit, &credit, amount, true);
        }
        self.payments[p].status = PaymentStatus::Succeeded;
        self.event("payment.succeeded");
    }

    /// Cancels or expires an open payment, releasing its hold.
    fn apply_close(&mut self, p: usize, to: PaymentStatus) {
        if self.payments[p].status == PaymentStatus::Paying {
            for (debit, credit, amount) in self.payment_legs(p) {
                self.resolve(&debit, &credit, amount, false);
            }
        }
        self.payments[p].status = to;
        self.event(match to {
            PaymentStatus::Cancelled => "payment.cancelled",
            _ => "payment.expired",
        });
    }

    /// What the ledger must hold, as `all_balances` reports it.
    fn balances(&self) -> BTreeMap<String, (i64, i64, i64)> {
        self.accounts
            .iter()
            .map(|(id, a)| {
                (
                    id.as_str().to_string(),
                    (a.posted, a.pending_debits, a.pending_credits),
                )
            })
            .collect()
    }
}

/// The part of the fee returned with a refund of `amount`, the total refunded being `after`
/// once it is applied: proportional, on the running total (commands/refunds.rs `fee_share`).
fn fee_back(fee: i64, total: i64, after: i64, amount: i64) -> i64 {
    let before = after - amount;
    fee * after / total - fee * before / total
}

// ---------------------------------------------------------------------------------------------
// A run: the core under test and the model side by side

struct Run {
    f: Fixture,
    customers: Vec<Customer>,
    m: Model,
    /// Where the run is, for failure messages.
    at: String,
}

impl Run {
    async fn new(store: testing::TestStore, world: &World) -> Run {
        let f = Fixture::new(store).await;
        let mut customers = Vec::new();
        for (n, phone) in PHONES.iter().enumerate() {
            let balance = money(world.opening_balances[n]).to_string();
            customers.push(f.customer(rail(n), phone, &balance).await);
        }
        let mut m = Model {
            merchant_available: f.available_account(),
            deposit: f.deposit_account(),
            customer_accounts: customers.iter().map(|c| c.account.clone()).collect(),
            accounts: BTreeMap::new(),
            frozen: [false; 4],
            payments: Vec::new(),
            refunds: Vec::new(),
            disbursements: Vec::new(),
            top_ups: Vec::new(),
            events: BTreeMap::new(),
            next: 0,
        };
        for account in [
            AccountId::world(),
            AccountId::gateway_fees(),
            m.merchant_available.clone(),
            m.deposit.clone(),
        ] {
            m.acc(&account);
        }
        for (n, account) in m.customer_accounts.clone().iter().enumerate() {
            m.post(&AccountId::world(), account, world.opening_balances[n]);
        }
        let mut run = Run {
            f,
            customers,
            m,
            at: format!("opening the world {world:?}"),
        };
        if world.deposit > 0 {
            run.top_up(world.deposit, None).await;
        }
        run.check_ledger().await;
        run
    }

    fn engine(&self) -> &'static str {
        self.f.engine
    }

    /// Runs `cmd` as the model expects: with the failure injected first when `injected` is
    /// `Some(retry)` (then again for real only if `retry`). Returns the output when the command
    /// ran for real and succeeded; `None` when it was refused as expected or not retried.
    async fn exec<C>(&mut self, cmd: C, expect: Expect, injected: Option<bool>) -> Option<C::Output>
    where
        C: Command + Clone,
        C::Output: std::fmt::Debug,
    {
        let store = self.f.core.store().clone();
        if let Some(retry) = injected {
            let before = snapshot(&store).await;
            let got = self.f.core.run(FailAfter(cmd.clone())).await;
            let want = match &expect {
                Expect::Refused(refusal) => refusal.clone(),
                _ => Refusal::Injected,
            };
            self.check_refused(got, &want, "with an injected failure");
            let after = snapshot(&store).await;
            self.check_unchanged(&before, &after, "the injected failure");
            if !retry {
                return None;
            }
        }
        let before = match expect {
            Expect::Changes => None,
            _ => Some(snapshot(&store).await),
        };
        let got = self.f.core.run(cmd).await;
        let output = match &expect {
            Expect::Refused(want) => {
                self.check_refused(got, want, "");
                None
            }
            _ => Some(got.unwrap_or_else(|e| {
                panic!(
                    "{}: expected success ({expect:?}), got {e:?} ({e})",
                    self.at
                )
            })),
        };
        if let Some(before) = before {
            let after = snapshot(&store).await;
            self.check_unchanged(&before, &after, &format!("{expect:?}"));
        }
        output
    }

    fn check_refused<T: std::fmt::Debug>(
        &self,
        got: Result<T, CoreError>,
        want: &Refusal,
        how: &str,
    ) {
        match got {
            Err(e) => assert_eq!(
                refusal_of(&e).as_ref(),
                Some(want),
                "{}: {how}: expected {want:?}, got {e:?} ({e})",
                self.at
            ),
            Ok(out) => panic!(
                "{}: {how}: expected refusal {want:?}, got success {out:?}",
                self.at
            ),
        }
    }

    fn check_unchanged(&self, before: &[String], after: &[String], what: &str) {
        if before != after {
            let gone: Vec<_> = before.iter().filter(|r| !after.contains(r)).collect();
            let new: Vec<_> = after.iter().filter(|r| !before.contains(r)).collect();
            panic!(
                "{}: {what} must leave no trace, but rows changed:\n  before: {gone:#?}\n  after: {new:#?}",
                self.at
            );
        }
    }

    /// The ledger and the outbox equal the model.
    async fn check_ledger(&self) {
        let store = self.f.core.store();
        let balances = all_balances(store).await;
        let expected = self.m.balances();
        if balances != expected {
            let diff: Vec<String> = expected
                .keys()
                .chain(balances.keys())
                .collect::<BTreeSet<_>>()
                .into_iter()
                .filter(|k| balances.get(*k) != expected.get(*k))
                .map(|k| {
                    format!(
                        "{k}: ledger {:?}, model {:?} (posted, pending debits, pending credits)",
                        balances.get(k),
                        expected.get(k)
                    )
                })
                .collect();
            panic!("{}: ledger differs from the model:\n{diff:#?}", self.at);
        }
        let events = event_counts(store).await;
        let expected: BTreeMap<String, i64> = self
            .m
            .events
            .iter()
            .map(|(k, v)| (k.to_string(), *v))
            .collect();
        assert_eq!(
            events, expected,
            "{}: outbox events (by kind) differ from the model",
            self.at
        );
    }

    /// A payment as the core returned it equals the model's payment `p`.
    fn check_payment(&self, got: &Payment, p: usize) {
        let want = &self.m.payments[p];
        let customer = want.customer.map(|c| self.customers[c].id);
        assert_eq!(
            (
                got.id,
                got.partner_reference_no.as_str(),
                got.channel,
                got.amount.minor(),
                got.fee.minor(),
                got.status,
                got.failure,
                got.customer_id,
                got.refunded.minor(),
                got.refund_count,
                got.paid_at.is_some(),
            ),
            (
                want.id,
                want.reference.as_str(),
                want.channel,
                want.amount,
                want.fee,
                want.status,
                want.failure,
                customer,
                want.refunded,
                want.refund_count,
                want.status == PaymentStatus::Succeeded,
            ),
            "{}: payment differs from the model \
             (id, reference, channel, amount, fee, status, failure, customer, refunded, \
             refund count, paid)",
            self.at
        );
    }

    fn payment_command(&self, reference: &str, channel: Channel, amount: i64) -> CreatePayment {
        // The fixture's request (whatever fields it grows), with the exact amount.
        CreatePayment {
            amount: money(amount),
            ..self.f.payment(reference, channel, "1.00")
        }
    }

    // --- the commands, each predicted by the model -------------------------------------------

    /// Creates a wallet payment; its index in the model when created.
    async fn create(
        &mut self,
        amount: i64,
        deadline: Deadline,
        injected: Option<bool>,
    ) -> Option<usize> {
        let reference = self.m.fresh("INV");
        let command = CreatePayment {
            valid_until: deadline.at(),
            ..self.payment_command(&reference, Channel::DanaWallet, amount)
        };
        let expect = if in_range(Channel::DanaWallet, amount) {
            Expect::Changes
        } else {
            Expect::Refused(Refusal::AmountOutOfRange)
        };
        let out = self.exec(command, expect, injected).await?;
        assert!(!out.replayed, "{}: a fresh reference replayed", self.at);
        self.m.payments.push(MPayment {
            id: out.payment.id,
            reference,
            channel: Channel::DanaWallet,
            amount,
            fee: payment_fee(amount),
            status: PaymentStatus::Created,
            failure: None,
            customer: None,
            debtor: None,
            deadline,
            refunded: 0,
            refund_count: 0,
        });
        let p = self.m.payments.len() - 1;
        self.check_payment(&out.payment, p);
        Some(p)
    }

    async fn direct_debit(&mut self, amount: i64, payer: usize, injected: Option<bool>) {
        let reference = self.m.fresh("DD");
        let command = DebitNow {
            payment: self.payment_command(&reference, Channel::AlloDirectDebit, amount),
            customer_id: self.customers[payer].id,
            cust_id_merchant: None,
        };
        let expect = if !in_range(Channel::AlloDirectDebit, amount) {
            Expect::Refused(Refusal::AmountOutOfRange)
        } else if rail(payer) != Rail::Bank {
            Expect::Refused(Refusal::CustomerNotFound)
        } else {
            Expect::Changes
        };
        let Some(out) = self.exec(command, expect, injected).await else {
            return;
        };
        assert!(!out.replayed, "{}: a fresh reference replayed", self.at);
        let failure = if self.m.frozen[payer] {
            Some(FailureReason::AccountFrozen)
        } else if self.m.available(payer) < amount {
            Some(FailureReason::InsufficientFunds)
        } else {
            None
        };
        self.m.payments.push(MPayment {
            id: out.payment.id,
            reference,
            channel: Channel::AlloDirectDebit,
            amount,
            fee: payment_fee(amount),
            status: PaymentStatus::Created,
            failure: None,
            customer: Some(payer),
            debtor: Some(payer),
            deadline: Deadline::None,
            refunded: 0,
            refund_count: 0,
        });
        let p = self.m.payments.len() - 1;
        match failure {
            None => {
                for (debit, credit, amount) in self.m.payment_legs(p) {
                    self.m.post(&debit, &credit, amount);
                }
                self.m.payments[p].status = PaymentStatus::Succeeded;
                self.m.event("payment.succeeded");
            }
            Some(reason) => {
                self.m.payments[p].status = PaymentStatus::Failed;
                self.m.payments[p].failure = Some(reason);
                self.m.event("payment.failed");
            }
        }
        self.check_payment(&out.payment, p);
    }

    async fn authorize(&mut self, p: usize, payer: usize, injected: Option<bool>) {
        let predicted = self.m.authorize(p, payer);
        let command = Authorize {
            payment_id: self.m.payments[p].id,
            customer_id: self.customers[payer].id,
        };
        let expect = match &predicted {
            Ok(_) => Expect::Changes,
            Err(refusal) => Expect::Refused(refusal.clone()),
        };
        let Some(out) = self.exec(command, expect, injected).await else {
            return;
        };
        self.m.apply_authorized(p, payer, predicted.unwrap());
        self.check_payment(&out, p);
    }

    async fn pay(&mut self, p: usize, payer: usize, injected: Option<bool>) {
        let predicted = self.m.authorize(p, payer);
        let command = Pay {
            payment_id: self.m.payments[p].id,
            customer_id: self.customers[payer].id,
        };
        let expect = match &predicted {
            Ok(_) => Expect::Changes,
            Err(refusal) => Expect::Refused(refusal.clone()),
        };
        let Some(out) = self.exec(command, expect, injected).await else {
            return;
        };
        let outcome = predicted.unwrap();
        self.m.apply_authorized(p, payer, outcome);
        if outcome == Authorized::Held {
            self.m.apply_capture(p);
        }
        self.check_payment(&out, p);
    }

    async fn capture(&mut self, p: usize, injected: Option<bool>) {
        let status = self.m.payments[p].status;
        let command = Capture {
            payment_id: self.m.payments[p].id,
        };
        let expect = if status == PaymentStatus::Paying {
            Expect::Changes
        } else {
            Expect::Refused(Refusal::InvalidState(status))
        };
        let Some(out) = self.exec(command, expect, injected).await else {
            return;
        };
        self.m.apply_capture(p);
        self.check_payment(&out, p);
    }

    async fn cancel(&mut self, p: usize, injected: Option<bool>) {
        let status = self.m.payments[p].status;
        let command = Cancel {
            merchant_id: Some(self.f.merchant.id),
            payment_id: self.m.payments[p].id,
        };
        let expect = if status.is_final() {
            Expect::Refused(Refusal::InvalidState(status))
        } else {
            Expect::Changes
        };
        let Some(out) = self.exec(command, expect, injected).await else {
            return;
        };
        self.m.apply_close(p, PaymentStatus::Cancelled);
        self.check_payment(&out, p);
    }

    async fn expire(&mut self, injected: Option<bool>) {
        let due: Vec<usize> = (0..self.m.payments.len())
            .filter(|&p| {
                let pay = &self.m.payments[p];
                pay.deadline == Deadline::Past && !pay.status.is_final()
            })
            .collect();
        let expect = if due.is_empty() {
            Expect::NoChange
        } else {
            Expect::Changes
        };
        let Some(out) = self
            .exec(ExpireOverdue { limit: 1000 }, expect, injected)
            .await
        else {
            return;
        };
        let mut got: Vec<PaymentId> = out.iter().map(|p| p.id).collect();
        let mut want: Vec<PaymentId> = due.iter().map(|&p| self.m.payments[p].id).collect();
        got.sort();
        want.sort();
        assert_eq!(got, want, "{}: the sweep expired other payments", self.at);
        for &p in &due {
            self.m.apply_close(p, PaymentStatus::Expired);
        }
        for payment in &out {
            let p = due
                .iter()
                .copied()
                .find(|&p| self.m.payments[p].id == payment.id)
                .unwrap();
            self.check_payment(payment, p);
        }
    }

    fn refund_command(
        &self,
        p: usize,
        number: &str,
        amount: i64,
        by_reference: bool,
    ) -> RefundPayment {
        let pay = &self.m.payments[p];
        RefundPayment {
            merchant_id: self.f.merchant.id,
            payment: if by_reference {
                PaymentLookup::PartnerReference(PartnerReference::parse(&pay.reference).unwrap())
            } else {
                PaymentLookup::Id(pay.id)
            },
            partner_refund_no: PartnerReference::parse(number).unwrap(),
            amount: money(amount),
            reason: Some("model".into()),
        }
    }

    async fn refund(
        &mut self,
        p: usize,
        size: RefundSize,
        by_reference: bool,
        injected: Option<bool>,
    ) {
        let pay = self.m.payments[p].clone();
        let refundable = pay.amount - pay.refunded;
        let base = if refundable > 0 {
            refundable
        } else {
            pay.amount
        };
        let amount = match size {
            RefundSize::Full => base,
            RefundSize::PerMille(pm) => (base * i64::from(pm) / 1000).max(1),
            RefundSize::Exceeding(extra) => refundable + extra,
        };
        let number = self.m.fresh("RF");
        let command = self.refund_command(p, &number, amount, by_reference);
        let expect = if pay.status != PaymentStatus::Succeeded {
            Expect::Refused(Refusal::InvalidState(pay.status))
        } else if pay.channel.refund_policy() == RefundPolicy::One && pay.refund_count > 0 {
            Expect::Refused(Refusal::RefundNotAllowed)
        } else if amount > refundable {
            Expect::Refused(Refusal::RefundExceeds(refundable))
        } else {
            Expect::Changes
        };
        let Some(out) = self.exec(command, expect, injected).await else {
            return;
        };
        assert!(!out.replayed, "{}: a fresh refund number replayed", self.at);
        assert_eq!(
            (
                out.refund.payment_id,
                out.refund.amount.minor(),
                out.refund.partner_refund_no.as_str()
            ),
            (pay.id, amount, number.as_str()),
            "{}: the refund",
            self.at
        );
        // As the core stands, a refund credits the payer even when their account is frozen
        // (disbursements to a frozen wallet are refused); the model follows the core here.
        let after = pay.refunded + amount;
        let back = fee_back(pay.fee, pay.amount, after, amount);
        let customer =
            self.m.customer_accounts[pay.customer.expect("a paid payment has a payer")].clone();
        let merchant = self.m.merchant_available.clone();
        self.m.post(&merchant, &customer, amount - back);
        self.m.post(&AccountId::gateway_fees(), &customer, back);
        self.m.payments[p].refunded = after;
        self.m.payments[p].refund_count += 1;
        self.m.event("refund.succeeded");
        self.m.refunds.push(MRefund {
            id: out.refund.id,
            number,
            payment: p,
            amount,
        });
        self.check_payment(&out.payment, p);
    }

    async fn repeat_refund(&mut self, r: usize, same: bool, injected: Option<bool>) {
        let refund = self.m.refunds[r].clone();
        let amount = if same {
            refund.amount
        } else {
            refund.amount + 1
        };
        let command = self.refund_command(refund.payment, &refund.number, amount, same);
        let expect = if same {
            Expect::NoChange
        } else {
            Expect::Refused(Refusal::Inconsistent)
        };
        let Some(out) = self.exec(command, expect, injected).await else {
            return;
        };
        assert!(out.replayed, "{}: a repeated refund must replay", self.at);
        assert_eq!(
            (out.refund.id, out.refund.amount.minor()),
            (refund.id, refund.amount),
            "{}: the replay must return the original refund",
            self.at
        );
        self.check_payment(&out.payment, refund.payment);
    }

    async fn disburse(&mut self, to: usize, amount: i64, injected: Option<bool>) {
        let reference = self.m.fresh("DS");
        let phone = PHONES.get(to).copied().unwrap_or(UNKNOWN_PHONE);
        let command = Disburse {
            merchant_id: self.f.merchant.id,
            partner_reference_no: PartnerReference::parse(&reference).unwrap(),
            phone: PhoneNumber::parse(phone).unwrap(),
            amount: money(amount),
        };
        // Only wallets receive disbursements: a bank customer's number is not found.
        let expect = if to < 2 {
            Expect::Changes
        } else {
            Expect::Refused(Refusal::CustomerNotFound)
        };
        let Some(out) = self.exec(command, expect, injected).await else {
            return;
        };
        let deposit = self.m.deposit.clone();
        let failure = if self.m.frozen[to] {
            Some(FailureReason::AccountFrozen)
        } else if self.m.acc(&deposit).posted < amount + DISBURSEMENT_FEE {
            Some(FailureReason::InsufficientFunds)
        } else {
            None
        };
        let status = match failure {
            None => DisbursementStatus::Succeeded,
            Some(_) => DisbursementStatus::Failed,
        };
        let d = &out.disbursement;
        assert_eq!(
            (
                out.replayed,
                d.status,
                d.failure,
                d.amount.minor(),
                d.fee.minor(),
                d.customer_id,
                d.partner_reference_no.as_str(),
            ),
            (
                false,
                status,
                failure,
                amount,
                DISBURSEMENT_FEE,
                Some(self.customers[to].id),
                reference.as_str(),
            ),
            "{}: the disbursement (replayed, status, failure, amount, fee, customer, reference)",
            self.at
        );
        if failure.is_none() {
            let customer = self.m.customer_accounts[to].clone();
            self.m.post(&deposit, &customer, amount);
            self.m
                .post(&deposit, &AccountId::gateway_fees(), DISBURSEMENT_FEE);
            self.m.event("disbursement.succeeded");
        } else {
            self.m.event("disbursement.failed");
        }
        self.m.disbursements.push(MDisbursement {
            id: d.id,
            reference,
            to,
            amount,
            status,
            failure,
        });
    }

    async fn repeat_disbursement(&mut self, n: usize, same: bool, injected: Option<bool>) {
        let earlier = self.m.disbursements[n].clone();
        let amount = if same {
            earlier.amount
        } else {
            earlier.amount + 1
        };
        let command = Disburse {
            merchant_id: self.f.merchant.id,
            partner_reference_no: PartnerReference::parse(&earlier.reference).unwrap(),
            phone: PhoneNumber::parse(PHONES[earlier.to]).unwrap(),
            amount: money(amount),
        };
        let expect = if same {
            Expect::NoChange
        } else {
            Expect::Refused(Refusal::Inconsistent)
        };
        let Some(out) = self.exec(command, expect, injected).await else {
            return;
        };
        let d = &out.disbursement;
        assert_eq!(
            (out.replayed, d.id, d.status, d.failure, d.amount.minor()),
            (
                true,
                earlier.id,
                earlier.status,
                earlier.failure,
                earlier.amount
            ),
            "{}: the replay must return the original outcome",
            self.at
        );
    }

    async fn set_status(&mut self, customer: usize, frozen: bool, injected: Option<bool>) {
        let command = SetCustomerStatus {
            customer_id: self.customers[customer].id,
            status: if frozen {
                CustomerStatus::Frozen
            } else {
                CustomerStatus::Active
            },
        };
        if self
            .exec(command, Expect::Changes, injected)
            .await
            .is_some()
        {
            self.m.frozen[customer] = frozen;
        }
    }

    async fn top_up(&mut self, amount: i64, injected: Option<bool>) {
        let reference = self.m.fresh("TU");
        let command = FundDeposit {
            merchant_id: self.f.merchant.id,
            amount: money(amount),
            reference: reference.clone(),
        };
        if self
            .exec(command, Expect::Changes, injected)
            .await
            .is_some()
        {
            let deposit = self.m.deposit.clone();
            self.m.post(&AccountId::world(), &deposit, amount);
            self.m.top_ups.push(MTopUp { reference, amount });
        }
    }

    async fn repeat_top_up(&mut self, n: usize, same: bool, injected: Option<bool>) {
        let earlier = self.m.top_ups[n].clone();
        let command = FundDeposit {
            merchant_id: self.f.merchant.id,
            amount: money(if same {
                earlier.amount
            } else {
                earlier.amount + 1
            }),
            reference: earlier.reference,
        };
        let expect = if same {
            Expect::NoChange
        } else {
            Expect::Refused(Refusal::IdReused)
        };
        self.exec(command, expect, injected).await;
    }

    async fn repeat_payment(&mut self, p: usize, same: bool, injected: Option<bool>) {
        let pay = self.m.payments[p].clone();
        let amount = if same { pay.amount } else { pay.amount + 100 };
        let create = self.payment_command(&pay.reference, pay.channel, amount);
        let expect = if same {
            Expect::NoChange
        } else {
            Expect::Refused(Refusal::Inconsistent)
        };
        let out = match pay.debtor {
            Some(debtor) => {
                let command = DebitNow {
                    payment: create,
                    customer_id: self.customers[debtor].id,
                    cust_id_merchant: None,
                };
                self.exec(command, expect, injected).await
            }
            None => {
                let command = CreatePayment {
                    valid_until: pay.deadline.at(),
                    ..create
                };
                self.exec(command, expect, injected).await
            }
        };
        if let Some(out) = out {
            assert!(out.replayed, "{}: a repeated request must replay", self.at);
            self.check_payment(&out.payment, p);
        }
    }

    // --- operations ---------------------------------------------------------------------------

    async fn apply(&mut self, op: &Op) {
        match *op {
            Op::WalletPay {
                amount,
                payer,
                deadline,
                inject,
            } => {
                if let Some(p) = self.create(amount, deadline, injected(inject, 0, 2)).await {
                    self.pay(p, payer, injected(inject, 1, 2)).await;
                }
            }
            Op::DirectDebit {
                amount,
                payer,
                inject,
            } => {
                self.direct_debit(amount, payer, injected(inject, 0, 1))
                    .await
            }
            Op::AuthorizeCancel {
                amount,
                payer,
                deadline,
                inject,
            } => {
                if let Some(p) = self.create(amount, deadline, injected(inject, 0, 3)).await {
                    self.authorize(p, payer, injected(inject, 1, 3)).await;
                    self.cancel(p, injected(inject, 2, 3)).await;
                }
            }
            Op::AuthorizeCapture {
                amount,
                payer,
                deadline,
                inject,
            } => {
                if let Some(p) = self.create(amount, deadline, injected(inject, 0, 3)).await {
                    self.authorize(p, payer, injected(inject, 1, 3)).await;
                    self.capture(p, injected(inject, 2, 3)).await;
                }
            }
            Op::Poke {
                payment,
                poke,
                inject,
            } => {
                if self.m.payments.is_empty() {
                    return;
                }
                let p = payment.index(self.m.payments.len());
                let injected = injected(inject, 0, 1);
                match poke {
                    Poke::Pay(payer) => self.pay(p, payer, injected).await,
                    Poke::Authorize(payer) => self.authorize(p, payer, injected).await,
                    Poke::Capture => self.capture(p, injected).await,
                    Poke::Cancel => self.cancel(p, injected).await,
                }
            }
            Op::Refund {
                payment,
                size,
                by_reference,
                inject,
            } => {
                if self.m.payments.is_empty() {
                    return;
                }
                // Mostly refund a succeeded payment; any payment otherwise.
                let succeeded: Vec<usize> = (0..self.m.payments.len())
                    .filter(|&p| self.m.payments[p].status == PaymentStatus::Succeeded)
                    .collect();
                let p = if !succeeded.is_empty() && payment.index(10) < 8 {
                    succeeded[payment.index(succeeded.len())]
                } else {
                    payment.index(self.m.payments.len())
                };
                self.refund(p, size, by_reference, injected(inject, 0, 1))
                    .await;
            }
            Op::Disburse { to, amount, inject } => {
                self.disburse(to, amount, injected(inject, 0, 1)).await
            }
            Op::SetStatus {
                customer,
                frozen,
                inject,
            } => {
                self.set_status(customer, frozen, injected(inject, 0, 1))
                    .await
            }
            Op::TopUp { amount, inject } => self.top_up(amount, injected(inject, 0, 1)).await,
            Op::RepeatPayment {
                payment,
                same,
                inject,
            } => {
                if !self.m.payments.is_empty() {
                    let p = payment.index(self.m.payments.len());
                    self.repeat_payment(p, same, injected(inject, 0, 1)).await;
                }
            }
            Op::RepeatRefund {
                refund,
                same,
                inject,
            } => {
                if !self.m.refunds.is_empty() {
                    let r = refund.index(self.m.refunds.len());
                    self.repeat_refund(r, same, injected(inject, 0, 1)).await;
                }
            }
            Op::RepeatDisbursement {
                disbursement,
                same,
                inject,
            } => {
                if !self.m.disbursements.is_empty() {
                    let n = disbursement.index(self.m.disbursements.len());
                    self.repeat_disbursement(n, same, injected(inject, 0, 1))
                        .await;
                }
            }
            Op::RepeatTopUp {
                top_up,
                same,
                inject,
            } => {
                if !self.m.top_ups.is_empty() {
                    let n = top_up.index(self.m.top_ups.len());
                    self.repeat_top_up(n, same, injected(inject, 0, 1)).await;
                }
            }
            Op::Expire { inject } => self.expire(injected(inject, 0, 1)).await,
        }
    }

    /// The end of a run: the ledger is sound, sums to zero, and every row matches the model.
    async fn finish(&self) {
        let engine = self.engine();
        let core = &self.f.core;
        let breaches = core.verify_ledger().await.unwrap();
        assert!(
            breaches.is_empty(),
            "{}: verify_ledger found breaches: {breaches:?}",
            self.at
        );
        let sum: i64 = all_balances(core.store())
            .await
            .values()
            .map(|(posted, _, _)| posted)
            .sum();
        assert_eq!(
            sum, 0,
            "{}: the balances of all accounts sum to {sum}",
            self.at
        );
        for (p, want) in self.m.payments.iter().enumerate() {
            let stored = core
                .store()
                .payment(&want.id)
                .await
                .unwrap()
                .unwrap_or_else(|| panic!("{engine}: payment {} is missing", want.id));
            self.check_payment(&stored, p);
            let refunds = core.store().refunds_of(&want.id).await.unwrap();
            let mut got: Vec<(RefundId, i64)> =
                refunds.iter().map(|r| (r.id, r.amount.minor())).collect();
            let mut expected: Vec<(RefundId, i64)> = self
                .m
                .refunds
                .iter()
                .filter(|r| r.payment == p)
                .map(|r| (r.id, r.amount))
                .collect();
            got.sort();
            expected.sort();
            assert_eq!(got, expected, "{engine}: the refunds of {}", want.id);
        }
        for want in &self.m.disbursements {
            let stored = core
                .store()
                .disbursement_by_reference(&self.f.merchant.id, &want.reference)
                .await
                .unwrap()
                .unwrap_or_else(|| panic!("{engine}: disbursement {} is missing", want.reference));
            assert_eq!(
                (
                    stored.id,
                    stored.status,
                    stored.failure,
                    stored.amount.minor()
                ),
                (want.id, want.status, want.failure, want.amount),
                "{engine}: disbursement {}",
                want.reference
            );
        }
        for (table, expected) in [
            ("payments", self.m.payments.len()),
            ("refunds", self.m.refunds.len()),
            ("disbursements", self.m.disbursements.len()),
        ] {
            assert_eq!(
                self.f.store.rows(table).await,
                i64::try_from(expected).unwrap(),
                "{engine}: rows in {table}"
            );
        }
    }
}

/// Runs one case on one engine; nothing when the engine is not configured here.
fn run_case(engine: &'static str, world: &World, ops: &[Op]) {
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
    runtime.block_on(async {
        let store = match engine {
            "sqlite" => Some(testing::sqlite().await),
            _ => testing::postgres().await,
        };
        let Some(store) = store else {
            return;
        };
        assert_eq!(store.engine, engine);
        let mut run = Run::new(store, world).await;
        for (n, op) in ops.iter().enumerate() {
            run.at = format!("{engine}: op {n} of {}: {op:?}", ops.len());
            run.apply(op).await;
            run.check_ledger().await;
        }
        run.at = format!("{engine}: after {} ops", ops.len());
        run.finish().await;
    });
}

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 12,
        // Each case opens a fresh store; keep shrinking bounded in time.
        max_shrink_time: 120_000,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn sqlite_ledger_follows_the_model(world in world(), ops in prop::collection::vec(op(), 1..=40)) {
        run_case("sqlite", &world, &ops);
    }

    #[test]
    fn postgres_ledger_follows_the_model(world in world(), ops in prop::collection::vec(op(), 1..=40)) {
        run_case("postgres", &world, &ops);
    }
}
