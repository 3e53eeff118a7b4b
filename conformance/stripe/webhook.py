"""Stripe's official Python library verifies a webhook bayar delivered.

Driven by crates/bayar-server/tests/conformance_stripe.rs, which captures one delivery (raw
body and `Stripe-Signature` header) at its own endpoint and passes it here with the endpoint's
secret: `stripe.Webhook.construct_event` must accept it, and must refuse the same body with
one byte changed or under another secret. Prints one JSON line.
"""

import json
import os

import stripe


def verify(payload, header, secret):
    try:
        event = stripe.Webhook.construct_event(payload, header, secret)
    except stripe.SignatureVerificationError as e:
        return {"verified": False, "error": type(e).__name__}
    return {
        "verified": True,
        "id": event.id,
        "type": event.type,
        "object": event.data.object.object,
        "object_id": event.data.object.id,
        "status": event.data.object.status,
    }


def main():
    payload = os.environ["BAYAR_WEBHOOK_BODY"]
    header = os.environ["BAYAR_WEBHOOK_SIGNATURE"]
    secret = os.environ["BAYAR_WEBHOOK_SECRET"]
    print(
        json.dumps(
            {
                "genuine": verify(payload, header, secret),
                "tampered": verify(payload.replace("succeeded", "succeedeD", 1), header, secret),
                "other_secret": verify(payload, header, "whsec_" + "x" * 32),
            }
        )
    )


if __name__ == "__main__":
    main()
