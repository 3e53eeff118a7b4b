"""DANA's official Python SDK (dana-python) against bayar: the widget.

Driven by crates/bayar-server/tests/conformance_dana.rs. The SDK is used as a merchant
installs it, only the host changed (reference/dana.md 1): `Util.generate_oauth_url` builds the
wallet's OAuth URL (its host replaced with bayar's), which a plain HTTP client completes as the
wallet user (phone and PIN from BAYAR_PHONE / BAYAR_PIN) up to the merchant's redirect with the
auth code; then `apply_token` (authorization code, then refresh token), `balance_inquiry`,
`widget_payment` paid on the wallet page opened with an `apply_ott` token (so only the PIN is
asked) and `query_payment`, `query_user_profile` (OPEN_API), `account_unbinding`, and after it
a balance inquiry and the same auth code again (both refused). Each step records the wire
outcome; the Rust test asserts them and the ledger. Prints one JSON line.
"""

import json
import os
import sys
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qs, urlparse

os.environ.setdefault("DANA_ENV", "sandbox")

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import requests  # noqa: E402
from dana.widget.v1 import WidgetApi  # noqa: E402
from dana.widget.v1.models import (  # noqa: E402
    AccountUnbindingRequest,
    AccountUnbindingRequestAdditionalInfo,
    ApplyOTTRequest,
    ApplyOTTRequestAdditionalInfo,
    ApplyTokenAuthorizationCodeRequest,
    ApplyTokenRefreshTokenRequest,
    BalanceInquiryRequest,
    BalanceInquiryRequestAdditionalInfo,
    EnvInfo,
    Money,
    Oauth2UrlData,
    Order,
    QueryPaymentRequest,
    QueryUserProfileRequest,
    UrlParam,
    WidgetPaymentRequest,
    WidgetPaymentRequestAdditionalInfo,
)
from dana.widget.v1.util import Util  # noqa: E402

from disbursement import call, client, env  # noqa: E402
from pages import submit  # noqa: E402

JAKARTA = timezone(timedelta(hours=7))
REDIRECT_URL = "https://merchant.example/dana/oauth-callback"
RETURN_URL = "https://merchant.example/dana/return"
DEVICE = "device-0001"


