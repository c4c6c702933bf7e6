"""The API under test: a client that sends a shop's key and checks every answer it gets
against the OpenAPI document, so no test here passes on an answer the document does not
describe (nor on a request it took that the document would refuse). Each checked (path,
method, status) is recorded for the coverage test."""

from __future__ import annotations

import re

import pytest
from openapi_core import OpenAPI
from openapi_core.contrib.werkzeug import WerkzeugOpenAPIRequest, WerkzeugOpenAPIResponse
from openapi_core.templating.paths.exceptions import OperationNotFound, PathNotFound
from werkzeug.test import EnvironBuilder

from app.api.openapi import document

SPEC = OpenAPI.from_dict(document())
BASE = "/api/v1"
CHECKED: set[tuple[str, str, int]] = set()


class SentRequest(WerkzeugOpenAPIRequest):
    """The request as the document sees it for checking an answer: its body was read by the
    app already, and only the answer is checked (bad requests are sent on purpose)."""

    body = None


def path_template(path: str) -> str | None:
    """The document's path a request path falls under (a parameter is one segment)."""
    for template in document()["paths"]:
        if re.fullmatch(re.sub(r"\{[^}]+\}", "[^/]+", template), path):
            return template
    return None


def conform(response) -> None:
    """Raise unless the document describes this answer: status, headers and body."""
    request = response.request
    try:
        SPEC.validate_response(SentRequest(request), WerkzeugOpenAPIResponse(response))
    except (PathNotFound, OperationNotFound):
        # Flask's own answers to a path or a method the API does not have: no operation
        # describes them; tests/api/test_errors.py checks their shape.
        assert response.status_code in (404, 405), response.get_data(True)
        return
    template = path_template(request.path.removeprefix(BASE))
    CHECKED.add((template, request.method.lower(), response.status_code))


class Api:
    """Requests to /api/v1 with a shop's key (``token=None``: without one)."""

    def __init__(self, client, token: str | None):
        self.client, self.token = client, token

    def open(self, method: str, path: str, token: str | None = "default", **kwargs):
        token = self.token if token == "default" else token
        headers = dict(kwargs.pop("headers", {}))
        if token is not None:
            headers.setdefault("Authorization", f"Bearer {token}")
        response = self.client.open(BASE + path, method=method, headers=headers, **kwargs)
        conform(response)
        if response.status_code < 300:  # what the API took, the document must allow
            sent = EnvironBuilder(BASE + path, method=method, headers=headers, **kwargs)
            SPEC.validate_request(WerkzeugOpenAPIRequest(sent.get_request()))
        return response

    def get(self, path: str, **kwargs):
        return self.open("GET", path, **kwargs)

    def post(self, path: str, **kwargs):
        return self.open("POST", path, **kwargs)

    def patch(self, path: str, **kwargs):
        return self.open("PATCH", path, **kwargs)

    def delete(self, path: str, **kwargs):
        return self.open("DELETE", path, **kwargs)

    def as_shop(self, shop) -> Api:
        return Api(self.client, shop.api_token)


@pytest.fixture
def api(client, two_tenants) -> Api:
    """Shop A's server."""
    return Api(client, two_tenants.a.api_token)


def error_of(response) -> tuple[int, str, str | None]:
    body = response.get_json()
    assert body["message"], body
    return response.status_code, body["error"], body["field"]
