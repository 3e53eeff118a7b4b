//! The `bayar` binary: a thin shell over [`bayar_server::cli`].

fn main() -> std::process::ExitCode {
    bayar_server::cli::main()
}
