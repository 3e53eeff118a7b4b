"""The whole Allo Bank direct-debit journey with DOKU's official Python SDK against bayar.

Driven by crates/bayar-server/tests/conformance_doku.rs. The SDK is used as a merchant would,
with only the base URL changed. The hosted binding page is completed with a plain HTTP client
following its forms, the OTP read with `bayar otp show` (the sandbox's stand-in for the SMS).
Prints one JSON object with every step's wire code; the Rust test asserts on it.
"""

import json
import os
import subprocess
from html.parser import HTMLParser
from urllib.parse import parse_qs, urljoin, urlparse

import doku_python_library.src.commons.config as doku_config

BASE = os.environ["BAYAR_URL"]
doku_config._Development.BASE_URL = BASE
doku_config._Production.BASE_URL = BASE

import requests  # noqa: E402
from doku_python_library.src.model.direct_debit.account_binding_additional_info_request import (  # noqa: E402
    AccountBindingAdditionalInfoRequest,
)
from doku_python_library.src.model.direct_debit.account_binding_request import AccountBindingRequest  # noqa: E402
from doku_python_library.src.model.direct_debit.account_unbinding_additional_info_request import (  # noqa: E402
    AccountUnbindingAdditionalInfoRequest,
)
from doku_python_library.src.model.direct_debit.account_unbinding_request import AccountUnbindingRequest  # noqa: E402
from doku_python_library.src.model.direct_debit.balance_inquiry_additional_info import (  # noqa: E402
    BalanceInquiryAdditionalInfo,
)
from doku_python_library.src.model.direct_debit.balance_inquiry_request import BalanceInquiryRequest  # noqa: E402
from doku_python_library.src.model.direct_debit.check_status_additional_info_request import (  # noqa: E402
    CheckStatusAdditionalInfoRequest,
)
from doku_python_library.src.model.direct_debit.check_status_request import CheckStatusRequest  # noqa: E402
from doku_python_library.src.model.direct_debit.payment_additional_info_request import (  # noqa: E402
    PaymentAdditionalInfoRequest,
)
from doku_python_library.src.model.direct_debit.payment_request import PaymentRequest  # noqa: E402
from doku_python_library.src.model.direct_debit.refund_additional_info import RefundAdditionalInfo  # noqa: E402
from doku_python_library.src.model.direct_debit.refund_request import RefundRequest  # noqa: E402
from doku_python_library.src.model.va.total_amount import TotalAmount  # noqa: E402
from doku_python_library.src.snap import DokuSNAP  # noqa: E402

ALLO = "DIRECT_DEBIT_ALLO_SNAP"
PHONE = os.environ["BAYAR_PHONE"]
IP = "192.168.100.10"
DEVICE = "pixel-8-test"

with open(os.environ["BAYAR_PRIVATE_KEY_FILE"]) as f:
    PRIVATE_KEY = f.read()
with open(os.environ["BAYAR_GATEWAY_PUBLIC_KEY_FILE"]) as f:
    GATEWAY_PUBLIC_KEY = f.read()


class Forms(HTMLParser):
    """Collects each form's action and its inputs' names and values."""

    def __init__(self):
        super().__init__()
        self.forms = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.forms.append({"action": attrs.get("action", ""), "fields": {}})
        elif tag == "input" and self.forms and attrs.get("name"):
            self.forms[-1]["fields"][attrs["name"]] = attrs.get("value") or ""


def submit(session, page_url, html, field, value):
    """Fills `field` of the page's form that has it and submits it; returns the response."""
    parser = Forms()
    parser.feed(html)
    form = next(f for f in parser.forms if field in f["fields"])
    fields = dict(form["fields"])
    fields[field] = value
    return session.post(urljoin(page_url, form["action"]), data=fields, allow_redirects=False)


