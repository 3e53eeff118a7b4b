//! Bank Indonesia SNAP (Standar Nasional Open API Pembayaran) protocol primitives for bayar.
//!
//! This crate is pure: no IO, no async, no global state. It turns untrusted protocol
//! input (amount strings, `X-TIMESTAMP` headers, response codes, request bodies,
//! signatures, pasted PEM keys) into typed values, and produces the strings bayar
//! sends. Every parser returns a `Result` whose error explains the reason without
//! echoing secrets, and no function panics on any input, so every entry point can be
//! fuzzed directly.
//!
//! Module layout (one job per file):
//! - [`money`]: [`Money`], IDR amounts in minor units parsed from the strict SNAP
//!   `"10000.00"` form.
//! - [`time`]: `X-TIMESTAMP` parsing (RFC 3339 with a mandatory offset) and
//!   Asia/Jakarta formatting.
//! - [`code`]: [`ServiceCode`], the SNAP case table [`Case`], and the 7-digit
//!   [`ResponseCode`] (`HTTP + service + case`) with its `responseMessage`.
//! - [`canon`]: canonical forms of a received body (minified, raw, re-serialised)
//!   tried during signature verification.
//! - [`keys`]: RSA [`PrivateKey`] / [`PublicKey`], lenient PEM/DER import and export.
//! - [`sign`]: strings-to-sign, HMAC-SHA512 and SHA256withRSA signing, and
//!   verification across canonical body forms.
//! - `pem` (private): undoing what copy-paste does to key text before DER parsing.
//!
//! Fuzzing: the natural targets are [`Money::parse`], [`time::parse_timestamp`],
//! `str::parse::<ResponseCode>()`, [`canon::minify`] / [`canon::candidates`],
//! [`PrivateKey::from_pem`] / [`PublicKey::from_der`], and [`sign::verify_symmetric`]
//! with an arbitrary body and signature. Each takes plain `&str`/`&[u8]`, needs no
//! setup beyond an optional key, and reports failure as a value.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod canon;
pub mod code;
pub mod keys;
pub mod money;
mod pem;
pub mod sign;
pub mod time;

pub use code::{Case, RawResponseCode, ResponseCode, ResponseCodeError, ServiceCode};
pub use keys::{KeyError, PrivateKey, PublicKey};
pub use money::{Money, MoneyError};
pub use sign::{Canon, SignatureError};
pub use time::TimestampError;
