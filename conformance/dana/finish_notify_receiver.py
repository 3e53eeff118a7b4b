"""A DANA payment-gateway merchant's finish-notify endpoint, built with dana-python's own
`WebhookParser` (reference/dana.md 4).

bayar plays DANA towards merchants: when an order ends it POSTs a `FinishNotifyRequest` to the
order's NOTIFICATION URL, signed SHA256withRSA with the gateway's private key over
`POST:<path>:<sha256hex(minified body)>:<X-TIMESTAMP>`. This server is the merchant side and
checks each notify exactly as a merchant on dana-python would:
`WebhookParser(public_key=<bayar's gateway public key>).parse_webhook(...)`, which verifies the
signature and parses the body into the SDK's strict `FinishNotifyRequest` model. It answers
`{"responseCode":"2005600","responseMessage":"Successful"}` (HTTP 200) when both pass, and
`4015600` (HTTP 401) otherwise.

The parser ignores the key it is given unless `DANA_ENV`/`ENV` is `production` (in sandbox it
always uses DANA's own sandbox key), so this process sets `DANA_ENV=production` before the SDK
is imported: that is the documented switch, not a patch.

Driven by the Rust tests through `SdkReceiver` (crates/bayar-server/tests/common/receiver.rs):
1. binds 127.0.0.1 on a free port and prints `{"listening": <port>}`;
2. reads one JSON line from stdin: `gateway_public_key` (PEM) and optionally
   `reject_notifications` (answer HTTP 500 to that many verified notifies first, to see bayar
   retry);
3. serves until stdin closes, printing one JSON line per notify with what was verified and the
   parsed model's fields. Signatures are never printed.
"""

import json
import logging
import os
import sys
import threading

os.environ["DANA_ENV"] = "production"
os.environ["ENV"] = "production"

from flask import Flask, Response, request  # noqa: E402
from werkzeug.serving import make_server  # noqa: E402

from dana.webhook import WebhookParser  # noqa: E402

# Report lines go to the real stdout; anything else printed goes to stderr.
REPORT = sys.stdout
sys.stdout = sys.stderr

app = Flask(__name__)
config = {}
lock = threading.Lock()
counts = {"notifications": 0}


def emit(line):
    """One JSON line for the Rust test; printing is serialised so lines never interleave."""
    with lock:
        REPORT.write(json.dumps(line) + "\n")
        REPORT.flush()


def count():
    with lock:
        counts["notifications"] += 1
        return counts["notifications"]


def json_response(body, status):
    return Response(json.dumps(body), status=status, mimetype="application/json")


@app.post("/<path:path>")
def notify(path):
    raw = request.get_data().decode("utf-8")
    seen = {
        "kind": "notification",
        "path": request.path,
        "headers": {
            name: request.headers.get(name)
            for name in ("X-TIMESTAMP", "X-PARTNER-ID", "X-EXTERNAL-ID", "CHANNEL-ID", "Content-Type")
        },
        "signature_length": len(request.headers.get("X-SIGNATURE", "")),
    }
    try:
        parsed = WebhookParser(public_key=config["gateway_public_key"]).parse_webhook(
            http_method="POST",
            relative_path_url=request.path,
            headers=dict(request.headers),
            body=raw,
        )
    except Exception as e:  # the SDK raises ValueError for signatures and parsing alike
        emit({**seen, "verified": False, "error": str(e)[:300], "answered": 401})
        return json_response({"responseCode": "4015600", "responseMessage": "Unauthorized. Invalid Signature"}, 401)

    model = parsed.to_dict()
    if count() <= config.get("reject_notifications", 0):
        emit({**seen, "verified": True, "model": model, "answered": 500})
        return json_response({"responseCode": "5005601", "responseMessage": "Internal Server Error"}, 500)
    emit({**seen, "verified": True, "model": model, "answered": 200})
    return json_response({"responseCode": "2005600", "responseMessage": "Successful"}, 200)


def main():
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    emit({"listening": server.server_port})
    config.update(json.loads(sys.stdin.readline()))

    def exit_when_stdin_closes():
        # The test holds stdin open while it needs the receiver; EOF means it is done (or gone).
        sys.stdin.read()
        os._exit(0)

    threading.Thread(target=exit_when_stdin_closes, daemon=True).start()
    emit({"ready": True})
    server.serve_forever()


if __name__ == "__main__":
    main()
