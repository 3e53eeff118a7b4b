"""DOKU's official Python SDK (doku-python-library) against a running bayar.

Driven by crates/bayar-server/tests/conformance_doku.rs, which starts bayar, creates a
merchant, and passes its credentials in the environment. The SDK is used as a merchant would,
with only the base URL changed (reference/doku.md 2a: patch both constants, production mode).
Prints one JSON object with what the SDK got back; the Rust test asserts on it.
"""

import json
import os
from datetime import datetime, timedelta, timezone

import doku_python_library.src.commons.config as doku_config

BASE = os.environ["BAYAR_URL"]
doku_config._Development.BASE_URL = BASE
doku_config._Production.BASE_URL = BASE

from cryptography.hazmat.primitives import serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import rsa  # noqa: E402
from doku_python_library.src.commons.snap_utils import SnapUtils  # noqa: E402
from doku_python_library.src.model.direct_debit.check_status_additional_info_request import (  # noqa: E402
    CheckStatusAdditionalInfoRequest,
)
from doku_python_library.src.model.direct_debit.check_status_request import CheckStatusRequest  # noqa: E402
from doku_python_library.src.services.token_service import TokenService  # noqa: E402
from doku_python_library.src.snap import DokuSNAP  # noqa: E402

CLIENT_ID = os.environ["BAYAR_CLIENT_ID"]
SECRET = os.environ["BAYAR_CLIENT_SECRET"]
with open(os.environ["BAYAR_PRIVATE_KEY_FILE"]) as f:
    PRIVATE_KEY = f.read()
with open(os.environ["BAYAR_GATEWAY_PUBLIC_KEY_FILE"]) as f:
    GATEWAY_PUBLIC_KEY = f.read()


def client(private_key=PRIVATE_KEY, client_id=CLIENT_ID):
    return DokuSNAP(
        private_key=private_key,
        client_id=client_id,
        is_production=True,
        public_key=GATEWAY_PUBLIC_KEY,
        issuer="bayar-conformance",
        secret_key=SECRET,
        merchant_public_key=GATEWAY_PUBLIC_KEY,
    )


def token_outcome(snap):
    t = snap.token_b2b
    return {"code": t.response_code, "message": t.response_message, "has_token": bool(t.access_token)}


def status(snap, reference):
    request = CheckStatusRequest(
        service_code="55",
        original_partner_reference_no=reference,
        additional_info=CheckStatusAdditionalInfoRequest(channel="DIRECT_DEBIT_ALLO_SNAP"),
    )
    response = snap.do_check_status(request)
    return {"code": response.response_code, "message": response.response_message}


out = {}

merchant = client()
out["token"] = token_outcome(merchant)
out["token"]["expires_in"] = merchant.token_expires_in

stranger_key = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
    serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
).decode()
out["tampered"] = token_outcome(client(private_key=stranger_key))
out["unknown_client"] = token_outcome(client(client_id="BRN-0000-0000000000"))

real_timestamp = TokenService.get_timestamp
stale = (datetime.now(timezone.utc) - timedelta(minutes=10)).strftime("%Y-%m-%dT%H:%M:%SZ")
TokenService.get_timestamp = staticmethod(lambda: stale)
out["stale"] = token_outcome(client())
TokenService.get_timestamp = real_timestamp

# A signed transactional call through the SDK, then the same X-EXTERNAL-ID again.
SnapUtils.generate_external_id = staticmethod(lambda: "53766438123093121795344158")
out["status_first"] = status(merchant, "INV-CONFORMANCE-1")
out["status_reused_external_id"] = status(merchant, "INV-CONFORMANCE-2")

print(json.dumps(out))
