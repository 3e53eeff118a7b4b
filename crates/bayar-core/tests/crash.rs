//! Crash safety with a real SIGKILL, on every engine.
//!
//! The parent test opens a store, creates a merchant and customers, then re-executes this very
//! test binary as a child process running only [`crash_child_runs_payments_until_killed`]. The
//! child starts a core on the same database and runs payments, direct debits, holds, captures,
//! cancellations and refunds from several concurrent tasks, printing an `ACK` line to stdout
//! only after `core.run(..)` returned `Ok` (that is, after the batch committed). Once the parent
//! has read enough ACKs it kills the child with SIGKILL, mid-flight, then reopens the database
//! with a fresh core and checks that:
//! - every acknowledged payment exists with the acknowledged status (or a later one), every
//!   acknowledged refund exists, and repeating an acknowledged request replays it;
//! - the ledger verifies, and no money moved without its payment or refund row (nor the
//!   reverse); refunded totals equal the refund rows;
//! - every payment in a final state has exactly its one outbox event, and no event exists for
//!   a change that did not commit; the events are undelivered and claimable by a worker;
//! - the core restarts on the same store and takes new payments.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use bayar_core::commands::{
    Authorize, Cancel, Capture, CreatePayment, DebitNow, Pay, PaymentLookup, RefundPayment,
};
use bayar_core::customer::{PhoneNumber, Pin, Rail};
use bayar_core::ids::{CustomerId, MerchantId, PaymentId, RefundId};
use bayar_core::merchant::{MerchantName, NewMerchant};
use bayar_core::payment::{Channel, PartnerReference, PaymentStatus};
use bayar_core::store::{PostgresOptions, SqliteOptions, Store};
use bayar_core::testing;
use bayar_core::{Core, CoreConfig, NewCustomer};
use bayar_snap::Money;
use common::fetch_rows;

/// Set in the child's environment: run the workload instead of returning at once.
const CHILD_ENV: &str = "BAYAR_CRASH_CHILD";
/// `sqlite:<path>` or a `postgres://` URL.
const DB_ENV: &str = "BAYAR_CRASH_DB";
/// The PostgreSQL schema (PostgreSQL only).
const SCHEMA_ENV: &str = "BAYAR_CRASH_SCHEMA";
/// `<merchant> <rich wallet> <poor wallet> <bank> <bank>`: the world the parent created.
const WORLD_ENV: &str = "BAYAR_CRASH_WORLD";
/// The child test's name, for `--exact`.
const CHILD_TEST: &str = "crash_child_runs_payments_until_killed";
/// How many acknowledged commands the parent waits for before it kills the child.
const ACKS_BEFORE_KILL: usize = 300;
/// How long the child has to produce them.
const ACK_DEADLINE: Duration = Duration::from_secs(60);
/// The child gives up on its own after this long, should the parent have vanished.
const CHILD_LIFETIME: Duration = Duration::from_secs(180);
/// Concurrent tasks in the child.
const TASKS: usize = 8;

// ---------------------------------------------------------------------------------------------
// The world and the database, shared by parent and child

/// Where the database is.
#[derive(Clone, Debug)]
enum Db {
    Sqlite(PathBuf),
    Postgres { url: String, schema: String },
}

impl Db {
    fn engine(&self) -> &'static str {
        match self {
            Db::Sqlite(_) => "sqlite",
            Db::Postgres { .. } => "postgres",
        }
    }

    fn from_env() -> Db {
        let db = std::env::var(DB_ENV).expect("BAYAR_CRASH_DB is set for the child");
        match db.strip_prefix("sqlite:") {
            Some(path) => Db::Sqlite(PathBuf::from(path)),
            None => Db::Postgres {
                url: db,
                schema: std::env::var(SCHEMA_ENV).expect("BAYAR_CRASH_SCHEMA is set"),
            },
        }
    }

    fn env(&self) -> Vec<(&'static str, String)> {
        match self {
            Db::Sqlite(path) => vec![(DB_ENV, format!("sqlite:{}", path.display()))],
            Db::Postgres { url, schema } => {
                vec![(DB_ENV, url.clone()), (SCHEMA_ENV, schema.clone())]
            }
        }
    }

    async fn open(&self) -> Store {
        match self {
            Db::Sqlite(path) => Store::open_sqlite(SqliteOptions::new(path)).await,
            Db::Postgres { url, schema } => {
                Store::open_postgres(PostgresOptions {
                    schema: Some(schema.clone()),
                    ..PostgresOptions::from_url(url)
                })
                .await
            }
        }
        .unwrap_or_else(|e| panic!("{}: open the store: {e}", self.engine()))
    }
}

