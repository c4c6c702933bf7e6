"""The instance's VAPID key pair: browsers bind a subscription to its public key, and every
push is signed with the private one. From ``VAPID_PRIVATE_KEY`` (PEM or base64url), else made
once into the instance folder (first writer wins: workers starting together agree)."""

from __future__ import annotations

import base64
import os
from pathlib import Path

from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from flask import current_app
from py_vapid import Vapid, Vapid01

EXTENSION = "huike_vapid"
KEY_FILE = "vapid_private.pem"


def vapid() -> Vapid01:
    app = current_app._get_current_object()
    if EXTENSION not in app.extensions:
        app.extensions[EXTENSION] = _load(app.config)
    return app.extensions[EXTENSION]


def public_key() -> str:
    """The applicationServerKey a browser subscribes with (base64url, uncompressed point)."""
    raw = vapid().public_key.public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def subject() -> str:
    """The contact push services may write to about our pushes (RFC 8292)."""
    config = current_app.config
    if config["VAPID_SUBJECT"]:
        return config["VAPID_SUBJECT"]
    return config["BASE_URL"] or "mailto:" + config["MAIL_FROM"].rpartition("<")[2].rstrip(">")


def _load(config) -> Vapid01:
    if config["VAPID_PRIVATE_KEY"]:
        return Vapid.from_string(config["VAPID_PRIVATE_KEY"])
    path = Path(config["INSTANCE_DIR"]) / KEY_FILE
    if not path.exists():
        made = Vapid()
        made.generate_keys()
        path.parent.mkdir(parents=True, exist_ok=True)
        draft = path.with_name(f"{KEY_FILE}.{os.getpid()}")
        draft.write_bytes(made.private_pem())
        draft.chmod(0o600)
        try:
            os.link(draft, path)  # whole or not at all; another worker's key, if first, stays
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    return Vapid.from_file(str(path))
