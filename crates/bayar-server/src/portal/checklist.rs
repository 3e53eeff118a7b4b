//! The integration checklist: the scenarios a merchant must exercise per product before going
//! live (the seeds' mandatory test scenarios), ticked from the API log.
//!
//! A scenario is recognised from the SNAP answer alone: `responseCode` is HTTP status, service
//! code and case (`4035414` = 403, service 54, case 14 Insufficient Funds), so the checklist
//! needs nothing the log does not keep.

use bayar_core::portal::ApiCall;
use maud::{Markup, html};

/// What a merchant must have seen happen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scenario {
    /// A 2xx answer.
    Success,
    /// `403xx14`.
    InsufficientFunds,
    /// `401xx00` naming the signature.
    InvalidSignature,
    /// `404xx18`: a reference reused with other content.
    InconsistentRequest,
    /// `409xx00`: an `X-EXTERNAL-ID` reused on the same day.
    DuplicateExternalId,
}

impl Scenario {
    fn label(self) -> &'static str {
        match self {
            Scenario::Success => "success",
            Scenario::InsufficientFunds => "insufficient funds",
            Scenario::InvalidSignature => "invalid signature",
            Scenario::InconsistentRequest => "inconsistent request",
            Scenario::DuplicateExternalId => "duplicate X-EXTERNAL-ID",
        }
    }

    /// Whether `call`'s answer is this scenario.
    fn seen_in(self, call: &ApiCall) -> bool {
        let code = call.response_code.as_deref().unwrap_or("");
        let case = code.get(5..7).unwrap_or("");
        match self {
            Scenario::Success => (200..300).contains(&call.http_status),
            Scenario::InsufficientFunds => call.http_status == 403 && case == "14",
            Scenario::InvalidSignature => {
                call.http_status == 401
                    && case == "00"
                    && call
                        .message
                        .as_deref()
                        .is_some_and(|m| m.contains("Signature"))
            }
            Scenario::InconsistentRequest => call.http_status == 404 && case == "18",
            Scenario::DuplicateExternalId => call.http_status == 409 && case == "00",
        }
    }
}

/// A product: a name, the paths that serve it, and its scenarios.
struct Product {
    name: &'static str,
    paths: &'static [&'static str],
    scenarios: &'static [Scenario],
}

use Scenario::*;

const PRODUCTS: &[Product] = &[
    Product {
        name: "B2B access token",
        paths: &["/authorization/v1/access-token/b2b"],
        scenarios: &[Success, InvalidSignature],
    },
    Product {
        name: "Direct debit payment (DOKU)",
        paths: &[
            "/direct-debit/core/v1/debit/payment-host-to-host",
            "/direct-debit/merchant/dana/v1.0/debit/payment-host-to-host",
        ],
        scenarios: &[
            Success,
            InsufficientFunds,
            InvalidSignature,
            InconsistentRequest,
            DuplicateExternalId,
        ],
    },
    Product {
        name: "Refund (DOKU)",
        paths: &[
            "/direct-debit/core/v1/debit/refund",
            "/direct-debit/merchant/dana/v1.0/debit/refund",
        ],
        scenarios: &[Success, InvalidSignature, InconsistentRequest],
    },
    Product {
        name: "Payment status (DOKU)",
        paths: &["/orders/v1.0/debit/status"],
        scenarios: &[Success, InvalidSignature],
    },
    Product {
        name: "Top-up to a DANA balance",
        paths: &["/rest/v1.0/emoney/topup", "/v1.0/emoney/topup.htm"],
        scenarios: &[
            Success,
            InsufficientFunds,
            InvalidSignature,
            InconsistentRequest,
            DuplicateExternalId,
        ],
    },
    Product {
        name: "Payment gateway order (DANA)",
        paths: &["/payment-gateway/v1.0/debit/payment-host-to-host.htm"],
        scenarios: &[
            Success,
            InvalidSignature,
            InconsistentRequest,
            DuplicateExternalId,
        ],
    },
];

/// A product's scenarios, each with whether it was seen.
#[derive(Debug, PartialEq, Eq)]
pub struct Ticked {
    /// The product.
    pub product: &'static str,
    /// Each scenario and whether the log shows it.
    pub scenarios: Vec<(Scenario, bool)>,
}

/// The checklist, ticked from the distinct outcomes of the log.
pub fn tick(outcomes: &[ApiCall]) -> Vec<Ticked> {
    PRODUCTS
        .iter()
        .map(|product| Ticked {
            product: product.name,
            scenarios: product
                .scenarios
                .iter()
                .map(|scenario| {
                    let seen = outcomes.iter().any(|call| {
                        product.paths.contains(&call.path.as_str()) && scenario.seen_in(call)
                    });
                    (*scenario, seen)
                })
                .collect(),
        })
        .collect()
}

/// The checklist as a table: one row per product, one mark per scenario.
pub fn render(list: &[Ticked]) -> Markup {
    html! {
        div class="card scroll" {
            table id="checklist" {
                thead { tr { th { "Product" } th { "Scenarios" } th class="num" { "Done" } } }
                tbody {
                    @for t in list {
                        @let done = t.scenarios.iter().filter(|(_, seen)| *seen).count();
                        tr {
                            td { (t.product) }
                            td {
                                ul class="checks" {
                                    @for (scenario, seen) in &t.scenarios {
                                        li data-seen=(seen) {
                                            @if *seen { "✔ " } @else { "○ " }
                                            (scenario.label())
                                            span class="skip" { @if *seen { " (done)" } @else { " (to do)" } }
                                        }
                                    }
                                }
                            }
                            td class="num" { (done) " / " (t.scenarios.len()) }
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bayar_core::ids::MerchantId;

    fn call(path: &str, status: u16, code: &str, message: &str) -> ApiCall {
        ApiCall {
            id: "01".into(),
            merchant_id: MerchantId::generate(),
            at: chrono::Utc::now(),
            method: "POST".into(),
            path: path.into(),
            http_status: status,
            response_code: Some(code.into()),
            message: Some(message.into()),
            latency_ms: 1,
        }
    }

    #[test]
    fn scenarios_are_recognised_by_path_and_code() {
        let pay = "/direct-debit/core/v1/debit/payment-host-to-host";
        let list = tick(&[
            call(pay, 200, "2005400", "Successful"),
            call(pay, 403, "4035414", "Insufficient Funds"),
            call(pay, 401, "4015400", "Unauthorized. Invalid Signature"),
            // Another product's conflict ticks nothing here.
            call("/orders/v1.0/debit/status", 409, "4095500", "Conflict"),
        ]);
        let doku = list
            .iter()
            .find(|t| t.product == "Direct debit payment (DOKU)")
            .unwrap();
        assert_eq!(
            doku.scenarios,
            vec![
                (Success, true),
                (InsufficientFunds, true),
                (InvalidSignature, true),
                (InconsistentRequest, false),
                (DuplicateExternalId, false),
            ]
        );
        // A 401 that is not about the signature is not the signature scenario.
        let token = tick(&[call(
            "/authorization/v1/access-token/b2b",
            401,
            "4017300",
            "Unauthorized. Unknown client",
        )]);
        assert_eq!(
            token[0].scenarios,
            vec![(Success, false), (InvalidSignature, false)]
        );
    }
}
