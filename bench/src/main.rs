//! `bayar-bench`: the command line of the benchmark (see bench/README.md).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use bayar_bench::database::Engine;
use bayar_bench::portal::PortalConfig;
use bayar_bench::server::ProcessLauncher;
use bayar_bench::{Config, Scenario};
use clap::{Parser, Subcommand};

/// Open-loop load benchmark of bayar.
#[derive(Parser, Debug)]
#[command(name = "bayar-bench", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Start bayar on a fresh database, provision, drive the scenarios, check, report.
    Run(RunArgs),
    /// Seed many payments, then time every portal page against a bound.
    Portal(PortalArgs),
}

#[derive(clap::Args, Debug)]
struct PortalArgs {
    /// Storage engine (PostgreSQL uses DATABASE_URL's server; a fresh database is created).
    #[arg(long, value_enum, default_value_t = Engine::Sqlite)]
    engine: Engine,
    /// Payments seeded before the pages are timed.
    #[arg(long, default_value_t = 100_000)]
    payments: u64,
    /// Requests per second while seeding (90% payments, 5% refunds, 5% status queries).
    #[arg(long, default_value_t = 400.0)]
    seed_rate: f64,
    /// Fetches of each page.
    #[arg(long, default_value_t = 20)]
    repeats: usize,
    /// The bound of a page's p90, in ms.
    #[arg(long, default_value_t = 100.0)]
    bound_ms: f64,
    /// The bayar binary (default: target/release/bayar of this workspace).
    #[arg(long)]
    bayar: Option<PathBuf>,
    /// Do not run `cargo build --release -p bayar-server` first.
    #[arg(long)]
    no_build: bool,
    /// Directory of the JSON report.
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/results"))]
    results_dir: PathBuf,
    /// File name stem of the results (default: portal-<engine>).
    #[arg(long)]
    label: Option<String>,
}

#[derive(clap::Args, Debug)]
struct RunArgs {
    /// Storage engine (PostgreSQL uses DATABASE_URL's server; a fresh database is created).
    #[arg(long, value_enum, default_value_t = Engine::Sqlite)]
    engine: Engine,
    /// bayar processes on one database (more than one needs PostgreSQL).
    #[arg(long, default_value_t = 1)]
    nodes: usize,
    /// Scenarios to run, comma-separated (the ceiling always runs).
    #[arg(long, value_enum, value_delimiter = ',', default_values_t = Scenario::ALL.to_vec())]
    scenarios: Vec<Scenario>,
    /// Length of each fixed-fraction step (25/50/75/100% of the maximum), e.g. 10s.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    duration: Duration,
    /// Length of each step of the search for the maximum.
    #[arg(long, default_value = "3s", value_parser = parse_duration)]
    step_duration: Duration,
    /// The search's first offered rate (requests/s); it doubles while steps pass.
    #[arg(long, default_value_t = 250.0)]
    start_rate: f64,
    /// Highest rate the search offers.
    #[arg(long, default_value_t = 64_000.0)]
    max_rate: f64,
    /// Bisection steps after the doubling.
    #[arg(long, default_value_t = 3)]
    bisect_steps: u32,
    /// How often a failed search step is run again before it counts as failed.
    #[arg(long, default_value_t = 1)]
    step_retries: u32,
    /// The p99 bound of a sustainable rate in ms (default: 20 on SQLite, 30 on PostgreSQL).
    #[arg(long)]
    p99_bound_ms: Option<f64>,
    /// Bound bank customers provisioned.
    #[arg(long, default_value_t = 200)]
    customers: usize,
    /// Payments in the notification burst.
    #[arg(long, default_value_t = 5_000)]
    notify_burst: u64,
    /// Pause between steps.
    #[arg(long, default_value = "1s", value_parser = parse_duration)]
    cooldown: Duration,
    /// The bayar binary (default: target/release/bayar of this workspace).
    #[arg(long)]
    bayar: Option<PathBuf>,
    /// Do not run `cargo build --release -p bayar-server` first.
    #[arg(long)]
    no_build: bool,
    /// BAYAR_LOG of the servers (their logs go to a temporary directory).
    #[arg(long, default_value = "warn")]
    server_log: String,
    /// Pass --unsafe-no-fsync to bayar (acknowledged writes may be lost on a crash).
    #[arg(long)]
    unsafe_no_fsync: bool,
    /// Directory of the JSON report and PNG chart.
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/results"))]
    results_dir: PathBuf,
    /// File name stem of the results (default: <engine>-<nodes>node).
    #[arg(long)]
    label: Option<String>,
    /// Keep the servers' logs in this directory (default: a temporary one, removed).
    #[arg(long)]
    log_dir: Option<PathBuf>,
}