def in_minutes(minutes):
    return (datetime.now(JAKARTA) + timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%S+07:00")


def auth_code():
    """The wallet user on the OAuth page: returns the auth code and state of the redirect."""
    os.environ["X_PARTNER_ID"] = env("BAYAR_CLIENT_ID")
    url = Util.generate_oauth_url(
        Oauth2UrlData(
            external_id="ext-widget-0001",
            merchant_id=env("BAYAR_MERCHANT_ID"),
            redirect_url=REDIRECT_URL,
            state="state-0001",
        )
    )
    parsed = urlparse(url)
    url = env("BAYAR_URL") + parsed.path + "?" + parsed.query
    session = requests.Session()
    page = session.get(url)
    page.raise_for_status()
    answer = submit(session, page.url, page.text, {"phone": env("BAYAR_PHONE"), "pin": env("BAYAR_PIN")})
    assert answer.status_code in (302, 303), (answer.status_code, answer.text[:500])
    location = answer.headers["Location"]
    query = parse_qs(urlparse(location).query)
    return query["authCode"][0], query["state"][0], location.split("?")[0]


def balance(api, token):
    return call(
        lambda: api.balance_inquiry(
            BalanceInquiryRequest(
                additional_info=BalanceInquiryRequestAdditionalInfo(access_token=token, device_id=DEVICE)
            )
        )
    )


def main():
    api = WidgetApi(client())
    merchant_id = env("BAYAR_MERCHANT_ID")
    reference = env("BAYAR_REFERENCE")
    out = {}

    code, state, redirected = auth_code()
    out["oauth"] = {"state": state, "redirect": redirected}

    resp, out["apply_token"] = call(
        lambda: api.apply_token(ApplyTokenAuthorizationCodeRequest(grant_type="AUTHORIZATION_CODE", auth_code=code))
    )
    token = resp.access_token
    refresh = resp.refresh_token
    out["apply_token"]["publicUserId"] = resp.additional_info.user_info.public_user_id
    out["apply_token"]["accessTokenExpiryTime"] = resp.access_token_expiry_time

    resp, out["refresh"] = call(
        lambda: api.apply_token(ApplyTokenRefreshTokenRequest(grant_type="REFRESH_TOKEN", refresh_token=refresh))
    )

    resp, out["balance"] = balance(api, token)
    if resp is not None:
        info = resp.account_infos[0]
        out["balance"]["balanceType"] = info.balance_type
        out["balance"]["available"] = info.available_balance.value

    resp, out["widget_payment"] = call(
        lambda: api.widget_payment(
            WidgetPaymentRequest(
                partner_reference_no=reference,
                merchant_id=merchant_id,
                amount=Money(value="15000.00", currency="IDR"),
                valid_up_to=in_minutes(10),
                url_params=[UrlParam(url=RETURN_URL, type="PAY_RETURN", is_deeplink="N")],
                additional_info=WidgetPaymentRequestAdditionalInfo(
                    product_code="51051000100000000001",
                    mcc="5732",
                    order=Order(order_title="Kopi susu"),
                    env_info=EnvInfo(source_platform="IPG", terminal_type="SYSTEM"),
                ),
            )
        )
    )
    payment = resp
    if payment is not None:
        out["widget_payment"]["referenceNo"] = payment.reference_no
        out["widget_payment"]["webRedirectUrl"] = payment.web_redirect_url

    # Apply OTT, and the SDK's helper that puts it on the payment URL: the wallet page then
    # knows the customer and asks only for the PIN.
    ott, out["apply_ott"] = call(
        lambda: api.apply_ott(
            ApplyOTTRequest(
                user_resources=["OTT"],
                additional_info=ApplyOTTRequestAdditionalInfo(access_token=token, device_id=DEVICE),
            )
        )
    )
    if payment is not None and ott is not None:
        out["apply_ott"]["resourceType"] = ott.user_resources[0].resource_type
        session = requests.Session()
        page = session.get(Util.generate_complete_payment_url(payment, ott))
        page.raise_for_status()
        out["identified"] = 'id="masked-phone"' in page.text and 'type="tel"' not in page.text
        paid = submit(session, page.url, page.text, {"pin": env("BAYAR_PIN")})
        assert paid.status_code in (302, 303), (paid.status_code, paid.text[:500])
        out["returned"] = paid.headers["Location"].split("?")[0]

    resp, out["query"] = call(
        lambda: api.query_payment(
            QueryPaymentRequest(original_partner_reference_no=reference, service_code="54", merchant_id=merchant_id)
        )
    )
    if resp is not None:
        out["query"]["status"] = resp.latest_transaction_status

    resp, out["user_profile"] = call(
        lambda: api.query_user_profile(
            QueryUserProfileRequest(user_resources=["BALANCE", "MASK_DANA_ID"], access_token=token)
        )
    )
    if resp is not None:
        body = resp.response.body
        out["user_profile"]["status"] = body.result_info.result_status
        out["user_profile"]["resultMsg"] = body.result_info.result_msg
        infos = body.user_resource_infos or []
        out["user_profile"]["values"] = {i.resource_type: i.value for i in infos}

    resp, out["unbinding"] = call(
        lambda: api.account_unbinding(
            AccountUnbindingRequest(
                merchant_id=merchant_id,
                additional_info=AccountUnbindingRequestAdditionalInfo(access_token=token, device_id=DEVICE),
            )
        )
    )
    _, out["balance_after"] = balance(api, token)
    _, out["apply_token_again"] = call(
        lambda: api.apply_token(ApplyTokenAuthorizationCodeRequest(grant_type="AUTHORIZATION_CODE", auth_code=code))
    )
    print(json.dumps(out))


if __name__ == "__main__":
    main()
