"""Twilio's REST API for a shop's Twilio connection: the real ``twilio.rest.Client``.

``TWILIO_API_BASE`` (tests: a local HTTP server the test runs) takes the place of
``https://*.twilio.com``, so the library's own requests — its URLs, form encoding and basic
auth — are what the stand-in receives. Calls are made from jobs, never inside a request, with
a timeout so a slow Twilio cannot hold a worker for long.
"""

from __future__ import annotations

import re

from flask import current_app
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from app.calls import secrets
from app.calls.models import CallConnection

TIMEOUT_SECONDS = 10
TWILIO_HOST = re.compile(r"^https://[a-z0-9.-]+\.twilio\.com")


class RoutedHttpClient(TwilioHttpClient):
    """Twilio's own HTTP client, its requests sent to ``base`` instead of Twilio's hosts."""

    def __init__(self, base: str | None, timeout: float) -> None:
        super().__init__(timeout=timeout)
        self.base = base.rstrip("/") if base else None

    def request(self, method, url, *args, **kwargs):
        if self.base:
            url = TWILIO_HOST.sub(self.base, url, count=1)
        return super().request(method, url, *args, **kwargs)


def client_for(connection: CallConnection) -> Client:
    """The shop's Twilio account (its SID, its auth token decrypted) as a REST client."""
    http_client = RoutedHttpClient(current_app.config["TWILIO_API_BASE"], TIMEOUT_SECONDS)
    return Client(
        connection.account_sid,
        secrets.decrypt(connection.auth_token_enc),
        http_client=http_client,
    )
