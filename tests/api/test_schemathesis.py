"""Schemathesis against the served document: requests it generates from /api/v1/openapi.json,
valid and invalid, go to the real app in-process with a shop's key, and every answer is held
to every check it has. The document and the server must agree: what the document allows is
taken, what it refuses is refused, and every answer is one the document describes.

`schemathesis run --checks all` against a running server does the same with more examples
and stateful sequences (tests/api/schemathesis.toml says how); this keeps a bounded number
per operation so `make test` stays fast (HUIKE_SCHEMATHESIS_EXAMPLES, _SEED for more).
"""

from __future__ import annotations

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import positive_data_acceptance

from app.api.openapi import document, operations

BEYOND_THE_SCHEMA = {op.operation_id: op.beyond_the_schema for op in operations()}
MAX_EXAMPLES = int(os.environ.get("HUIKE_SCHEMATHESIS_EXAMPLES", "25"))


CONFIG = SchemathesisConfig.from_dict(
    {
        "base-url": "http://huike.test/api/v1",  # the test app's SERVER_NAME; sent in-process
        "generation": {
            "max-examples": MAX_EXAMPLES,
            # NUL characters and lone surrogates are refused at the HTTP edge by a check of
            # their own (and tested there); until it lands they reach PostgreSQL and answer
            # 500. Drop these two options once it has.
            "allow-x00": False,
            "codec": "utf-8",
            # the shop's key is the test's to send (shop_key); a mutated one is test_auth's.
            # Generated, a missing key counted as a refusable request that the key the test
            # adds then made valid.
            "with-security-parameters": False,
        },
        # the same cases on every run, so CI is stable; set a seed to look elsewhere
        "seed": int(os.environ.get("HUIKE_SCHEMATHESIS_SEED", "20261122")),
    }
)
# The document as served is the one tested (tests/api/test_openapi.py); loaded from the dict
# at import because pytest 9 breaks schemathesis.pytest.from_fixture.
schema = schemathesis.openapi.from_dict(document(), config=CONFIG)


class TheTestApp:
    """Where the cases go, in-process: the test's app (the shop_key fixture sets it), so the
    requests run in the test's database transaction."""

    app = None

    def __call__(self, environ, start_response):
        return self.app(environ, start_response)


schema.app = TheTestApp()


@pytest.fixture
def shop_key(app, client, two_tenants, monkeypatch) -> dict:
    """Shop A's key, with no rate limit to meet."""
    monkeypatch.setitem(app.config, "API_RATE_LIMIT", "100000 per minute")
    monkeypatch.setattr(schema.app, "app", app)
    return {"Authorization": f"Bearer {two_tenants.a.api_token}"}


def valid_data_is_accepted(ctx, response, case) -> bool | None:
    """Schemathesis's positive_data_acceptance, less the rules no JSON Schema can state
    (a phone number that exists, an owner who is a member of the shop, a cursor the API gave
    out; text without a NUL character or a lone surrogate): the document words them, and a
    422 (or that 400) may name only those."""
    if response.status_code == 400 and response.json()["error"] == "text_invalid":
        return None
    if response.status_code != 422 or case.meta is None:
        return positive_data_acceptance(ctx, response, case)
    if not case.meta.generation.mode.is_positive:
        return None
    code = response.json()["error"]
    allowed = BEYOND_THE_SCHEMA[case.operation.definition.raw["operationId"]]
    assert code in allowed, f"a request the document allows was refused with {code}"
    return None


@schema.parametrize()
# shop_key is made once per operation, not per case: the cases of one operation share a shop,
# as the requests of a real client would (all of it is rolled back after the test)
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_the_server_does_what_the_document_says(case, shop_key):
    case.call_and_validate(
        headers=shop_key,
        excluded_checks=[positive_data_acceptance],
        additional_checks=[valid_data_is_accepted],
    )
