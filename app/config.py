"""Configuration from environment variables, with defaults that run a try-out on one machine."""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

INSTANCE_DIR = Path(
    os.environ.get("HUIKE_INSTANCE", Path(__file__).resolve().parent.parent / "instance")
)
LANGUAGES = ("zh_CN", "en")


def _persistent_secret(instance: Path) -> str:
    """A try-out keeps one generated key in the instance folder, so sessions survive restarts."""
    path = instance / "secret_key"
    if not path.exists():
        instance.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


def _flood_limits(raw: str | None) -> dict[str, str] | None:
    """``FLOOD_LIMITS='{"message": "100/second"}'`` overrides some of app.chat.flood's limits."""
    if not raw:
        return None
    from app.chat.flood import DEFAULT_LIMITS

    overrides = json.loads(raw)
    if not isinstance(overrides, dict):
        raise ValueError('FLOOD_LIMITS must be a JSON object, e.g. {"connect": "100/minute"}')
    return {**DEFAULT_LIMITS, **{str(k): str(v) for k, v in overrides.items()}}


def platform_database_url(database_url: str, platform_role: str) -> str:
    """Where platform code (``cross_tenant()``) connects when PLATFORM_DATABASE_URL is unset.

    SQLite has no roles: the same file. PostgreSQL: DATABASE_URL as the platform role, without
    its password (the app role's is not the platform's: libpq finds one in PGPASSWORD or
    ~/.pgpass, or the server trusts the host). Production sets PLATFORM_DATABASE_URL.
    """
    if not database_url.startswith(("postgresql", "postgres:")):
        return database_url
    from sqlalchemy.engine import make_url

    url = make_url(database_url).set(username=platform_role, password=None)
    return url.render_as_string(hide_password=False)


