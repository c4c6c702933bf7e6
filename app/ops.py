"""Operations: structured logs with tenant and request id, /healthz and /metrics, and what a
worker behind a load balancer needs (its name in its Socket.IO sessions, the client's address)."""

from __future__ import annotations

import logging
import re
import time
import uuid

from flask import (
    Blueprint,
    Flask,
    Response,
    current_app,
    g,
    has_request_context,
    jsonify,
    request,
    send_from_directory,
)
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest
from pythonjsonlogger.json import JsonFormatter
from sqlalchemy import text
from werkzeug.middleware.proxy_fix import ProxyFix

from app.extensions import csrf, limiter
from tenants.db import current_tenant_id, db

bp = Blueprint("ops", __name__)
NODE_NAME = re.compile(r"[a-z0-9]{1,16}")

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


@bp.get("/favicon.ico")
@limiter.exempt
def favicon():
    """Browsers ask for it on every page whatever the pages link to; the same icon, cached."""
    return send_from_directory(
        current_app.static_folder, "favicon.svg", mimetype="image/svg+xml", max_age=86400
    )


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


def serve_behind_proxy(app: Flask, socket_server) -> None:
    """What a worker behind the load balancer (docs/deploy.md) needs, from its settings.

    ``NODE_NAME``: every Socket.IO session id this worker makes starts with its name
    (``w1.…``), so the proxy sends each request that carries one (``?sid=``: long-polling,
    the upgrade to WebSocket) to the worker holding that session; HTTP answers name it in
    ``X-Huike-Node``. Not a cookie: the widget
    runs on the shops' own sites, where a cookie of Huike's is a third-party cookie that
    browsers drop, and sending one would need credentialed CORS.

    ``TRUSTED_PROXIES``: every request arrives from the proxy, so without this all visitors
    would share one address and one allowance of every per-address limit.
    """
    proxies = app.config["TRUSTED_PROXIES"]
    if proxies:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies)
    node = app.config["NODE_NAME"]
    if node:
        if not NODE_NAME.fullmatch(node):
            raise ValueError(f"HUIKE_NODE must be 1-16 lowercase letters or digits, not {node!r}")
        engine_io = socket_server.eio
        generate = engine_io.generate_id
        engine_io.generate_id = lambda: f"{node}.{generate()}"

        @app.after_request
        def _say_which_worker(response: Response) -> Response:
            response.headers["X-Huike-Node"] = node  # which worker answered, for operators
            return response
