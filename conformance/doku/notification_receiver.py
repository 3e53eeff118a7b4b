"""A DOKU merchant's notification endpoint, built with DOKU's official Python SDK.

bayar plays DOKU towards merchants: before notifying one it asks the merchant for an access
token (signed SHA256withRSA with the gateway key over `clientId|X-TIMESTAMP`), then POSTs the
notification with that token and an HMAC-SHA512 signature (reference/doku.md 2c, "DOKU ->
merchant direction"). This server is the merchant side, and checks both the way a merchant on
doku-python-library would:

- token requests: the SDK's `TokenController.validate_signature` (which reads flask's request
  and verifies with DOKU's, here bayar's, public key), then `generate_token_b2b` mints the
  RS256 JWT or `generate_invalid_signature_response` refuses (4017300);
- notifications: the SDK's `TokenController.validate_token_b2b` on the `Authorization` JWT
  (with "Bearer " stripped: the SDK decodes the header as given, doku.md 2c), and the answer
  from the SDK's direct-debit helpers (`2005600`, or `5005600 Invalid Token`). The SDK never
  verifies the notification's X-SIGNATURE, so this script does, with hmac/hashlib, and
  cross-checks with the SDK's own `TokenService.generate_symmetric_signature`.

These are the helpers `DokuSNAP.validate_signature_and_generate_token` and
`DokuSNAP.direct_debit_payment_notification` delegate to; `DokuSNAP` itself is not built
because its constructor first fetches a token from DOKU, and no DOKU runs here.

Driven by crates/bayar-server/tests/notify_doku.rs:
1. binds 127.0.0.1 on a free port and prints `{"listening": <port>}`;
2. reads one JSON line from stdin: `client_id`, `client_secret`, `gateway_public_key` (PEM),
   `merchant_private_key` (PEM), and optionally `expires_in` (the token lifetime it announces),
   `fail_token_requests` (answer HTTP 503 to that many token requests first) and
   `reject_notifications` (answer HTTP 401 to that many verified notifications first);
3. serves until stdin closes, printing one JSON line per request it handled (token requests
   and notifications with what was verified), which the Rust test asserts on. Secrets and
   tokens are never printed.
"""

import base64
import hashlib
import hmac
import json
import logging
import os
import sys
import threading

from cryptography.hazmat.primitives import serialization
from flask import Flask, Response, request
from werkzeug.serving import make_server

from doku_python_library.src.controller.notification_controler import NotificationController
from doku_python_library.src.controller.token_controller import TokenController
from doku_python_library.src.model.notification.notification_payment_direct_debit_additional_info import (
    NotificationPaymentDirectDebitAdditionalInfo,
)
from doku_python_library.src.model.notification.notification_payment_direct_debit_request import (
    NotificationPaymentDirectDebitRequest,
)
from doku_python_library.src.model.va.total_amount import TotalAmount
from doku_python_library.src.services.token_service import TokenService

TOKEN_PATH = "/authorization/v1/access-token/b2b"
ISSUER = "bayar-notification-receiver"

# The report lines go to the real stdout; anything else printed (the SDK prints its
# verification errors) is sent to stderr from startup on, so it cannot break a line.
REPORT = sys.stdout
sys.stdout = sys.stderr

app = Flask(__name__)
config = {}
lock = threading.Lock()
counts = {"token_requests": 0, "notifications": 0}


def emit(line):
    """One JSON line for the Rust test; printing is serialised so lines never interleave."""
    with lock:
        REPORT.write(json.dumps(line) + "\n")
        REPORT.flush()


def count(name):
    with lock:
        counts[name] += 1
        return counts[name]


def json_response(body, status):
    return Response(json.dumps(body), status=status, mimetype="application/json")


@app.post(TOKEN_PATH)
def token():
    n = count("token_requests")
    seen = {
        "kind": "token",
        "n": n,
        "client_key": request.headers.get("X-CLIENT-KEY"),
        "timestamp": request.headers.get("X-TIMESTAMP"),
        "content_type": request.headers.get("Content-Type"),
        "grant_type": (request.get_json(silent=True) or {}).get("grantType"),
    }
    if n <= config.get("fail_token_requests", 0):
        emit({**seen, "answered": 503})
        return json_response({"responseCode": "5037300", "responseMessage": "Service Unavailable"}, 503)
    # The SDK verifies `<its own client id>|X-TIMESTAMP` against DOKU's public key.
    signature_valid = TokenController.validate_signature(
        client_id=config["client_id"], public_key=config["gateway_public_key"]
    )
    if signature_valid:
        answer = TokenController.generate_token_b2b(
            expire_in=config.get("expires_in", 900),
            issuer=ISSUER,
            private_key=config["merchant_private_key"],
            client_id=config["client_id"],
        )
    else:
        answer = TokenController.generate_invalid_signature_response()
    body = answer.body.json()
    status = 200 if signature_valid else 401
    emit({**seen, "signature_valid": signature_valid, "response_code": body["responseCode"], "answered": status})
    return json_response(body, status)