/// The merchant and customers the parent creates and the child uses.
#[derive(Clone, Debug)]
struct World {
    merchant: MerchantId,
    /// Pays almost always.
    rich_wallet: CustomerId,
    /// Runs dry quickly: most of its payments fail for insufficient funds.
    poor_wallet: CustomerId,
    banks: [CustomerId; 2],
}

impl World {
    fn to_env(&self) -> String {
        format!(
            "{} {} {} {} {}",
            self.merchant, self.rich_wallet, self.poor_wallet, self.banks[0], self.banks[1]
        )
    }

    fn from_env() -> World {
        let text = std::env::var(WORLD_ENV).expect("BAYAR_CRASH_WORLD is set for the child");
        let ids: Vec<&str> = text.split(' ').collect();
        assert_eq!(ids.len(), 5, "malformed {WORLD_ENV}: {text:?}");
        World {
            merchant: ids[0].parse().unwrap(),
            rich_wallet: ids[1].parse().unwrap(),
            poor_wallet: ids[2].parse().unwrap(),
            banks: [ids[3].parse().unwrap(), ids[4].parse().unwrap()],
        }
    }

    async fn create(core: &Core) -> World {
        let merchant = core
            .create_merchant(NewMerchant {
                name: MerchantName::parse("Toko Crash").unwrap(),
                notify_url: None,
                public_key: Some(bayar_snap::PrivateKey::generate().unwrap().public_key()),
            })
            .await
            .unwrap()
            .merchant
            .id;
        let customer = |rail, phone: &str, balance: &str| NewCustomer {
            rail,
            phone: PhoneNumber::parse(phone).unwrap(),
            pin: Pin::parse("123456").unwrap(),
            opening_balance: Money::parse(balance).unwrap(),
        };
        let rich = "1000000000.00";
        let rich_wallet = core
            .create_customer(customer(Rail::Wallet, "081200000201", rich))
            .await
            .unwrap()
            .id;
        let poor_wallet = core
            .create_customer(customer(Rail::Wallet, "081200000202", "2000.00"))
            .await
            .unwrap()
            .id;
        let bank0 = core
            .create_customer(customer(Rail::Bank, "081200000203", rich))
            .await
            .unwrap()
            .id;
        let bank1 = core
            .create_customer(customer(Rail::Bank, "081200000204", rich))
            .await
            .unwrap()
            .id;
        World {
            merchant,
            rich_wallet,
            poor_wallet,
            banks: [bank0, bank1],
        }
    }
}

fn create_payment(world: &World, reference: &str, channel: Channel, amount: i64) -> CreatePayment {
    CreatePayment {
        merchant_id: world.merchant,
        partner_reference_no: PartnerReference::parse(reference).unwrap(),
        external_id: format!("ext-{reference}"),
        channel,
        face: bayar_core::payment::Face::Doku,
        amount: Money::from_minor(amount).unwrap(),
        valid_until: None,
        title: None,
        return_url: None,
        notify_url: None,
    }
}

fn refund_command(world: &World, payment: PaymentId, number: &str, amount: i64) -> RefundPayment {
    RefundPayment {
        merchant_id: world.merchant,
        payment: PaymentLookup::Id(payment),
        partner_refund_no: PartnerReference::parse(number).unwrap(),
        amount: Money::from_minor(amount).unwrap(),
        reason: Some("crash test".into()),
    }
}

