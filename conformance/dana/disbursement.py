"""DANA's official Python SDK (dana-python) against bayar: Disbursement to Balance.

The SDK is used as a merchant installs it; only the host is changed after the configuration
is built (reference/dana.md 1). Each step records the wire outcome (HTTP status, responseCode,
the fields that matter); the Rust test asserts them and the ledger. Prints one JSON line.
"""

import json
import os
import sys
import uuid
from datetime import datetime, timedelta, timezone

os.environ.setdefault("DANA_ENV", "sandbox")

from dana.api_client import ApiClient  # noqa: E402
from dana.exceptions import ApiException  # noqa: E402
from dana.utils.snap_configuration import AuthSettings, Env, SnapConfiguration  # noqa: E402
from dana.disbursement.v1 import DisbursementApi  # noqa: E402
from dana.disbursement.v1.models import (  # noqa: E402
    DanaAccountInquiryRequest,
    DanaAccountInquiryRequestAdditionalInfo,
    Money,
    TransferToDanaInquiryStatusRequest,
    TransferToDanaRequest,
    TransferToDanaRequestAdditionalInfo,
)
from dana.merchant_management.v1 import MerchantManagementApi  # noqa: E402
from dana.merchant_management.v1.models import QueryMerchantResourceRequest  # noqa: E402

FUND_TYPE = "AGENT_TOPUP_FOR_USER_SETTLE"
JAKARTA = timezone(timedelta(hours=7))


def env(name):
    value = os.environ.get(name)
    if not value:
        sys.exit(f"missing environment variable {name}")
    return value


def client():
    with open(env("BAYAR_PRIVATE_KEY_FILE")) as f:
        private_key = f.read()
    cfg = SnapConfiguration(
        api_key=AuthSettings(
            PRIVATE_KEY=private_key,
            ORIGIN="https://merchant.example",
            X_PARTNER_ID=env("BAYAR_CLIENT_ID"),
            CLIENT_SECRET=env("BAYAR_CLIENT_SECRET"),
            CHANNEL_ID="95221",
            ENV=Env.SANDBOX,
            DANA_ENV=Env.SANDBOX,
        )
    )
    # The constructor ignores host=; the property setter is the supported override.
    cfg.host = env("BAYAR_URL")
    return ApiClient(cfg)


def now():
    return datetime.now(JAKARTA).strftime("%Y-%m-%dT%H:%M:%S+07:00")


def idr(value):
    return Money(value=value, currency="IDR")


def call(fn):
    """Runs one SDK call; returns (response or None, wire outcome)."""
    try:
        response = fn()
        return response, {"http": 200, "code": getattr(response, "response_code", None)}
    except ApiException as e:
        try:
            body = json.loads(e.body) if e.body else {}
        except ValueError:
            body = {"raw": str(e.body)}
        return None, {
            "http": e.status,
            "code": body.get("responseCode"),
            "message": body.get("responseMessage"),
            "partnerReferenceNo": body.get("partnerReferenceNo"),
            "customerNumber": body.get("customerNumber"),
            "resultMsg": (body.get("additionalInfo") or {}).get("resultMsg"),
        }


def main():
    api_client = client()
    disbursement = DisbursementApi(api_client)
    management = MerchantManagementApi(api_client)
    phone = env("BAYAR_PHONE")
    out = {}

    def balance(step):
        resp = management.query_merchant_resource(
            QueryMerchantResourceRequest(
                request_merchant_id=env("BAYAR_MERCHANT_ID"),
                merchant_resource_info_list=["MERCHANT_DEPOSIT_BALANCE"],
            )
        )
        body = resp.response.body
        out[step] = {
            "function": resp.response.head.function,
            "status": body.result_info.result_status,
            "code": body.result_info.result_code,
            "value": json.loads(body.merchant_resource_informations[0].value),
        }

    def inquiry(step, number, ref):
        resp, wire = call(lambda: disbursement.dana_account_inquiry(
            DanaAccountInquiryRequest(
                partner_reference_no=ref,
                customer_number=number,
                amount=idr("10000.00"),
                transaction_date=now(),
                additional_info=DanaAccountInquiryRequestAdditionalInfo(fund_type=FUND_TYPE),
            )
        ))
        if resp is not None:
            wire.update(
                customerName=resp.customer_name,
                customerNumber=resp.customer_number,
                fee=resp.fee_amount.value,
                min=resp.min_amount.value,
                max=resp.max_amount.value,
            )
        out[step] = wire

    def topup(step, ref, number, value):
        resp, wire = call(lambda: disbursement.transfer_to_dana(
            TransferToDanaRequest(
                partner_reference_no=ref,
                customer_number=number,
                amount=idr(value),
                fee_amount=idr("2500.00"),
                transaction_date=now(),
                additional_info=TransferToDanaRequestAdditionalInfo(fund_type=FUND_TYPE),
            )
        ))
        if resp is not None:
            wire.update(
                referenceNo=resp.reference_no,
                partnerReferenceNo=resp.partner_reference_no,
                amount=resp.amount.value,
            )
        out[step] = wire

    def status(step, ref):
        resp, wire = call(lambda: disbursement.transfer_to_dana_inquiry_status(
            TransferToDanaInquiryStatusRequest(
                original_partner_reference_no=ref,
                service_code="38",
            )
        ))
        if resp is not None:
            wire.update(
                status=resp.latest_transaction_status,
                desc=resp.transaction_status_desc,
                amount=resp.amount.value,
                referenceNo=resp.original_reference_no,
            )
        out[step] = wire

    ok_ref = "sdk-ok-" + uuid.uuid4().hex[:12]
    short_ref = "sdk-short-" + uuid.uuid4().hex[:12]
    balance("balance_before")
    inquiry("inquiry", phone, "sdk-inq-" + uuid.uuid4().hex[:12])
    topup("topup", ok_ref, phone, "10000.00")
    topup("topup_repeat", ok_ref, phone, "10000.00")
    status("status", ok_ref)
    topup("insufficient", short_ref, phone, "90000.00")
    topup("insufficient_repeat", short_ref, phone, "90000.00")
    status("insufficient_status", short_ref)
    topup("unknown_number", "sdk-unknown-" + uuid.uuid4().hex[:12], env("BAYAR_UNKNOWN_PHONE"), "1000.00")
    topup("inconsistent", ok_ref, phone, "10001.00")
    inquiry("inquiry_frozen_magic", "628123456667", "sdk-inq-frozen")
    status("status_unknown", "sdk-never-" + uuid.uuid4().hex[:12])
    balance("balance_after")
    print(json.dumps(out))


if __name__ == "__main__":
    main()
