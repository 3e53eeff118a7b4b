"""Stripe's official Python library (`stripe` on PyPI) against bayar's Stripe-style API.

Driven by crates/bayar-server/tests/conformance_stripe.rs. The library is used as a merchant
uses it, only `stripe.api_base` pointed at bayar (BAYAR_BASE) and the secret key bayar issued
(BAYAR_SECRET_KEY). Steps: a DANA intent created and confirmed at once (`requires_action`,
`next_action.redirect_to_url`), paid on the hosted wallet page as the customer (BAYAR_PHONE,
BAYAR_PIN) and followed back to `return_url` with Stripe's query; retrieved `succeeded`;
refunded in part, a second refund refused; listed with pagination (`auto_paging_iter`);
a checkout session created, its line items listed, expired; sessions listed page by page;
refunds listed; and the refusals, each as the library's typed exception with its code and
param. Each step records what the library saw; the Rust test asserts it. Prints one JSON line.
"""

import json
import os
import sys
from urllib.parse import parse_qs, urlparse

import requests
import stripe

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from pages import pay_on_the_wallet_page  # noqa: E402

RETURN_URL = "https://merchant.example/stripe/return?cart=9"


def env(name):
    value = os.environ.get(name)
    if not value:
        sys.exit(f"missing {name}")
    return value


def refusal(call):
    """Runs `call`, which must raise one of the library's errors; returns what it carried."""
    try:
        call()
    except stripe.StripeError as e:
        return {
            "class": type(e).__name__,
            "http": e.http_status,
            "code": e.code,
            "param": getattr(e, "param", None),
            "message": e.user_message,
        }
    return {"class": None}


def main():
    stripe.api_key = env("BAYAR_SECRET_KEY")
    stripe.api_base = env("BAYAR_BASE")
    stripe.max_network_retries = 0
    out = {"library": stripe.VERSION}

    intent = stripe.PaymentIntent.create(
        amount=25000,
        currency="idr",
        payment_method_data={"type": "dana"},
        confirm=True,
        return_url=RETURN_URL,
        metadata={"order_id": "A-1"},
    )
    redirect = intent.next_action.redirect_to_url.url
    out["created"] = {
        "id": intent.id,
        "status": intent.status,
        "amount": intent.amount,
        "next_action_type": intent.next_action.type,
        "dana_url": intent.next_action["dana_handle_redirect"]["url"],
        "redirect_url": redirect,
        "client_secret": intent.client_secret,
        "metadata": intent.metadata.to_dict(),
    }

    # The customer pays; the wallet page returns through bayar to return_url.
    back = pay_on_the_wallet_page(redirect, env("BAYAR_PHONE"), env("BAYAR_PIN"))
    landed = requests.get(back, allow_redirects=False)
    final = urlparse(landed.headers["Location"])
    out["returned"] = {
        "status": landed.status_code,
        "url": f"{final.scheme}://{final.netloc}{final.path}",
        "query": {k: v[0] for k, v in parse_qs(final.query).items()},
    }

    paid = stripe.PaymentIntent.retrieve(intent.id)
    out["retrieved"] = {"status": paid.status, "amount_received": paid.amount_received}

    refund = stripe.Refund.create(payment_intent=intent.id, amount=5000)
    out["refund"] = {
        "id": refund.id,
        "status": refund.status,
        "amount": refund.amount,
        "payment_intent": refund.payment_intent,
    }
    out["refund_again"] = refusal(
        lambda: stripe.Refund.create(payment_intent=intent.id, amount=1000)
    )
    out["refund_retrieved"] = stripe.Refund.retrieve(refund.id).amount
    out["refunds_listed"] = [r.id for r in stripe.Refund.list(limit=3).data]

    made = [intent.id]
    for amount in (1000, 2000, 3000):
        made.append(stripe.PaymentIntent.create(amount=amount, currency="idr").id)
    first_page = stripe.PaymentIntent.list(limit=2)
    out["list"] = {
        "first_page": [i.id for i in first_page.data],
        "has_more": first_page.has_more,
        "all": [i.id for i in first_page.auto_paging_iter()],
        "made": made,
    }

    out["cancel"] = stripe.PaymentIntent.cancel(made[1]).status

    session = stripe.checkout.Session.create(
        mode="payment",
        success_url="https://merchant.example/ok?cs={CHECKOUT_SESSION_ID}",
        cancel_url="https://merchant.example/cart",
        payment_method_types=["dana"],
        line_items=[
            {
                "price_data": {
                    "currency": "IDR",
                    "unit_amount": 20000,
                    "nickname": "apple",
                    "product_data": {"name": "apple"},
                    "lookup_key": "test_lookup_key",
                },
                "quantity": 2,
            }
        ],
    )
    items = stripe.checkout.Session.list_line_items(session.id)
    expired = stripe.checkout.Session.expire(session.id)
    out["checkout"] = {
        "id": session.id,
        "status": session.status,
        "url": session.url,
        "amount_total": session.amount_total,
        "payment_status": session.payment_status,
        "expires_in": session.expires_at - session.created,
        "items": [
            {"quantity": i.quantity, "unit_amount": i.price.unit_amount, "name": i.description}
            for i in items.data
        ],
        "expired": expired.status,
    }
    second = stripe.checkout.Session.create(
        mode="payment",
        success_url="https://merchant.example/ok",
        line_items=[
            {
                "price_data": {
                    "currency": "IDR",
                    "unit_amount": 15000,
                    "product_data": {"name": "pear"},
                },
                "quantity": 1,
            }
        ],
    )
    sessions = stripe.checkout.Session.list(limit=1)
    out["sessions"] = {
        "first_page": [s.id for s in sessions.data],
        "has_more": sessions.has_more,
        "all": [(s.id, s.status) for s in sessions.auto_paging_iter()],
        "made": [session.id, second.id],
    }

    out["too_small"] = refusal(
        lambda: stripe.PaymentIntent.create(amount=50, currency="idr")
    )
    out["unknown_param"] = refusal(
        lambda: stripe.PaymentIntent.create(amount=500, currency="idr", colour="red")
    )
    out["wrong_currency"] = refusal(
        lambda: stripe.PaymentIntent.create(amount=500, currency="usd")
    )
    out["missing"] = refusal(
        lambda: stripe.PaymentIntent.retrieve("pi_01ARZ3NDEKTSV4RRFFQ69G5FAV")
    )
    out["wrong_key"] = refusal(
        lambda: stripe.PaymentIntent.list(api_key="sk_test_" + "0" * 40)
    )
    first = stripe.PaymentIntent.create(
        amount=700, currency="idr", idempotency_key="conf-1"
    )
    replayed = stripe.PaymentIntent.create(
        amount=700, currency="idr", idempotency_key="conf-1"
    )
    out["idempotent_replay"] = {"first": first.id, "replayed": replayed.id}
    out["idempotency"] = refusal(
        lambda: stripe.PaymentIntent.create(
            amount=800, currency="idr", idempotency_key="conf-1"
        )
    )
    print(json.dumps(out))


if __name__ == "__main__":
    main()
