//! DANA's finish notify (service 56): how bayar, playing DANA, tells a payment-gateway
//! merchant that an order reached its end (reference/dana.md 4, 7.5).
//!
//! One signed request, no handshake: `POST` to the order's `urlParams[type=NOTIFICATION]` URL
//! (or, when the order gave none, the merchant's registered notify URL) with a
//! `FinishNotifyRequest` body and DANA's SNAP headers. `X-SIGNATURE` is SHA256withRSA with the
//! gateway's private key over `POST:<path of that URL>:<sha256 hex of the minified
//! body>:<X-TIMESTAMP>`, which merchants verify with dana-python's `WebhookParser` (or its Node
//! and Go twins) given bayar's gateway public key.
//!
//! `latestTransactionStatus`: `00` paid, `05` closed (cancelled or expired unpaid), `06`
//! failed. Any 2xx acknowledges: DANA's merchants answer `2005600`, but the answer's body is
//! not inspected, so a merchant that answers 200 with anything is not notified forever.
//!
//! Nothing here logs signatures or bodies.

use bayar_core::ids::PaymentId;
use bayar_core::merchant::{Merchant, NotifyUrl};
use bayar_core::outbox::{Event, EventKind};
use bayar_core::payment::Face;
use bayar_core::store::Store;
use bayar_snap::PrivateKey;
use bayar_snap::time::format_jakarta;
use chrono::{DateTime, Utc};
use futures_util::future::BoxFuture;
use reqwest::Url;
use serde_json::{Value, json};

use super::doku::external_id;
use super::render::{Delivery, RenderError, Renderer};

/// `originalExternalId` is at most this long in DANA's webhook model; a longer
/// `X-EXTERNAL-ID` is left out rather than making the merchant's parser refuse the body.
const MAX_EXTERNAL_ID: usize = 36;

/// Renders payment-gateway finish notifies, signed as DANA with the gateway key.
pub struct DanaRenderer {
    gateway_key: PrivateKey,
    store: Store,
}

impl DanaRenderer {
    /// A renderer signing with the gateway's `gateway_key` and reading orders from `store`
    /// (for what the event's payload does not carry: the order's creation time).
    pub fn new(gateway_key: PrivateKey, store: Store) -> DanaRenderer {
        DanaRenderer { gateway_key, store }
    }

    /// Whether this dialect has a shape for events of `kind`: the ends of a payment. Refunds
    /// and disbursements have no DANA notification.
    pub fn handles(kind: EventKind) -> bool {
        matches!(
            kind,
            EventKind::PaymentSucceeded
                | EventKind::PaymentExpired
                | EventKind::PaymentCancelled
                | EventKind::PaymentFailed
        )
    }

    async fn render_dana(
        &self,
        event: &Event,
        merchant: &Merchant,
        now: DateTime<Utc>,
    ) -> Result<Delivery, RenderError> {
        let (status, desc) = match event.kind {
            EventKind::PaymentSucceeded => ("00", "SUCCESS"),
            EventKind::PaymentCancelled => ("05", "CANCELLED"),
            EventKind::PaymentExpired => ("05", "CLOSED"),
            EventKind::PaymentFailed => ("06", "FAILED"),
            other => {
                return Err(RenderError::Unsupported(format!(
                    "DANA has no notification for {}",
                    other.as_str()
                )));
            }
        };
        let text = |key: &str| event.payload.get(key).and_then(Value::as_str);
        let url = match text("notify_url") {
            Some(own) => own.to_string(),
            None => merchant
                .notify_url_for(Face::Dana)
                .map(NotifyUrl::as_str)
                .ok_or(RenderError::NoNotifyUrl)?
                .to_string(),
        };
        let url = Url::parse(&url)
            .map_err(|_| RenderError::Unsupported("the notification URL does not parse".into()))?;
        let missing = |what: &str| RenderError::Unsupported(format!("the event has no {what}"));
        let payment_id: PaymentId = text("payment_id")
            .ok_or_else(|| missing("payment_id"))?
            .parse()
            .map_err(|_| missing("valid payment_id"))?;
        let payment = self
            .store
            .payment(&payment_id)
            .await
            .map_err(|e| RenderError::Store(e.to_string()))?
            .ok_or_else(|| missing("payment in the store"))?;
        let amount = text("amount").ok_or_else(|| missing("amount"))?;
        let finished = format_jakarta(event.created_at);

        let mut body = json!({
            "originalPartnerReferenceNo": payment.partner_reference_no,
            "originalReferenceNo": payment.id.to_string(),
            "merchantId": merchant.id.to_string(),
            "amount": { "value": amount, "currency": "IDR" },
            "latestTransactionStatus": status,
            "transactionStatusDesc": desc,
            "createdTime": format_jakarta(payment.created_at),
            "finishedTime": finished,
        });
        if payment.external_id.chars().count() <= MAX_EXTERNAL_ID {
            body["originalExternalId"] = json!(payment.external_id);
        }
        if event.kind == EventKind::PaymentSucceeded {
            // The paid time as the event recorded it, else when the event was written.
            let paid = text("paid_at").map_or_else(|| finished.clone(), str::to_string);
            let money = json!({ "value": amount, "currency": "IDR" });
            body["additionalInfo"] = json!({
                "paymentInfo": {
                    "cashierRequestId": payment.id.to_string(),
                    "paidTime": paid,
                    "payOptionInfos": [{
                        "payMethod": "BALANCE",
                        "payAmount": money,
                        "transAmount": money,
                        "chargeAmount": { "value": "0.00", "currency": "IDR" },
                    }],
                },
            });
        }
        let body = serde_json::to_vec(&body)
            .map_err(|e| RenderError::Unsupported(format!("body: {e}")))?;

        let timestamp = format_jakarta(now);
        let signature = bayar_snap::sign::sign_asymmetric(
            &self.gateway_key,
            "POST",
            url.path(),
            &body,
            &timestamp,
        )
        .map_err(|e| RenderError::Unsupported(format!("signing failed: {e}")))?;
        Ok(Delivery {
            url: url.to_string(),
            headers: vec![
                ("Content-Type".into(), "application/json".into()),
                ("X-TIMESTAMP".into(), timestamp),
                ("X-SIGNATURE".into(), signature),
                (
                    "X-PARTNER-ID".into(),
                    merchant.client_id.as_str().to_string(),
                ),
                ("X-EXTERNAL-ID".into(), external_id(now)),
                ("CHANNEL-ID".into(), "DANA".into()),
            ],
            body,
        })
    }
}

