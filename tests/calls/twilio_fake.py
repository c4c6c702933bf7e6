"""A local stand-in for api.twilio.com: the real ``twilio`` library talks to it over HTTP
(``TWILIO_API_BASE``). It records what the library sent — the form, the basic auth — and
answers ``Calls.create`` with a call resource shaped like Twilio's own."""

from __future__ import annotations

import base64
import itertools
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

_sids = itertools.count(1)


def call_resource(account_sid: str, form: dict) -> dict:
    """What Twilio answers to POST .../Calls.json (its docs' example, with this call's values)."""
    sid = f"CA{next(_sids):032x}"
    return {
        "sid": sid,
        "account_sid": account_sid,
        "to": form["To"][0],
        "to_formatted": form["To"][0],
        "from": form["From"][0],
        "from_formatted": form["From"][0],
        "status": "queued",
        "direction": "outbound-api",
        "api_version": "2010-04-01",
        "date_created": None,
        "date_updated": None,
        "start_time": None,
        "end_time": None,
        "duration": None,
        "price": None,
        "price_unit": "USD",
        "answered_by": None,
        "caller_name": None,
        "forwarded_from": None,
        "group_sid": None,
        "parent_call_sid": None,
        "phone_number_sid": None,
        "queue_time": "0",
        "trunk_sid": None,
        "uri": f"/2010-04-01/Accounts/{account_sid}/Calls/{sid}.json",
        "subresource_uris": {},
    }


class FakeTwilio:
    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.fail_next: int | None = None  # an HTTP status to answer the next call with
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
                fake._serve(self, parse_qs(body, keep_blank_values=True))

            def log_message(self, *_args):
                """Quiet: the test reads ``requests`` instead."""

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def calls_created(self) -> list[dict]:
        return [r for r in self.requests if r["path"].endswith("/Calls.json")]

    def _serve(self, handler, form: dict) -> None:
        auth = handler.headers.get("Authorization", "")
        user, _, password = (
            base64.b64decode(auth.split(" ", 1)[1]).decode().partition(":")
            if auth.startswith("Basic ")
            else ("", "", "")
        )
        path = handler.path.split("?")[0]
        self.requests.append({"path": path, "form": form, "auth": (user, password)})
        account_sid = path.split("/Accounts/", 1)[-1].split("/", 1)[0]
        if self.fail_next:
            status, self.fail_next = self.fail_next, None
            body = {
                "code": 21211,
                "message": "The 'To' number is not a valid phone number.",
                "more_info": "https://www.twilio.com/docs/errors/21211",
                "status": status,
            }
        elif path.endswith("/Calls.json"):
            status, body = 201, call_resource(account_sid, form)
        else:
            status, body = 404, {"code": 20404, "message": "not found", "status": 404}
        data = json.dumps(body).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)