// ---------------------------------------------------------------------------------------------
// The child: runs payments until it is killed

/// Runs only in the child process (when `BAYAR_CRASH_CHILD` is set); a no-op otherwise.
#[test]
fn crash_child_runs_payments_until_killed() {
    if std::env::var_os(CHILD_ENV).is_none() {
        return;
    }
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
    runtime.block_on(async {
        let db = Db::from_env();
        let world = World::from_env();
        // libtest has printed `test <name> ... ` without a newline: end that line first.
        ack("\nCHILD READY".into());
        let core = Core::start(db.open().await, CoreConfig::default())
            .await
            .expect("start the core in the child");
        for task in 0..TASKS {
            tokio::spawn(child_task(core.clone(), world.clone(), task));
        }
        tokio::time::sleep(CHILD_LIFETIME).await;
        eprintln!("child: not killed within {CHILD_LIFETIME:?}; exiting");
        std::process::exit(3);
    });
}

/// Prints one acknowledgement line, flushed; exits when the parent has gone away.
fn ack(line: String) {
    let mut out = std::io::stdout().lock();
    if writeln!(out, "{line}").and_then(|()| out.flush()).is_err() {
        std::process::exit(2);
    }
}

/// Acknowledges a payment command that returned `Ok`:
/// `ACK <payment id> <status> <command> <reference> <amount> <debited customer or ->`.
fn ack_payment(id: PaymentId, status: PaymentStatus, what: &str, request: &str) {
    ack(format!("ACK {id} {status} {what} {request}"));
}

/// A cheap deterministic spread of amounts.
fn amount(task: usize, n: usize, min: i64, span: i64) -> i64 {
    let mix = (task as i64 + 1) * 7_919 + (n as i64) * 104_729;
    min + mix.rem_euclid(span)
}

async fn child_task(core: Core, world: World, task: usize) {
    // Succeeded payments this task may still refund: (id, channel, amount, refunded).
    let mut refundable: Vec<(PaymentId, Channel, i64, i64)> = Vec::new();
    for n in 0.. {
        let reference = format!("T{task}-N{n}");
        let result = match n % 5 {
            // A direct debit of a bank customer.
            0 | 3 => {
                let customer = world.banks[(task + n) % 2];
                let value = amount(task, n, 100_000, 5_000_000);
                let request = format!("{reference} {value} {customer}");
                core.run(DebitNow {
                    payment: create_payment(&world, &reference, Channel::AlloDirectDebit, value),
                    customer_id: customer,
                    cust_id_merchant: None,
                })
                .await
                .map(|out| {
                    ack_payment(out.payment.id, out.payment.status, "debit", &request);
                    if out.payment.status == PaymentStatus::Succeeded {
                        refundable.push((out.payment.id, Channel::AlloDirectDebit, value, 0));
                    }
                })
            }
            // A wallet payment, created then paid at once (the poor wallet now and then).
            1 => {
                let payer = if n % 4 == 1 {
                    world.poor_wallet
                } else {
                    world.rich_wallet
                };
                let value = amount(task, n, 10_000, 500_000);
                wallet_payment(&core, &world, &reference, value, payer, &mut refundable).await
            }
            // A wallet payment held, then captured or cancelled.
            2 => {
                let value = amount(task, n, 10_000, 500_000);
                held_payment(
                    &core,
                    &world,
                    &reference,
                    value,
                    n % 3 == 0,
                    &mut refundable,
                )
                .await
            }
            // A refund of an earlier payment of this task.
            _ => match refundable.pop() {
                None => Ok(()),
                Some((id, channel, paid, refunded)) => {
                    let number = format!("R-{reference}");
                    let value = match channel {
                        // DANA: one refund, the whole amount or a part.
                        Channel::DanaWallet if n % 2 == 0 => paid,
                        _ => (paid / 3).max(1),
                    };
                    core.run(refund_command(&world, id, &number, value))
                        .await
                        .map(|out| {
                            ack(format!("ACKREF {} {id} {value} {number}", out.refund.id));
                            let total = refunded + value;
                            if channel == Channel::AlloDirectDebit && total + value <= paid {
                                refundable.insert(0, (id, channel, paid, total));
                            }
                        })
                }
            },
        };
        if let Err(e) = result {
            // Not acknowledged; the parent never counts on it.
            eprintln!("child: task {task} request {reference}: {e}");
        }
    }
}