def from_env(env: dict[str, str] | None = None) -> dict:
    env = dict(os.environ if env is None else env)
    instance = Path(env.get("HUIKE_INSTANCE", INSTANCE_DIR))
    database_url = env.get("DATABASE_URL") or f"sqlite:///{instance / 'huike.db'}"
    redis_url = env.get("REDIS_URL") or None
    platform_role = env.get("DB_PLATFORM_ROLE") or "huike_platform"
    return {
        "SECRET_KEY": env.get("SECRET_KEY") or _persistent_secret(instance),
        "INSTANCE_DIR": str(instance),
        "DATABASE_URL": database_url,
        # Migrations run as the tables' owner; the app connects as a role row security applies to.
        "MIGRATIONS_DATABASE_URL": env.get("MIGRATIONS_DATABASE_URL") or database_url,
        "DB_APP_ROLE": env.get("DB_APP_ROLE", "huike_app"),
        # Platform code (back office, signup, logins, webhooks) connects as its own role, the
        # only one whose row security honours cross_tenant() (tenants/rls.py).
        "DB_PLATFORM_ROLE": platform_role,
        "PLATFORM_DATABASE_URL": env.get("PLATFORM_DATABASE_URL")
        or platform_database_url(database_url, platform_role),
        "REDIS_URL": redis_url,
        "ASYNC_MODE": env.get("ASYNC_MODE", "eventlet"),
        # Behind a load balancer: this worker's name, which starts its Socket.IO session ids
        # (the proxy's sticky routing, deploy/nginx.conf), and how many proxies in front of it
        # to believe about the client's address and scheme (X-Forwarded-For / -Proto).
        "NODE_NAME": env.get("HUIKE_NODE") or None,
        "TRUSTED_PROXIES": int(env.get("TRUSTED_PROXIES") or 0),
        "BASE_URL": (env.get("BASE_URL") or "").rstrip("/") or None,
        "SMTP_URL": env.get("SMTP_URL") or None,
        "MAIL_FROM": env.get("MAIL_FROM", "Huike <no-reply@huike.local>"),
        # where shops write for help: the billing, upgrade and suspension pages name it
        "SUPPORT_EMAIL": env.get("SUPPORT_EMAIL") or "support@huike.local",
        "OUTBOX_DIR": env.get("OUTBOX_DIR") or str(instance / "outbox"),
        "SMTP_TIMEOUT": float(env.get("SMTP_TIMEOUT", 20)),  # a job waits, never a request
        # Background jobs (tenants/jobs.py): with REDIS_URL a `huike jobs` worker runs them.
        "JOB_THREADS": int(env.get("JOB_THREADS", 4)),
        # A killed worker's messages go to another after this long without its heartbeat.
        "JOBS_HEARTBEAT_SECONDS": float(env.get("JOBS_HEARTBEAT_SECONDS", 15)),
        # A failed job is retried after this, doubling up to the maximum.
        "JOB_RETRY_MIN_SECONDS": float(env.get("JOB_RETRY_MIN_SECONDS", 10)),
        "JOB_RETRY_MAX_SECONDS": float(env.get("JOB_RETRY_MAX_SECONDS", 3600)),
        # The outbox (tenants/outbox.py): attempts before a row is given up (~1 day), and how
        # long past its due time a row waits before the sweeper queues it again.
        "OUTBOX_MAX_ATTEMPTS": int(env.get("OUTBOX_MAX_ATTEMPTS", 30)),
        "OUTBOX_GRACE_SECONDS": float(env.get("OUTBOX_GRACE_SECONDS", 300)),
        "OUTBOX_SWEEP_SECONDS": float(env.get("OUTBOX_SWEEP_SECONDS", 60)),
        "RATELIMIT_STORAGE_URI": redis_url or "memory://",
        "FLOOD_LIMITS": _flood_limits(env.get("FLOOD_LIMITS")),
        "RATELIMIT_HEADERS_ENABLED": True,
        # the largest upload (a 10 MB chat file, a 5 MB CSV) with room for the form around it
        "MAX_CONTENT_LENGTH": 16 * 1024 * 1024,
        "LOGIN_RATE_LIMIT": env.get("LOGIN_RATE_LIMIT", "10 per minute"),
        "SIGNUP_RATE_LIMIT": env.get("SIGNUP_RATE_LIMIT", "20 per hour"),
        "API_RATE_LIMIT": env.get("API_RATE_LIMIT", "120 per minute"),  # per API key
        # per API key, for POST /api/v1/robot/answer alone (its questions come as chats do)
        "API_ASK_RATE_LIMIT": env.get("API_ASK_RATE_LIMIT", "6000 per minute"),
        "PASSWORD_RESET_MAX_AGE": int(env.get("PASSWORD_RESET_MAX_AGE", 3600)),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": env.get("SESSION_COOKIE_SECURE", "") == "1",
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "WTF_CSRF_TIME_LIMIT": None,  # valid for the session; a shift is long
        "BABEL_DEFAULT_LOCALE": "zh_CN",
        "BABEL_DEFAULT_TIMEZONE": "UTC",
        "STRIPE_SECRET_KEY": env.get("STRIPE_SECRET_KEY") or None,
        "STRIPE_WEBHOOK_SECRET": env.get("STRIPE_WEBHOOK_SECRET") or None,
        "STRIPE_API_BASE": env.get("STRIPE_API_BASE") or None,  # tests: a local server
        # Fernet keys (comma-separated, newest first) that encrypt shops' provider secrets at
        # rest; unset, a key derived from SECRET_KEY (a try-out). Old keys keep decrypting.
        "ENCRYPTION_KEYS": [k for k in (env.get("ENCRYPTION_KEYS") or "").split(",") if k],
        "TWILIO_API_BASE": env.get("TWILIO_API_BASE") or None,  # tests: a local server
        # A call still ringing this long with no end event is swept to missed.
        "CALL_RINGING_TIMEOUT_SECONDS": float(env.get("CALL_RINGING_TIMEOUT_SECONDS", 60)),
        "CALL_SWEEP_SECONDS": float(env.get("CALL_SWEEP_SECONDS", 15)),
        # Twilio: how long an inbound call rings the agents' phones before "nobody is free"
        "CALL_DIAL_TIMEOUT_SECONDS": int(env.get("CALL_DIAL_TIMEOUT_SECONDS", 25)),
        # A recording's download (a job): the whole fetch's deadline, and the largest file kept
        "CALL_RECORDING_TIMEOUT_SECONDS": float(env.get("CALL_RECORDING_TIMEOUT_SECONDS", 60)),
        "CALL_RECORDING_MAX_BYTES": int(env.get("CALL_RECORDING_MAX_BYTES", 64 * 1024 * 1024)),
        # How often the clock looks for tasks that became due, to tell their assignees.
        "CALL_TASKS_DUE_SECONDS": float(env.get("CALL_TASKS_DUE_SECONDS", 30)),
        "BILLING_GRACE_DAYS": int(env.get("BILLING_GRACE_DAYS", 7)),
        "AGENT_HEARTBEAT_SECONDS": int(env.get("AGENT_HEARTBEAT_SECONDS", 30)),
        # How often the clock looks for idle chats to close and unanswered ones to mail about.
        "CHAT_IDLE_CHECK_SECONDS": float(env.get("CHAT_IDLE_CHECK_SECONDS", 60)),
        # Analytics: how often the marked days are rolled up, and how many recent local days
        # the nightly pass recomputes (late orders, merged customers).
        "ANALYTICS_ROLL_SECONDS": float(env.get("ANALYTICS_ROLL_SECONDS", 5)),
        "ANALYTICS_RECOMPUTE_DAYS": int(env.get("ANALYTICS_RECOMPUTE_DAYS", 35)),
        # Raw page views older than this are deleted (visits keep their first touch for good).
        "PAGE_VIEW_RETENTION_DAYS": int(env.get("PAGE_VIEW_RETENTION_DAYS", 90)),
        # Web Push: the VAPID private key (PEM or base64url; without it one is made once in the
        # instance folder), the contact the push services see, and how long a conversation's
        # notices are folded into one after a notice went out.
        "VAPID_PRIVATE_KEY": env.get("VAPID_PRIVATE_KEY") or None,
        "VAPID_SUBJECT": env.get("VAPID_SUBJECT") or None,
        "PUSH_COLLAPSE_SECONDS": float(env.get("PUSH_COLLAPSE_SECONDS", 60)),
        "LOG_LEVEL": env.get("LOG_LEVEL", "INFO"),
        "LOG_JSON": env.get("LOG_JSON", "1") == "1",
    }
