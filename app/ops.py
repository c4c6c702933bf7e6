"""Operations: structured logs with tenant and request id, /healthz and /metrics."""

from __future__ import annotations

import logging
import time
import uuid

from flask import Blueprint, Flask, Response, g, has_request_context, jsonify, request
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest
from pythonjsonlogger.json import JsonFormatter
from sqlalchemy import text

from app.extensions import csrf, limiter
from tenants.db import current_tenant_id, db

bp = Blueprint("ops", __name__)

REQUESTS = Counter(
    "huike_http_requests_total", "HTTP requests answered", ["method", "endpoint", "status"]
)
LATENCY = Histogram("huike_http_request_seconds", "HTTP request latency", ["endpoint"])


class RequestContextFilter(logging.Filter):
    """Adds the request id and the tenant to every record logged while serving a request."""

    def filter(self, record: logging.LogRecord) -> bool:
        if has_request_context():
            record.request_id = getattr(g, "request_id", None)
            record.tenant_id = current_tenant_id()
        return True


def configure_logging(app: Flask) -> None:
    handler = logging.StreamHandler()
    if app.config["LOG_JSON"]:
        handler.setFormatter(
            JsonFormatter("%(asctime)s %(levelname)s %(name)s %(message)s", timestamp=False)
        )
    handler.addFilter(RequestContextFilter())
    huike = logging.getLogger("huike")
    huike.handlers[:] = [handler]
    huike.setLevel(app.config["LOG_LEVEL"])
    huike.propagate = False
    app.logger.handlers[:] = [handler]
    app.logger.setLevel(app.config["LOG_LEVEL"])

    log = logging.getLogger("huike.http")

    @app.before_request
    def _tag_request() -> None:
        g.request_id = request.headers.get("X-Request-ID", "")[:64] or uuid.uuid4().hex
        g.started = time.perf_counter()

    @app.after_request
    def _record(response: Response) -> Response:
        endpoint = request.endpoint or "unmatched"
        elapsed = time.perf_counter() - g.get("started", time.perf_counter())
        REQUESTS.labels(request.method, endpoint, response.status_code).inc()
        LATENCY.labels(endpoint).observe(elapsed)
        response.headers["X-Request-ID"] = g.get("request_id", "")
        if endpoint not in ("ops.metrics", "static"):
            log.info(
                "request",
                extra={
                    "method": request.method,
                    # the rule, not the path: a path can carry a reset or invitation token
                    "route": request.url_rule.rule if request.url_rule else "unmatched",
                    "status": response.status_code,
                    "ms": round(elapsed * 1000, 1),
                },
            )
        return response


@bp.get("/healthz")
@limiter.exempt
def healthz():
    try:
        db().execute(text("SELECT 1"))
    except Exception:  # the probe must answer, not crash
        logging.getLogger("huike.ops").exception("health check: database unreachable")
        return jsonify(status="error", database="unreachable"), 503
    return jsonify(status="ok")


@bp.get("/metrics")
@limiter.exempt
@csrf.exempt
def metrics():
    return Response(generate_latest(), mimetype=CONTENT_TYPE_LATEST)