async fn wallet_payment(
    core: &Core,
    world: &World,
    reference: &str,
    value: i64,
    payer: CustomerId,
    refundable: &mut Vec<(PaymentId, Channel, i64, i64)>,
) -> Result<(), bayar_core::CoreError> {
    let request = format!("{reference} {value} -");
    let created = core
        .run(create_payment(world, reference, Channel::DanaWallet, value))
        .await?
        .payment;
    ack_payment(created.id, created.status, "create", &request);
    let paid = core
        .run(Pay {
            payment_id: created.id,
            customer_id: payer,
        })
        .await?;
    ack_payment(paid.id, paid.status, "pay", &request);
    if paid.status == PaymentStatus::Succeeded {
        refundable.push((paid.id, Channel::DanaWallet, value, 0));
    }
    Ok(())
}

async fn held_payment(
    core: &Core,
    world: &World,
    reference: &str,
    value: i64,
    cancel: bool,
    refundable: &mut Vec<(PaymentId, Channel, i64, i64)>,
) -> Result<(), bayar_core::CoreError> {
    let request = format!("{reference} {value} -");
    let created = core
        .run(create_payment(world, reference, Channel::DanaWallet, value))
        .await?
        .payment;
    ack_payment(created.id, created.status, "create", &request);
    let held = core
        .run(Authorize {
            payment_id: created.id,
            customer_id: world.rich_wallet,
        })
        .await?;
    ack_payment(held.id, held.status, "authorize", &request);
    if held.status != PaymentStatus::Paying {
        return Ok(());
    }
    let done = if cancel {
        core.run(Cancel {
            merchant_id: Some(world.merchant),
            payment_id: held.id,
        })
        .await?
    } else {
        core.run(Capture {
            payment_id: held.id,
        })
        .await?
    };
    ack_payment(
        done.id,
        done.status,
        if cancel { "cancel" } else { "capture" },
        &request,
    );
    if done.status == PaymentStatus::Succeeded {
        refundable.push((done.id, Channel::DanaWallet, value, 0));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// The parent: run the child, kill it, check what survived

/// Kills the child when dropped, so a failing parent never leaves it running.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// What the child acknowledged.
#[derive(Debug, Default)]
struct Acks {
    /// Each payment's last acknowledged status.
    payments: BTreeMap<PaymentId, PaymentStatus>,
    /// Acknowledged direct debits: (payment, reference, amount, customer, status).
    debits: Vec<(PaymentId, String, i64, CustomerId, PaymentStatus)>,
    /// Acknowledged refunds: (refund, payment, amount, number).
    refunds: Vec<(RefundId, PaymentId, i64, String)>,
    lines: usize,
}

impl Acks {
    fn record(&mut self, line: &str) {
        let fields: Vec<&str> = line.split_whitespace().collect();
        match fields.as_slice() {
            ["ACK", id, status, what, reference, value, customer] => {
                let id: PaymentId = id.parse().unwrap();
                let status: PaymentStatus = status.parse().unwrap();
                self.payments.insert(id, status);
                if *what == "debit" {
                    self.debits.push((
                        id,
                        reference.to_string(),
                        value.parse().unwrap(),
                        customer.parse().unwrap(),
                        status,
                    ));
                }
            }
            ["ACKREF", refund, payment, value, number] => self.refunds.push((
                refund.parse().unwrap(),
                payment.parse().unwrap(),
                value.parse().unwrap(),
                number.to_string(),
            )),
            _ => return,
        }
        self.lines += 1;
    }
}

/// The statuses a payment may have reached after being acknowledged in `acked`.
fn successors(acked: PaymentStatus) -> &'static [PaymentStatus] {
    use PaymentStatus::*;
    match acked {
        Created => &[Created, Paying, Succeeded, Failed, Cancelled, Expired],
        Paying => &[Paying, Succeeded, Cancelled, Expired],
        Succeeded => &[Succeeded],
        Failed => &[Failed],
        Cancelled => &[Cancelled],
        Expired => &[Expired],
    }
}

/// Runs the child on `db` until it has acknowledged [`ACKS_BEFORE_KILL`] commands, kills it
/// with SIGKILL, and returns everything it acknowledged.
fn run_and_kill_child(db: &Db, world: &World, log: &std::path::Path) -> Acks {
    let engine = db.engine();
    let stderr = std::fs::File::create(log).expect("the child's log file");
    let mut command = Command::new(std::env::current_exe().expect("the test binary"));
    command
        .args(["--exact", CHILD_TEST, "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, "1")
        .env(WORLD_ENV, world.to_env())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(stderr);
    for (key, value) in db.env() {
        command.env(key, value);
    }
    let mut child = KillOnDrop(command.spawn().expect("spawn the child"));
    let stdout = child.0.stdout.take().expect("the child's stdout");
    let (lines, received) = mpsc::channel::<String>();
    let reader = std::thread::spawn(move || {
        let mut stdout = BufReader::new(stdout);
        loop {
            let mut line = String::new();
            match stdout.read_line(&mut line) {
                // A line cut short by the kill was never acknowledged in full: ignore it.
                Ok(0) | Err(_) => return,
                Ok(_) if !line.ends_with('\n') => return,
                Ok(_) => {
                    if lines.send(line).is_err() {
                        return;
                    }
                }
            }
        }
    });
    let child_log = || std::fs::read_to_string(log).unwrap_or_default();
    let tail = |text: String| {
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    };

    let mut acks = Acks::default();
    let started = Instant::now();
    let deadline = started + ACK_DEADLINE;
    while acks.lines < ACKS_BEFORE_KILL {
        let left = deadline.saturating_duration_since(Instant::now());
        match received.recv_timeout(left) {
            Ok(line) => acks.record(&line),
            Err(mpsc::RecvTimeoutError::Timeout) => panic!(
                "{engine}: the child acknowledged only {} commands in {ACK_DEADLINE:?} \
                 (expected {ACKS_BEFORE_KILL}); its stderr ends with:\n{}",
                acks.lines,
                tail(child_log())
            ),
            Err(mpsc::RecvTimeoutError::Disconnected) => panic!(
                "{engine}: the child exited ({:?}) after {} acknowledgements; its stderr ends with:\n{}",
                child.0.try_wait(),
                acks.lines,
                tail(child_log())
            ),
        }
    }
    child.0.kill().expect("SIGKILL the child");
    let status = child.0.wait().expect("reap the child");
    {
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(
            status.signal(),
            Some(9),
            "{engine}: the child must die by our SIGKILL, not on its own ({status:?}); stderr:\n{}",
            tail(child_log())
        );
    }
    // Whatever the child printed before it died was acknowledged too.
    reader.join().expect("the reader thread");
    for line in received.try_iter() {
        acks.record(&line);
    }
    let errors = child_log()
        .lines()
        .filter(|l| l.starts_with("child:"))
        .count();
    eprintln!(
        "{engine}: killed the child after {} acknowledgements in {:.1?} ({} payments, {} refunds); \
         {errors} requests failed in the child",
        acks.lines,
        started.elapsed(),
        acks.payments.len(),
        acks.refunds.len()
    );
    acks
}

/// Checks the database after the crash, then restarts the core on it and takes more payments.
async fn check_after_crash(db: &Db, world: &World, acks: &Acks) {
    let engine = db.engine();
    let store = db.open().await;
    let core = Core::start(store.clone(), CoreConfig::default())
        .await
        .unwrap_or_else(|e| panic!("{engine}: restart the core after the crash: {e}"));

    // Every acknowledged change survived.
    for (id, acked) in &acks.payments {
        let payment = store
            .payment(id)
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("{engine}: acknowledged payment {id} ({acked}) is gone"));
        assert!(
            successors(*acked).contains(&payment.status),
            "{engine}: payment {id} was acknowledged {acked} but is {} after the crash",
            payment.status
        );
    }
    for (refund, payment, amount, _) in &acks.refunds {
        let stored = store.refunds_of(payment).await.unwrap();
        assert!(
            stored
                .iter()
                .any(|r| r.id == *refund && r.amount.minor() == *amount),
            "{engine}: acknowledged refund {refund} of {payment} ({amount}) is gone: {stored:?}"
        );
    }

    // The ledger is sound.
    let breaches = core.verify_ledger().await.unwrap();
    assert!(
        breaches.is_empty(),
        "{engine}: ledger breaches after the crash: {breaches:?}"
    );
    check_rows_agree(engine, &store).await;
    let statuses: Vec<(String, i64)> = fetch_rows(
        &store,
        "SELECT status, CAST(COUNT(*) AS BIGINT) FROM payments GROUP BY status ORDER BY status",
    )
    .await;
    let stored: i64 = statuses.iter().map(|(_, n)| n).sum();
    eprintln!(
        "{engine}: after the crash the database holds {stored} payments {statuses:?}, \
         {} of them acknowledged",
        acks.payments.len()
    );

    // The outbox holds exactly the committed changes, undelivered and claimable.
    let events: Vec<(String, String, String, Option<i64>)> = fetch_rows(
        &store,
        "SELECT id, kind, subject_id, delivered_at FROM events",
    )
    .await;
    assert!(
        events.iter().all(|(.., delivered)| delivered.is_none()),
        "{engine}: no worker ran, yet some events are marked delivered"
    );
    let claimed = store
        .claim_due_events(
            "crash-test",
            chrono::Utc::now(),
            Duration::from_secs(60),
            i64::try_from(events.len()).unwrap() + 10,
        )
        .await
        .unwrap();
    let claimed: BTreeSet<String> = claimed.iter().map(|e| e.id.to_string()).collect();
    let all: BTreeSet<String> = events.iter().map(|(id, ..)| id.clone()).collect();
    assert_eq!(
        claimed, all,
        "{engine}: every event must be claimable by a notification worker after the crash"
    );
    let succeeded_events = events
        .iter()
        .filter(|(_, kind, ..)| kind == "payment.succeeded")
        .count();
    assert!(
        succeeded_events > 0,
        "{engine}: the child acknowledged payments, so some payment.succeeded events exist"
    );

    // Repeating an acknowledged request replays it.
    let mut replays = Vec::new();
    for (id, reference, value, customer, status) in &acks.debits {
        let core = core.clone();
        let command = DebitNow {
            payment: create_payment(world, reference, Channel::AlloDirectDebit, *value),
            customer_id: *customer,
            cust_id_merchant: None,
        };
        let (id, status) = (*id, *status);
        replays.push(tokio::spawn(async move {
            (id, status, core.run(command).await)
        }));
    }
    for (refund, payment, amount, number) in &acks.refunds {
        let out = core
            .run(refund_command(world, *payment, number, *amount))
            .await
            .unwrap_or_else(|e| panic!("{engine}: repeating refund {number}: {e}"));
        assert!(
            out.replayed && out.refund.id == *refund,
            "{engine}: repeating acknowledged refund {number} must replay {refund}: {out:?}"
        );
    }
    for replay in replays {
        let (id, status, result) = replay.await.unwrap();
        let out = result.unwrap_or_else(|e| panic!("{engine}: repeating debit {id}: {e}"));
        assert!(
            out.replayed && out.payment.id == id && out.payment.status == status,
            "{engine}: repeating acknowledged debit {id} ({status}) must replay it: {out:?}"
        );
    }

    // The restarted core takes new payments. One at a time: concurrent ones may lose lock
    // races on PostgreSQL, which is the writer's business, not what this test is about.
    for n in 0..20 {
        let reference = format!("AFTER-{n}");
        let payment = if n % 2 == 0 {
            core.run(DebitNow {
                payment: create_payment(world, &reference, Channel::AlloDirectDebit, 50_000),
                customer_id: world.banks[n % 4 / 2],
                cust_id_merchant: None,
            })
            .await
            .map(|out| out.payment)
        } else {
            match core
                .run(create_payment(
                    world,
                    &reference,
                    Channel::DanaWallet,
                    50_000,
                ))
                .await
            {
                Ok(created) => {
                    core.run(Pay {
                        payment_id: created.payment.id,
                        customer_id: world.rich_wallet,
                    })
                    .await
                }
                Err(e) => Err(e),
            }
        }
        .unwrap_or_else(|e| panic!("{engine}: payment {reference} after the restart failed: {e}"));
        assert_eq!(
            (payment.status, payment.partner_reference_no.as_str()),
            (PaymentStatus::Succeeded, reference.as_str()),
            "{engine}: a payment after the restart: {payment:?}"
        );
    }
    let breaches = core.verify_ledger().await.unwrap();
    assert!(
        breaches.is_empty(),
        "{engine}: ledger breaches after the restart: {breaches:?}"
    );
    check_rows_agree(engine, &store).await;
    store.close().await;
}

/// Payments, refunds, transfers and events agree with each other: no money moved without its
/// row, no row claims money that did not move, and every final state has its one event.
async fn check_rows_agree(engine: &str, store: &Store) {
    let payments: BTreeMap<String, (String, i64, i64)> = fetch_rows::<(String, String, i64, i64)>(
        store,
        "SELECT id, status, refunded, refund_count FROM payments",
    )
    .await
    .into_iter()
    .map(|(id, status, refunded, count)| (id, (status, refunded, count)))
    .collect();
    let refunds: Vec<(String, String, i64)> =
        fetch_rows(store, "SELECT id, payment_id, amount FROM refunds").await;
    let transfers: BTreeSet<String> = fetch_rows::<(String,)>(store, "SELECT id FROM transfers")
        .await
        .into_iter()
        .map(|(id,)| id)
        .collect();
    let events: Vec<(String, String)> =
        fetch_rows(store, "SELECT kind, subject_id FROM events").await;

    // Every payment transfer belongs to an existing payment in a state that moved that money.
    for transfer in transfers.iter().filter(|t| t.starts_with("trf_pay_")) {
        let rest = &transfer["trf_".len()..];
        let (payment, purpose) = rest.split_at("pay_".len() + 26);
        let purpose = purpose.trim_start_matches('_');
        let (status, ..) = payments.get(payment).unwrap_or_else(|| {
            panic!("{engine}: transfer {transfer} moved money for a payment that does not exist")
        });
        let allowed: &[&str] = match purpose {
            "debit" | "capture" => &["succeeded"],
            "hold" => &["paying", "succeeded", "cancelled", "expired"],
            "void" => &["cancelled", "expired"],
            other => panic!("{engine}: unknown payment transfer purpose {other:?} in {transfer}"),
        };
        assert!(
            allowed.contains(&status.as_str()),
            "{engine}: transfer {transfer} exists but payment {payment} is {status}"
        );
    }
    // Every payment has exactly the transfers its state implies.
    for (id, (status, refunded, count)) in &payments {
        let has = |purpose: &str| transfers.contains(&format!("trf_{id}_{purpose}"));
        let (debit, hold, capture, void) = (has("debit"), has("hold"), has("capture"), has("void"));
        let consistent = match status.as_str() {
            "succeeded" => (debit && !hold && !capture) || (!debit && hold && capture && !void),
            "paying" => hold && !capture && !void && !debit,
            "cancelled" | "expired" => !debit && !capture && hold == void,
            "created" | "failed" => !debit && !hold && !capture && !void,
            other => panic!("{engine}: unknown payment status {other:?}"),
        };
        assert!(
            consistent,
            "{engine}: payment {id} is {status} but has transfers debit={debit} hold={hold} \
             capture={capture} void={void}"
        );
        let own: Vec<&(String, String, i64)> = refunds.iter().filter(|(_, p, _)| p == id).collect();
        assert_eq!(
            (own.iter().map(|(.., a)| a).sum::<i64>(), own.len() as i64),
            (*refunded, *count),
            "{engine}: payment {id}'s refunded total and count must match its refund rows"
        );
        let kind = match status.as_str() {
            "succeeded" => Some("payment.succeeded"),
            "failed" => Some("payment.failed"),
            "cancelled" => Some("payment.cancelled"),
            "expired" => Some("payment.expired"),
            _ => None,
        };
        let own_events: Vec<&str> = events
            .iter()
            .filter(|(_, subject)| subject == id)
            .map(|(kind, _)| kind.as_str())
            .collect();
        assert_eq!(
            own_events,
            kind.into_iter().collect::<Vec<_>>(),
            "{engine}: payment {id} is {status}: its outbox events"
        );
    }
    // Every refund moved its money and has its event; every refund transfer has its refund.
    for (id, payment, _) in &refunds {
        assert!(
            transfers.contains(&format!("trf_{id}_refund")),
            "{engine}: refund {id} of {payment} has no transfer"
        );
        let own_events = events.iter().filter(|(_, subject)| subject == id).count();
        assert_eq!(
            own_events, 1,
            "{engine}: refund {id}'s refund.succeeded events"
        );
    }
    let refund_ids: BTreeSet<&str> = refunds.iter().map(|(id, ..)| id.as_str()).collect();
    for transfer in transfers.iter().filter(|t| t.starts_with("trf_ref_")) {
        let refund = transfer["trf_".len()..]
            .strip_suffix("_refund")
            .unwrap_or_else(|| panic!("{engine}: unexpected refund transfer {transfer}"));
        assert!(
            refund_ids.contains(refund),
            "{engine}: transfer {transfer} moved money for a refund that does not exist"
        );
    }
    // No event for something that does not exist.
    for (kind, subject) in &events {
        let known = payments.contains_key(subject) || refund_ids.contains(subject.as_str());
        assert!(
            known,
            "{engine}: event {kind} for unknown subject {subject}"
        );
    }
}

/// The whole scenario on one database.
fn crash_scenario(db: Db, world: World, dir: &std::path::Path) {
    let acks = run_and_kill_child(&db, &world, &dir.join("child.log"));
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
    runtime.block_on(check_after_crash(&db, &world, &acks));
}

#[test]
fn sqlite_keeps_every_acknowledged_payment_across_sigkill() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("bayar.db");
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
    let world = runtime.block_on(async {
        let store = Store::open_sqlite(SqliteOptions::new(&path)).await.unwrap();
        let core = Core::start(store.clone(), CoreConfig::default())
            .await
            .unwrap();
        let world = World::create(&core).await;
        store.close().await;
        world
    });
    drop(runtime);
    crash_scenario(Db::Sqlite(path), world, dir.path());
}

#[test]
fn postgres_keeps_every_acknowledged_payment_across_sigkill() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
    let setup = runtime.block_on(async {
        let test_store = testing::postgres().await?;
        let store = test_store.store.clone();
        let Store::Postgres(pool) = &store else {
            unreachable!("testing::postgres() opens PostgreSQL");
        };
        let schema: String = sqlx::query_scalar("SELECT current_schema()::text")
            .fetch_one(pool)
            .await
            .unwrap();
        let core = Core::start(store.clone(), CoreConfig::default())
            .await
            .unwrap();
        let world = World::create(&core).await;
        store.close().await;
        Some((schema, world))
    });
    drop(runtime);
    let Some((schema, world)) = setup else {
        return;
    };
    let url = std::env::var("DATABASE_URL").expect("DATABASE_URL names the test server");
    crash_scenario(Db::Postgres { url, schema }, world, dir.path());
}
