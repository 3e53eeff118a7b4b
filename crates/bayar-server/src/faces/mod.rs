//! Faces: each speaks one provider's wire dialect and translates it to and from the core.
//!
//! - [`snap`]: what every SNAP dialect shares (errors, headers, security checks);
//! - [`doku`]: DOKU's SNAP API as DOKU's official SDKs call it;
//! - [`dana`]: DANA's own SNAP API (and its OPEN_API envelope) as DANA's official SDKs call it;
//! - [`stripe`]: the Stripe-style API (WooshPay) as Stripe's client libraries call it.

pub mod dana;
pub mod doku;
pub mod snap;
pub mod stripe;
