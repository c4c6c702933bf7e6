"""Shops' provider secrets (a PBX's signing secret, Twilio's auth token), encrypted at rest.

Fernet with the keys of ``ENCRYPTION_KEYS`` (newest first; older keys keep decrypting, so the
key can be rotated: ``huike reencrypt-secrets`` moves every stored secret to the newest); a
try-out without it derives one from ``SECRET_KEY``, which keeps decrypting after a key is set.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping

from cryptography.fernet import Fernet, MultiFernet
from flask import current_app


def _cipher(config: Mapping | None) -> MultiFernet:
    config = current_app.config if config is None else config
    digest = hashlib.sha256(b"huike-secrets:" + config["SECRET_KEY"].encode())
    derived = base64.urlsafe_b64encode(digest.digest()).decode()
    # the derived key last: what a try-out stored before ENCRYPTION_KEYS was set still reads
    keys = [*config["ENCRYPTION_KEYS"], derived]
    return MultiFernet([Fernet(key) for key in keys])


def encrypt(secret: str, config: Mapping | None = None) -> str:
    """``config``: the app's (default: the current app's)."""
    return _cipher(config).encrypt(secret.encode()).decode()


def decrypt(stored: str | None, config: Mapping | None = None) -> str:
    return _cipher(config).decrypt(stored.encode()).decode() if stored else ""


def reencrypted(stored: str, config: Mapping | None = None) -> str:
    """``stored`` encrypted again with the newest key (MultiFernet.rotate), so the older keys of
    ``ENCRYPTION_KEYS`` can be dropped."""
    return _cipher(config).rotate(stored.encode()).decode()


def masked(secret: str) -> str:
    """What a page shows of a secret: enough to tell which one it is."""
    return f"••••{secret[-4:]}" if len(secret) > 8 else "••••"