def minify(raw):
    """DOKU's canonical body: parsed and re-serialised compactly, keys in received order."""
    return json.dumps(json.loads(raw), separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def expected_signature(path, token, raw, timestamp):
    """base64(HMAC-SHA512(client secret, POST:path:token:sha256hex(minified body):timestamp))."""
    body_hash = hashlib.sha256(minify(raw)).hexdigest()
    string_to_sign = f"POST:{path}:{token}:{body_hash}:{timestamp}"
    mac = hmac.new(config["client_secret"].encode("utf-8"), string_to_sign.encode("utf-8"), hashlib.sha512)
    return base64.b64encode(mac.digest()).decode("ascii")


def sdk_model_round_trip(body):
    """Whether a direct-debit notification survives the SDK's own request model unchanged."""
    info = body.get("additionalInfo") or {}
    model = NotificationPaymentDirectDebitRequest(
        original_partner_reference_no=body.get("originalPartnerReferenceNo"),
        original_reference_no=body.get("originalReferenceNo"),
        original_external_id=body.get("originalExternalId"),
        latest_transaction_status=body.get("latestTransactionStatus"),
        transaction_status_desc=body.get("transactionStatusDesc"),
        amount=TotalAmount(**body["amount"]) if "amount" in body else None,
        additional_info=NotificationPaymentDirectDebitAdditionalInfo(
            channel_id=info.get("channelId"),
            acquirer_id=info.get("acquirerId"),
            cust_id_merchant=info.get("custIdMerchant"),
            account_type=info.get("accountType"),
        ),
    )

    def drop_none(value):
        if isinstance(value, dict):
            return {k: drop_none(v) for k, v in value.items() if v is not None}
        return value

    return drop_none(model.json()) == body


@app.post("/<path:path>")
def notification(path):
    raw = request.get_data()
    authorization = request.headers.get("Authorization", "")
    token = authorization[len("Bearer "):] if authorization.startswith("Bearer ") else authorization
    timestamp = request.headers.get("X-TIMESTAMP", "")
    signature = request.headers.get("X-SIGNATURE", "")

    token_valid = TokenController.validate_token_b2b(token=token, public_key=config["merchant_public_key"])
    try:
        body = json.loads(raw)
        hmac_valid = hmac.compare_digest(expected_signature(request.path, token, raw, timestamp), signature)
        sdk_signature = TokenService.generate_symmetric_signature(
            http_method="POST",
            endpoint=request.path,
            token_b2b=token,
            request=body,
            timestamp=timestamp,
            secret_key=config["client_secret"],
        )
        sdk_hmac_valid = hmac.compare_digest(sdk_signature, signature)
    except ValueError:
        body, hmac_valid, sdk_hmac_valid = None, False, False

    if token_valid:
        answer = NotificationController.generate_direct_debit_notification_response()
    else:
        answer = NotificationController.generate_direct_debit_invalid_token_response()
    status = 200 if token_valid and hmac_valid else 401
    if status == 200 and count("notifications") <= config.get("reject_notifications", 0):
        status = 401
    reply = answer.json()
    emit(
        {
            "kind": "notification",
            "path": request.path,
            "bearer": authorization.startswith("Bearer "),
            "token_valid": token_valid,
            "hmac_valid": hmac_valid,
            "sdk_hmac_valid": sdk_hmac_valid,
            "sdk_model": sdk_model_round_trip(body) if isinstance(body, dict) and "amount" in body else None,
            "headers": {
                name: request.headers.get(name)
                for name in ("X-TIMESTAMP", "X-PARTNER-ID", "X-EXTERNAL-ID", "CHANNEL-ID", "Content-Type")
            },
            "signature_length": len(signature),
            "body": body,
            "response_code": reply["responseCode"],
            "answered": status,
        }
    )
    return json_response(reply, status)


def main():
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    emit({"listening": server.server_port})
    config.update(json.loads(sys.stdin.readline()))
    private_key = serialization.load_pem_private_key(config["merchant_private_key"].encode("utf-8"), password=None)
    config["merchant_public_key"] = (
        private_key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode("ascii")
    )

    def exit_when_stdin_closes():
        # The test holds stdin open while it needs the receiver; EOF means it is done (or gone).
        sys.stdin.read()
        os._exit(0)

    threading.Thread(target=exit_when_stdin_closes, daemon=True).start()
    emit({"ready": True})
    server.serve_forever()


if __name__ == "__main__":
    main()