impl Renderer for DanaRenderer {
    fn render<'a>(
        &'a self,
        event: &'a Event,
        merchant: &'a Merchant,
        now: DateTime<Utc>,
    ) -> BoxFuture<'a, Result<Delivery, RenderError>> {
        Box::pin(self.render_dana(event, merchant, now))
    }
}

#[cfg(test)]
mod tests {
    use bayar_core::commands::{Cancel, CreatePayment};
    use bayar_core::ids::EventId;
    use bayar_core::merchant::{MerchantName, NewMerchant};
    use bayar_core::payment::{Channel, PartnerReference};
    use bayar_core::{Core, CoreConfig};
    use bayar_snap::Money;

    use super::*;

    async fn cancelled_order(core: &Core, notify_url: Option<&str>) -> (Merchant, Event) {
        let merchant = core
            .create_merchant(NewMerchant {
                name: MerchantName::parse("Toko DANA").unwrap(),
                notify_url: Some(NotifyUrl::parse("https://shop.example/registered").unwrap()),
                public_key: None,
            })
            .await
            .unwrap()
            .merchant;
        let payment = core
            .run(CreatePayment {
                merchant_id: merchant.id,
                partner_reference_no: PartnerReference::parse("ORDER-1").unwrap(),
                external_id: "x".repeat(40),
                channel: Channel::DanaWallet,
                face: Face::Dana,
                amount: Money::parse("15000.00").unwrap(),
                valid_until: None,
                title: None,
                return_url: None,
                notify_url: notify_url.map(str::to_string),
            })
            .await
            .unwrap()
            .payment;
        core.run(Cancel {
            merchant_id: Some(merchant.id),
            payment_id: payment.id,
        })
        .await
        .unwrap();
        let event = Event {
            id: EventId::generate(),
            merchant_id: merchant.id,
            kind: EventKind::PaymentCancelled,
            subject_id: payment.id.to_string(),
            payload: json!({
                "payment_id": payment.id.to_string(),
                "amount": "15000.00",
                "face": "dana",
                "notify_url": notify_url,
            }),
            created_at: Utc::now(),
            attempts: 0,
            next_attempt_at: Utc::now(),
            delivered_at: None,
            given_up_at: None,
            copy: None,
        };
        (merchant, event)
    }

    #[tokio::test]
    async fn a_closed_order_is_signed_to_its_own_url() {
        let t = bayar_core::testing::sqlite().await;
        let core = Core::start(t.store.clone(), CoreConfig::default())
            .await
            .unwrap();
        let key = core.gateway_private_key().clone();
        let renderer = DanaRenderer::new(key.clone(), t.store.clone());
        let (merchant, event) =
            cancelled_order(&core, Some("https://shop.example/v1.0/debit/notify?x=1")).await;
        let now = Utc::now();
        let d = renderer.render(&event, &merchant, now).await.unwrap();
        assert_eq!(d.url, "https://shop.example/v1.0/debit/notify?x=1");
        let body: Value = serde_json::from_slice(&d.body).unwrap();
        assert_eq!(body["latestTransactionStatus"], "05");
        assert_eq!(
            body["amount"],
            json!({"value": "15000.00", "currency": "IDR"})
        );
        assert_eq!(body["merchantId"], merchant.id.to_string());
        assert!(
            body.get("originalExternalId").is_none(),
            "too long for DANA"
        );
        assert!(body.get("additionalInfo").is_none());
        let header = |name: &str| {
            d.headers
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
                .unwrap()
        };
        assert_eq!(header("CHANNEL-ID"), "DANA");
        assert_eq!(header("X-PARTNER-ID"), merchant.client_id.as_str());
        // Signed over the path alone, as DANA signs (no host, no query).
        bayar_snap::sign::verify_asymmetric(
            &key.public_key(),
            "POST",
            "/v1.0/debit/notify",
            &d.body,
            &header("X-TIMESTAMP"),
            &header("X-SIGNATURE"),
        )
        .unwrap();
    }

    #[tokio::test]
    async fn without_its_own_url_the_merchants_is_used() {
        let t = bayar_core::testing::sqlite().await;
        let core = Core::start(t.store.clone(), CoreConfig::default())
            .await
            .unwrap();
        let renderer = DanaRenderer::new(core.gateway_private_key().clone(), t.store.clone());
        let (merchant, mut event) = cancelled_order(&core, None).await;
        let d = renderer
            .render(&event, &merchant, Utc::now())
            .await
            .unwrap();
        assert_eq!(d.url, "https://shop.example/registered");
        event.kind = EventKind::RefundSucceeded;
        assert!(matches!(
            renderer.render(&event, &merchant, Utc::now()).await,
            Err(RenderError::Unsupported(_))
        ));
    }
}
