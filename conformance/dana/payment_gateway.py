"""DANA's official Python SDK (dana-python) against bayar: the payment gateway.

Driven by crates/bayar-server/tests/conformance_dana.rs. The SDK is used as a merchant
installs it, only the host changed (reference/dana.md 1): `consult_pay` (BALANCE), then
`create_order` (REDIRECT scenario) answers the hosted wallet page's `webRedirectUrl`; the page is completed with a plain HTTP
client (phone and PIN from BAYAR_PHONE / BAYAR_PIN), which ends at the merchant's PAY_RETURN
URL; then `query_payment` (00), `refund_order`, a second refund (DANA allows one), a second
order cancelled with `cancel_order` and queried (05), and the same partnerReferenceNo reused
with another amount (4045418). Each step records the wire outcome; the Rust test asserts them
and the ledger. Prints one JSON line.
"""

import json
import os
import sys
from datetime import datetime, timedelta, timezone
from urllib.parse import urlparse

os.environ.setdefault("DANA_ENV", "sandbox")

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from dana.payment_gateway.v1 import PaymentGatewayApi  # noqa: E402
from dana.payment_gateway.v1.models import (  # noqa: E402
    CancelOrderRequest,
    ConsultPayRequest,
    ConsultPayRequestAdditionalInfo,
    CreateOrderByRedirectAdditionalInfo,
    CreateOrderByRedirectRequest,
    EnvInfo,
    Money,
    OrderRedirectObject,
    QueryPaymentRequest,
    RefundOrderRequest,
    UrlParam,
)

from disbursement import call, client, env  # noqa: E402
from pages import pay_on_the_wallet_page  # noqa: E402

JAKARTA = timezone(timedelta(hours=7))
RETURN_URL = "https://merchant.example/dana/return"
NOTIFY_URL = "https://merchant.example/v1.0/debit/notify"


def in_minutes(minutes):
    return (datetime.now(JAKARTA) + timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%S+07:00")


def idr(value):
    return Money(value=value, currency="IDR")


def order(reference, value):
    return CreateOrderByRedirectRequest(
        partner_reference_no=reference,
        merchant_id=env("BAYAR_MERCHANT_ID"),
        amount=idr(value),
        valid_up_to=in_minutes(20),
        url_params=[
            UrlParam(url=RETURN_URL, type="PAY_RETURN", is_deeplink="N"),
            UrlParam(url=NOTIFY_URL, type="NOTIFICATION", is_deeplink="N"),
        ],
        additional_info=CreateOrderByRedirectAdditionalInfo(
            mcc="5732",
            env_info=EnvInfo(source_platform="IPG", terminal_type="SYSTEM"),
            order=OrderRedirectObject(order_title="Kopi susu x 4", scenario="REDIRECT"),
        ),
    )


def main():
    api = PaymentGatewayApi(client())
    merchant_id = env("BAYAR_MERCHANT_ID")
    paid_ref = env("BAYAR_REFERENCE")
    cancelled_ref = paid_ref + "-C"
    out = {}

    resp, out["consult"] = call(lambda: api.consult_pay(
        ConsultPayRequest(
            merchant_id=merchant_id,
            amount=idr("50000.00"),
            additional_info=ConsultPayRequestAdditionalInfo(
                env_info=EnvInfo(source_platform="IPG", terminal_type="SYSTEM")
            ),
        )
    ))
    if resp is not None:
        out["consult"]["payMethods"] = [i.pay_method for i in resp.payment_infos or []]

    resp, out["create"] = call(lambda: api.create_order(order(paid_ref, "50000.00")))
    out["create"]["referenceNo"] = resp.reference_no
    out["create"]["partnerReferenceNo"] = resp.partner_reference_no
    out["create"]["webRedirectUrl"] = resp.web_redirect_url

    final = pay_on_the_wallet_page(resp.web_redirect_url, env("BAYAR_PHONE"), env("BAYAR_PIN"))
    out["returned"] = urlparse(final)._replace(query="").geturl()

    def query(step, reference):
        resp, out[step] = call(lambda: api.query_payment(
            QueryPaymentRequest(
                original_partner_reference_no=reference, service_code="54", merchant_id=merchant_id
            )
        ))
        if resp is not None:
            out[step]["status"] = resp.latest_transaction_status
            out[step]["desc"] = resp.transaction_status_desc
            out[step]["paidTime"] = resp.paid_time
            out[step]["amount"] = resp.amount.value if resp.amount else None

    query("query", paid_ref)

    def refund(step, number, value):
        resp, out[step] = call(lambda: api.refund_order(
            RefundOrderRequest(
                merchant_id=merchant_id,
                original_partner_reference_no=paid_ref,
                partner_refund_no=number,
                refund_amount=idr(value),
                reason="Customer complain",
            )
        ))
        if resp is not None:
            out[step]["refundAmount"] = resp.refund_amount.value
            out[step]["refundTime"] = resp.refund_time
            out[step]["refundNo"] = resp.refund_no

    refund("refund", paid_ref + "-R1", "20000.00")
    refund("refund_second", paid_ref + "-R2", "5000.00")

    _, out["create_other"] = call(lambda: api.create_order(order(cancelled_ref, "15000.00")))
    resp, out["cancel"] = call(lambda: api.cancel_order(
        CancelOrderRequest(
            original_partner_reference_no=cancelled_ref, merchant_id=merchant_id, reason="customer left"
        )
    ))
    if resp is not None:
        out["cancel"]["cancelTime"] = resp.cancel_time
        out["cancel"]["originalPartnerReferenceNo"] = resp.original_partner_reference_no
    query("query_cancelled", cancelled_ref)

    # The paid order's reference again with another amount: DANA's idempotency rule.
    _, out["inconsistent"] = call(lambda: api.create_order(order(paid_ref, "60000.00")))

    print(json.dumps(out))


if __name__ == "__main__":
    main()
