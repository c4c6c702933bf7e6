"""The console as an installable app: the web app manifest, the service worker and the page it
shows when the server cannot be reached.

The service worker (``sw.js`` beside this file) is served from the root so that its scope is
the whole site; the server tells it what to keep — the console's shell, never data — and names
its cache after those files' contents, so a deploy that changes one of them replaces the cache.
"""

from __future__ import annotations

import functools
import hashlib
import json
from pathlib import Path

from flask import Blueprint, Response, current_app, jsonify, render_template, url_for
from flask_babel import gettext as _

from app import current_language

bp = Blueprint("pwa", __name__)
SOURCE = Path(__file__).with_name("sw.js")
OFFLINE_TEMPLATE = Path(__file__).parents[1] / "templates" / "offline.html"
# huike.css's --brand and --bg: the installed app's title bar and splash screen
THEME_COLOR, BACKGROUND_COLOR = "#1f6feb", "#f6f7fb"
# The console's look and code under static/, kept for a fast start and the offline page.
SHELL = (
    "huike.css",
    "favicon.svg",
    "icons/*.png",
    "vendor/socket.io.min.js",
    "console/*.css",
    "console/*.js",
    "console/js/*.js",
)


@bp.get("/manifest.webmanifest")
def manifest():
    icons = [
        {
            "src": url_for("static", filename=f"icons/{name}-{size}.png"),
            "sizes": f"{size}x{size}",
            "type": "image/png",
            "purpose": purpose,
        }
        for name, purpose in (("icon", "any"), ("maskable", "maskable"))
        for size in (192, 512)
    ]
    response = jsonify(
        id=url_for("chat.conversations"),
        name=_("Huike console"),
        short_name=_("Huike"),
        description=_("Answer your shop's visitors from anywhere."),
        lang="zh-CN" if current_language() == "zh_CN" else "en",
        dir="ltr",
        start_url=url_for("chat.conversations"),
        scope="/",
        display="standalone",
        theme_color=THEME_COLOR,
        background_color=BACKGROUND_COLOR,
        icons=icons,
    )
    response.mimetype = "application/manifest+json"
    return response


@bp.get("/sw.js")
def service_worker():
    shell, root = shell_files(), static_root()
    lang = "zh" if current_language() == "zh_CN" else "en"
    boot = {
        # the offline page and the fallback notification are in the agent's language: a change
        # of language is a new worker, with a cache of its own
        "cache": f"huike-shell-{lang}-{version(shell)}",
        "shell": [url_for("static", filename=f.relative_to(root).as_posix()) for f in shell],
        "offline": url_for("pwa.offline"),
        "icon": url_for("static", filename="icons/icon-192.png"),
        "badge": url_for("static", filename="icons/badge-96.png"),
        "fallback": {
            "title": _("New activity in Huike"),
            "body": _("Open the console to see it."),
            "tag": "huike",
            "url": url_for("console.home"),
        },
    }
    inlined = json.dumps(boot, ensure_ascii=False)
    code = SOURCE.read_text(encoding="utf-8").replace('"__HUIKE_SW__"', inlined, 1)
    # the browser compares the worker byte for byte on every check: never a stale copy
    return Response(code, mimetype="text/javascript", headers={"Cache-Control": "no-cache"})


@bp.get("/offline")
def offline():
    return render_template("offline.html")


def static_root() -> Path:
    return Path(current_app.static_folder)


def shell_files() -> list[Path]:
    root = static_root()
    return sorted({path for pattern in SHELL for path in root.glob(pattern) if path.is_file()})


def version(shell: list[Path]) -> str:
    """A digest of the shell's contents (and of the worker, the offline page and its
    translations), read again only when a file's size or modification time changed."""
    translations = Path(current_app.root_path, "translations").glob("*/LC_MESSAGES/*.mo")
    files = [*shell, SOURCE, OFFLINE_TEMPLATE, *sorted(translations)]
    return _digest(tuple((f, f.stat().st_mtime_ns, f.stat().st_size) for f in files))


@functools.lru_cache(maxsize=8)
def _digest(signature: tuple) -> str:
    digest = hashlib.sha256()
    for path, *_stat in signature:
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]
