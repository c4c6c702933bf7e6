"""The installable console over HTTP: the manifest in both languages with icons that are what
it says, the service worker served from the root and never stale, the offline page; nothing
of a shop in any of them."""

from __future__ import annotations

import json
import re
import struct
from pathlib import Path

import pytest

from ..conftest import login

CSS = Path(__file__).parents[2] / "app" / "static" / "huike.css"


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height from a PNG's header (its IHDR chunk comes first)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def css_colour(name: str) -> str:
    return re.search(rf"--{name}:\s*(#[0-9a-f]{{6}})", CSS.read_text()).group(1)


@pytest.mark.parametrize(
    ("language", "name", "lang"),
    [("en", "Huike console", "en"), ("zh-CN,zh;q=0.9", "汇客 Huike 客服", "zh-CN")],
)
def test_the_manifest_says_what_an_installed_console_needs(client, language, name, lang):
    response = client.get("/manifest.webmanifest", headers={"Accept-Language": language})
    assert response.status_code == 200
    assert response.mimetype == "application/manifest+json"
    manifest = response.get_json()
    assert (manifest["name"], manifest["lang"], manifest["dir"]) == (name, lang, "ltr")
    assert manifest["short_name"] in ("Huike", "汇客")
    assert manifest["id"] == manifest["start_url"] == "/console/conversations"
    assert (manifest["scope"], manifest["display"]) == ("/", "standalone")
    assert manifest["theme_color"] == css_colour("brand")
    assert manifest["background_color"] == css_colour("bg")

    icons = {(icon["purpose"], icon["sizes"]): icon for icon in manifest["icons"]}
    assert set(icons) == {(p, s) for p in ("any", "maskable") for s in ("192x192", "512x512")}
    for (_purpose, sizes), icon in icons.items():
        image = client.get(icon["src"])
        assert image.status_code == 200 and image.mimetype == icon["type"] == "image/png"
        width, height = png_size(image.data)
        assert f"{width}x{height}" == sizes


def test_every_page_links_the_manifest_and_only_signed_in_pages_register_the_worker(
    client, two_tenants
):
    public = client.get("/login", headers={"Accept-Language": "en"}).get_data(True)
    assert 'rel="manifest" href="/manifest.webmanifest"' in public
    assert f'name="theme-color" content="{css_colour("brand")}"' in public
    touch = re.search(r'rel="apple-touch-icon" href="([^"]+)"', public).group(1)
    assert png_size(client.get(touch).data) == (180, 180)
    assert "serviceWorker" not in public

    login(client, two_tenants.a.agent)
    console = client.get("/console/conversations").get_data(True)
    assert 'navigator.serviceWorker?.register("/sw.js")' in console


def boot(script: str) -> dict:
    """What the server told the worker: the JSON inlined on its BOOT line."""
    return json.loads(re.search(r"^const BOOT = (.*);$", script, re.M).group(1))


def test_the_worker_is_served_from_the_root_never_stale_and_keeps_only_the_shell(client):
    response = client.get("/sw.js", headers={"Accept-Language": "en"})
    assert response.status_code == 200
    assert response.mimetype == "text/javascript"
    assert response.headers["Cache-Control"] == "no-cache"
    config = boot(response.get_data(True))
    assert "/static/console/js/chat.js" in config["shell"]
    assert "/static/vendor/socket.io.min.js" in config["shell"]
    assert "/static/icons/icon-192.png" in config["shell"]
    # only static files: never a page with data, an API answer, an upload
    assert all(url.startswith("/static/") for url in config["shell"])
    for url in config["shell"]:
        assert client.get(url).status_code == 200, url
    assert config["offline"] == "/offline"
    assert config["fallback"]["title"] == "New activity in Huike"
    assert config["fallback"]["url"] == "/console/"

    zh = boot(client.get("/sw.js", headers={"Accept-Language": "zh-CN"}).get_data(True))
    assert zh["fallback"]["title"] == "汇客有新动态"
    assert zh["cache"] != config["cache"]  # the offline page in the cache is in one language


def test_a_changed_shell_file_renames_the_cache(client, app, tmp_path, monkeypatch):
    static = tmp_path / "static"
    (static / "console" / "js").mkdir(parents=True)
    (static / "huike.css").write_text("body { color: black }")
    (static / "console" / "js" / "chat.js").write_text("export {};")
    monkeypatch.setattr(app, "static_folder", str(static))
    first = boot(client.get("/sw.js").get_data(True))
    assert set(first["shell"]) == {"/static/huike.css", "/static/console/js/chat.js"}
    assert boot(client.get("/sw.js").get_data(True))["cache"] == first["cache"]

    (static / "console" / "js" / "chat.js").write_text("export const x = 1;")
    assert boot(client.get("/sw.js").get_data(True))["cache"] != first["cache"]


@pytest.mark.parametrize(
    ("language", "heading"),
    [("en", "The console is offline"), ("zh-CN", "客服台已离线")],
)
def test_the_offline_page_says_so_and_needs_no_socket(client, language, heading):
    response = client.get("/offline", headers={"Accept-Language": language})
    assert response.status_code == 200
    page = response.get_data(True)
    assert heading in page
    assert "socket.io" not in page and "/healthz" in page


def test_nothing_of_a_shop_in_what_the_worker_keeps_or_the_manifest(client, two_tenants):
    """The worker's script, its offline page and the manifest are the same for every shop."""
    seen = []
    for shop in (two_tenants.a, two_tenants.b):
        login(client, shop.agent)
        client.post("/language", data={"lang": "en"})
        answers = [client.get(p).get_data(True) for p in ("/sw.js", "/offline")]
        answers.append(client.get("/manifest.webmanifest").get_data(True))
        for text in answers:
            assert shop.tenant.name not in text and shop.tenant.site_key not in text
            assert shop.agent.user.email not in text
        seen.append(answers)
        client.post("/logout")
    assert seen[0] == seen[1]