def otp_from_cli():
    out = subprocess.run(
        [os.environ["BAYAR_BIN"], "otp", "show", "--phone", PHONE],
        env={**os.environ, "DATABASE_URL": os.environ["BAYAR_DATABASE_URL"]},
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.strip().split()[-1]


def complete_binding(redirect_url):
    """Acts as the customer on the hosted page: OTP, then PIN; returns the final redirect."""
    session = requests.Session()
    page = session.get(redirect_url)
    page.raise_for_status()
    after_otp = submit(session, redirect_url, page.text, "otp", otp_from_cli())
    assert after_otp.status_code in (302, 303), after_otp.status_code
    pin_url = urljoin(redirect_url, after_otp.headers["Location"])
    pin_page = session.get(pin_url)
    after_pin = submit(session, pin_url, pin_page.text, "pin", os.environ["BAYAR_PIN"])
    assert after_pin.status_code in (302, 303), after_pin.status_code
    return after_pin.headers["Location"]


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

binding = snap.do_account_binding(
    AccountBindingRequest(
        phone_no=PHONE,
        additional_info=AccountBindingAdditionalInfoRequest(
            channel=ALLO,
            cust_id_merchant="cust-001",
            success_registration_url="https://merchant.example/bound",
            failed_registration_url="https://merchant.example/failed",
            device_model="Pixel 8",
            os_type="android",
            channel_id="app",
        ),
    ),
    device_id=DEVICE,
    ip_address=IP,
)
out["binding"] = code(binding)
out["binding"]["status"] = (binding.additional_info or {}).get("status")
final = complete_binding(binding.redirect_url)
query = parse_qs(urlparse(final).query)
out["binding"]["returned_to"] = final.split("?")[0]
auth_code = query["authCode"][0]

out["b2b2c"] = code(snap.get_token_b2b2c(auth_code))

balance = snap.do_balance_inquiry(
    BalanceInquiryRequest(additional_info=BalanceInquiryAdditionalInfo(channel=ALLO)), IP, auth_code
)
out["balance"] = code(balance)
out["balance"]["amount"] = balance.account_infos[0]["amount"]["value"]


def pay(reference, value):
    return snap.do_payment(
        PaymentRequest(
            partner_reference_no=reference,
            amount=TotalAmount(value=value, currency="IDR"),
            additional_info=PaymentAdditionalInfoRequest(
                channel=ALLO,
                remarks="Order " + reference,
                success_payment_url="https://merchant.example/paid",
                failed_payment_url="https://merchant.example/unpaid",
                line_items=[{"name": "Kopi", "price": value, "quantity": "1"}],
            ),
        ),
        IP,
        auth_code,
    )


payment = pay("INV-ALLO-0001", "100000.00")
out["payment"] = code(payment)
out["payment"]["reference_no"] = payment.reference_no
out["payment_repeat"] = code(pay("INV-ALLO-0001", "100000.00"))
out["payment_inconsistent"] = code(pay("INV-ALLO-0001", "200000.00"))
out["payment_too_big"] = code(pay("INV-ALLO-0002", "900000.00"))

status = snap.do_check_status(
    CheckStatusRequest(
        service_code="55",
        original_partner_reference_no="INV-ALLO-0001",
        additional_info=CheckStatusAdditionalInfoRequest(channel=ALLO),
    )
)
out["status"] = code(status)
out["status"]["latest"] = status.latest_transaction_status


def refund(number, value):
    # Allo refund numbers are 32 to 64 characters (checked by the SDK).
    return code(
        snap.do_refund(
            RefundRequest(
                original_partner_reference_no="INV-ALLO-0001",
                refund_amount=TotalAmount(value=value, currency="IDR"),
                partner_refund_no=number.ljust(32, "0"),
                additional_info=RefundAdditionalInfo(channel=ALLO),
                reason="customer request",
            ),
            IP,
            auth_code,
            DEVICE,
        )
    )


out["refund_1"] = refund("REFUND-ALLO-1-", "30000.00")
out["refund_2"] = refund("REFUND-ALLO-2-", "20000.00")
out["refund_too_much"] = refund("REFUND-ALLO-3-", "50000.01")

unbinding = snap.do_account_unbinding(
    AccountUnbindingRequest(
        token=snap.token_b2b2c, additional_info=AccountUnbindingAdditionalInfoRequest(channel=ALLO)
    ),
    IP,
)
out["unbinding"] = code(unbinding)
out["payment_after_unbinding"] = code(pay("INV-ALLO-0003", "1000.00"))

print(json.dumps(out))
