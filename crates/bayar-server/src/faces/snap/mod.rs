//! SNAP plumbing shared by the SNAP faces: the error response, header reading, and the
//! security checks (tokens, timestamps, signatures, `X-EXTERNAL-ID`).

pub mod body;
pub mod error;
pub mod guard;
pub mod headers;
pub mod reply;

pub use error::SnapError;
pub use guard::{SnapConfig, VerifiedCall};