/// Parses `500ms`, `10s`, `2m` or a number of seconds.
fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (number, unit) = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .map_or((s, "s"), |i| (&s[..i], &s[i..]));
    let value: f64 = number
        .parse()
        .map_err(|_| format!("`{s}` is not a duration (e.g. 500ms, 10s, 2m)"))?;
    let seconds = match unit {
        "ms" => value / 1000.0,
        "s" => value,
        "m" => value * 60.0,
        _ => return Err(format!("`{s}`: unit must be ms, s or m")),
    };
    if !(seconds.is_finite() && seconds > 0.0) {
        return Err(format!("`{s}` must be positive"));
    }
    Ok(Duration::from_secs_f64(seconds))
}

/// The launcher of `bayar` (built first unless told otherwise).
fn launcher(bayar: Option<PathBuf>, no_build: bool) -> Result<ProcessLauncher, ExitCode> {
    if bayar.is_none() && !no_build {
        eprintln!("building bayar (cargo build --release -p bayar-server) ...");
        if let Err(e) = ProcessLauncher::build_release() {
            eprintln!("error: {e:#}");
            return Err(ExitCode::FAILURE);
        }
    }
    Ok(ProcessLauncher {
        binary: bayar.unwrap_or_else(ProcessLauncher::default_binary),
    })
}

/// Runs `work` to completion on a new runtime.
fn block_on<T>(work: impl Future<Output = anyhow::Result<T>>) -> ExitCode {
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(work) {
        Ok(_) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn main() -> ExitCode {
    match Cli::parse().command {
        Command::Run(args) => run(args),
        Command::Portal(args) => portal(args),
    }
}

fn run(args: RunArgs) -> ExitCode {
    let launcher = match launcher(args.bayar.clone(), args.no_build) {
        Ok(l) => l,
        Err(code) => return code,
    };
    let config = Config {
        nodes: args.nodes,
        scenarios: args.scenarios,
        duration: args.duration,
        step_duration: args.step_duration,
        start_rate: args.start_rate,
        max_rate: args.max_rate,
        bisect_steps: args.bisect_steps,
        step_retries: args.step_retries,
        p99_bound_ms: args.p99_bound_ms,
        customers: args.customers,
        notify_burst: args.notify_burst,
        cooldown: args.cooldown,
        server_log: args.server_log,
        unsafe_no_fsync: args.unsafe_no_fsync,
        results_dir: Some(args.results_dir),
        label: args.label,
        log_dir: args.log_dir,
        ..Config::new(args.engine)
    };
    block_on(bayar_bench::run(&config, &launcher))
}

fn portal(args: PortalArgs) -> ExitCode {
    let launcher = match launcher(args.bayar.clone(), args.no_build) {
        Ok(l) => l,
        Err(code) => return code,
    };
    let config = PortalConfig {
        payments: args.payments,
        seed_rate: args.seed_rate,
        repeats: args.repeats,
        bound_ms: args.bound_ms,
        results_dir: Some(args.results_dir),
        label: args.label,
        ..PortalConfig::new(args.engine)
    };
    block_on(bayar_bench::portal::run(&config, &launcher))
}

#[cfg(test)]
mod tests {
    use super::parse_duration;
    use std::time::Duration;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("3"), Ok(Duration::from_secs(3)));
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("1h").is_err());
        assert!(parse_duration("x").is_err());
    }
}
