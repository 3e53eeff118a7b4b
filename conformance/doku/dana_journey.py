"""The DANA e-wallet journey with DOKU's official Python SDK against bayar.

Driven by crates/bayar-server/tests/conformance_doku.rs. The SDK is used as a merchant would,
with only the base URL changed: `do_payment_jump_app` (EMONEY_DANA_SNAP) answers the hosted
wallet page's `webRedirectUrl`; the page is completed with a plain HTTP client following its
forms (phone number and PIN from BAYAR_PHONE / BAYAR_PIN), which ends at the merchant's
PAY_RETURN URL; then `do_check_status`, a partial `do_refund`, and a second partial refund,
which DANA refuses. Prints one JSON object with every step's wire code; the Rust test asserts
on it and on the ledger.
"""

import json
import os
import sys
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qs, urlparse

import doku_python_library.src.commons.config as doku_config

BASE = os.environ["BAYAR_URL"]
doku_config._Development.BASE_URL = BASE
doku_config._Production.BASE_URL = BASE

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from pages import pay_on_the_wallet_page  # noqa: E402
from doku_python_library.src.model.direct_debit.check_status_additional_info_request import (  # noqa: E402
    CheckStatusAdditionalInfoRequest,
)
from doku_python_library.src.model.direct_debit.check_status_request import CheckStatusRequest  # noqa: E402
from doku_python_library.src.model.direct_debit.payment_jump_app_additional_info import (  # noqa: E402
    PaymentJumpAppAdditionalInfo,
)
from doku_python_library.src.model.direct_debit.payment_jump_app_request import PaymentJumpAppRequest  # noqa: E402
from doku_python_library.src.model.direct_debit.refund_additional_info import RefundAdditionalInfo  # noqa: E402
from doku_python_library.src.model.direct_debit.refund_request import RefundRequest  # noqa: E402
from doku_python_library.src.model.direct_debit.url_param import UrlParam  # noqa: E402
from doku_python_library.src.model.va.total_amount import TotalAmount  # noqa: E402
from doku_python_library.src.snap import DokuSNAP  # noqa: E402

DANA = "EMONEY_DANA_SNAP"
REFERENCE = "INV-DANA-SDK-0001"
RETURN_URL = "https://merchant.example/dana/return?order=0001"
IP = "192.168.100.10"
DEVICE = "pixel8test"
JAKARTA = timezone(timedelta(hours=7))

with open(os.environ["BAYAR_PRIVATE_KEY_FILE"]) as f:
    PRIVATE_KEY = f.read()
with open(os.environ["BAYAR_GATEWAY_PUBLIC_KEY_FILE"]) as f:
    GATEWAY_PUBLIC_KEY = f.read()


def code(response):
    return {"code": response.response_code, "message": response.response_message}


out = {}
snap = DokuSNAP(
    private_key=PRIVATE_KEY,
    client_id=os.environ["BAYAR_CLIENT_ID"],
    is_production=True,
    public_key=GATEWAY_PUBLIC_KEY,
    issuer="bayar-conformance",
    secret_key=os.environ["BAYAR_CLIENT_SECRET"],
    merchant_public_key=GATEWAY_PUBLIC_KEY,
)
out["token"] = code(snap.token_b2b)

valid_up_to = (datetime.now(JAKARTA) + timedelta(minutes=30)).replace(microsecond=0).isoformat()
payment = snap.do_payment_jump_app(
    PaymentJumpAppRequest(
        partner_reference_no=REFERENCE,
        url_param=[UrlParam(url=RETURN_URL, type="PAY_RETURN", is_deep_link="N")],
        amount=TotalAmount(value="100000.00", currency="IDR"),
        additional_info=PaymentJumpAppAdditionalInfo(
            channel=DANA, order_title="Kopi susu x 4", support_deeplink_checkout_url=False
        ),
        valid_up_to=valid_up_to,
        point_of_initiation="app",
    ),
    device_id=DEVICE,
    ip_address=IP,
)
out["payment"] = code(payment)
out["payment"]["web_redirect_url"] = payment.web_redirect_url
out["payment"]["reference_no"] = payment.reference_no
out["payment"]["partner_reference_no"] = payment.partner_reference_no

final = pay_on_the_wallet_page(payment.web_redirect_url, os.environ["BAYAR_PHONE"], os.environ["BAYAR_PIN"])
query = {k: v[0] for k, v in parse_qs(urlparse(final).query).items()}
out["returned"] = {"url": final.split("?")[0], "query": query}

status = snap.do_check_status(
    CheckStatusRequest(
        service_code="55",
        original_partner_reference_no=REFERENCE,
        additional_info=CheckStatusAdditionalInfoRequest(channel=DANA),
    )
)
out["status"] = code(status)
out["status"]["latest"] = status.latest_transaction_status


# DANA has no account binding, so there is no auth code nor customer token. `do_refund` still
# reads `snap.token_b2b2c`, which the SDK only sets once a customer token was fetched: without
# this it fails with AttributeError before sending anything. With no token the SDK asks for one
# with an empty auth code (bayar refuses it), then sends the refund without
# `Authorization-Customer`, which DOKU's DANA refund does not take.
snap.token_b2b2c = None
snap.token_b2b2c_expires_in = None
snap.token_b2b2c_generate_timestamp = None


def refund(number, value):
    response = snap.do_refund(
        RefundRequest(
            original_partner_reference_no=REFERENCE,
            refund_amount=TotalAmount(value=value, currency="IDR"),
            partner_refund_no=number,
            additional_info=RefundAdditionalInfo(channel=DANA),
            reason="customer request",
        ),
        IP,
        "",
        DEVICE,
    )
    result = code(response)
    result["refund_amount"] = (response.refund_amount or {}).get("value")
    result["refund_time"] = response.refund_time
    return result


out["refund_1"] = refund("REFUND-DANA-1", "25000.00")
out["refund_2"] = refund("REFUND-DANA-2", "5000.00")

print(json.dumps(out))
