"""Playing the customer on bayar's hosted pages with a plain HTTP client, for the conformance
scripts (DOKU's and DANA's e-wallet journeys): read a page's forms, fill them in, submit,
without following redirects so the script sees where the page sends the browser.
"""

from html.parser import HTMLParser
from urllib.parse import urljoin

import requests


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


def submit(session, page_url, html, answers):
    """Fills `answers` into the page's form that has all those fields, submits it, and returns
    the response (redirects not followed)."""
    parser = Forms()
    parser.feed(html)
    form = next(f for f in parser.forms if all(k in f["fields"] for k in answers))
    fields = {**form["fields"], **answers}
    return session.post(urljoin(page_url, form["action"]), data=fields, allow_redirects=False)


def pay_on_the_wallet_page(url, phone, pin):
    """Acts as the customer on the hosted DANA-like wallet page: opens it, logs in with phone
    and PIN; returns the redirect's `Location` (the merchant's PAY_RETURN URL)."""
    session = requests.Session()
    page = session.get(url)
    page.raise_for_status()
    paid = submit(session, url, page.text, {"phone": phone, "pin": pin})
    assert paid.status_code in (302, 303), (paid.status_code, paid.text[:500])
    return paid.headers["Location"]
