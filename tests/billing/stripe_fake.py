"""A local stand-in for api.stripe.com: the real ``stripe`` library talks to it over HTTP.
It records what the library sent and answers with objects shaped like Stripe's own examples
(shared/stripe/fixtures3-subset.json)."""

from __future__ import annotations

import copy
import hashlib
import hmac
import itertools
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl

# Stripe's own example objects (stripe/openapi fixtures3.json, MIT licence, Copyright Stripe,
# Inc.; see fixtures/README.md), kept in the repository so the tests need nothing beside it.
FIXTURES = json.loads((Path(__file__).parent / "fixtures/stripe-objects.json").read_text())[
    "resources"
]
_ids = itertools.count(1)


def example(kind: str, **fields) -> dict:
    obj = copy.deepcopy(FIXTURES[kind])
    obj.update(fields)
    return obj


def subscription(
    sub_id: str,
    customer: str,
    price: str,
    quantity: int,
    status: str,
    period_end: int,
    cancel_at_period_end: bool = False,
) -> dict:
    item = example(
        "subscription_item",
        id=f"si_{sub_id}",
        quantity=quantity,
        current_period_end=period_end,
        current_period_start=period_end - 365 * 86400,
    )
    item["price"] = example("price", id=price)
    obj = example(
        "subscription",
        id=sub_id,
        customer=customer,
        status=status,
        cancel_at_period_end=cancel_at_period_end,
    )
    obj["items"] = {"object": "list", "data": [item], "has_more": False, "url": "/v1/x"}
    return obj


def invoice(inv_id: str, customer: str, sub_id: str, status: str, amount: int) -> dict:
    return example(
        "invoice",
        id=inv_id,
        customer=customer,
        subscription=sub_id,
        status=status,
        amount_due=amount,
        amount_paid=amount if status == "paid" else 0,
        currency="cny",
        created=int(time.time()),
        number=f"HK-{inv_id[-4:]}",
        hosted_invoice_url=f"https://invoice.stripe.com/i/{inv_id}",
    )


def event(kind: str, obj: dict, created: int | None = None, event_id: str | None = None) -> dict:
    return example(
        "event",
        id=event_id or f"evt_{next(_ids)}_{kind}",
        type=kind,
        created=created or int(time.time()),
        data={"object": obj},
    )


def sign(body: bytes, secret: str, at: int | None = None) -> str:
    """Stripe's scheme: t=<unix>,v1=HMAC-SHA256(secret, "<t>.<body>")."""
    at = at or int(time.time())
    mac = hmac.new(secret.encode(), f"{at}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={at},v1={mac}"


class FakeStripe:
    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.subscriptions: dict[str, dict] = {}
        self.fail_next: int | None = None  # an HTTP status to answer the next call with
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                fake._serve(self, "GET", {})

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
                fake._serve(self, "POST", dict(parse_qsl(body, keep_blank_values=True)))

            def log_message(self, *_args):
                """Quiet: the test reads ``requests`` instead."""

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()

    def calls(self, path_start: str) -> list[dict]:
        return [r for r in self.requests if r["path"].startswith(path_start)]

    def _serve(self, handler, method: str, form: dict) -> None:
        path = handler.path.split("?")[0]
        self.requests.append(
            {
                "method": method,
                "path": path,
                "form": form,
                "idempotency_key": handler.headers.get("Idempotency-Key"),
            }
        )
        status, body = self._answer(method, path, form)
        data = json.dumps(body).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)

    def _answer(self, method: str, path: str, form: dict) -> tuple[int, dict]:
        if self.fail_next:
            status, self.fail_next = self.fail_next, None
            return status, {
                "error": {
                    "type": "card_error",
                    "code": "card_declined",
                    "message": "Your card was declined.",
                }
            }
        if path == "/v1/customers":
            return 200, example("customer", id=f"cus_{next(_ids)}", email=form.get("email"))
        if path == "/v1/checkout/sessions":
            cs_id = f"cs_test_{next(_ids)}"
            return 200, example(
                "checkout.session",
                id=cs_id,
                customer=form.get("customer"),
                mode=form.get("mode"),
                url=f"https://checkout.stripe.com/c/{cs_id}",
            )
        if path == "/v1/billing_portal/sessions":
            return 200, example(
                "billing_portal.session",
                id="bps_1",
                url="https://billing.stripe.com/p/session/test",
            )
        if path.startswith("/v1/subscriptions/"):
            sub = self.subscriptions[path.rsplit("/", 1)[1]]
            if method == "POST":
                if "items[0][quantity]" in form:
                    sub["items"]["data"][0]["quantity"] = int(form["items[0][quantity]"])
                if "cancel_at_period_end" in form:
                    sub["cancel_at_period_end"] = form["cancel_at_period_end"] == "true"
            return 200, sub
        return 404, {"error": {"type": "invalid_request_error", "message": f"no {path}"}}
