//! The `bayar` binary: a thin shell over [`bayar_server::cli`].

use std::ffi::c_char;

/// jemalloc, not glibc's malloc: glibc kept what a burst of connections took (285 MiB after
/// an overload step, held through every later step), where jemalloc gives freed memory back.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// jemalloc's options, read before `main`: a background thread returns pages unused for a
/// second to the system (`dirty_decay_ms`), unmapped at once rather than lazily
/// (`muzzy_decay_ms:0`, so RSS shows it), instead of waiting for later allocations to do so.
/// An operator can still override them with `_RJEM_MALLOC_CONF`, read after these.
#[unsafe(export_name = "_rjem_malloc_conf")]
static MALLOC_CONF: Option<&c_char> =
    Some(unsafe { &*c"background_thread:true,dirty_decay_ms:1000,muzzy_decay_ms:0".as_ptr() });

fn main() -> std::process::ExitCode {
    bayar_server::cli::main()
}
