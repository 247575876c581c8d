"""The product as provisioning installs it: the wheel built from this checkout,
installed (not editable) into a fresh virtualenv, its admin under gunicorn and
its central console serving every asset their pages reference."""

from __future__ import annotations

import base64
import http.cookiejar
import os
import re
import socket
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from html.parser import HTMLParser
from pathlib import Path

import pytest

from tests.support.ansible import build_wheel, copy_source, wheelhouse
from tests.support.wait import wait_for

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
ASSETS = sorted(p.name for p in (ROOT / "static").iterdir() if p.is_file())


class References(HTMLParser):
    """What a page makes the browser fetch (stylesheets, scripts, images) and
    where its links lead."""

    def __init__(self):
        super().__init__()
        self.assets: set[str] = set()
        self.links: set[str] = set()

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "link" and a.get("href"):
            self.assets.add(a["href"])
        elif tag in ("script", "img") and a.get("src"):
            self.assets.add(a["src"])
        elif tag == "a" and a.get("href"):
            self.links.add(a["href"])


def _refs(html: str) -> References:
    r = References()
    r.feed(html)
    return r


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """A virtualenv with only the release wheel and its dependencies in it."""
    tmp = tmp_path_factory.mktemp("wheel")
    wheel = build_wheel(copy_source(tmp / "src"), tmp / "dist")
    names = zipfile.ZipFile(wheel).namelist()
    for asset in ASSETS:
        assert f"gatecast_static/{asset}" in names, f"the wheel lacks static/{asset}"
    # The page layout and login both apps extend (kiosk.web.pages.use_shared_templates).
    for template in ("page.html", "login.html", "macros.html"):
        assert f"kiosk/web/templates/web/{template}" in names, f"the wheel lacks {template}"
    # `gatecast power status` in the gate's language (kiosk/power/cli.py).
    assert "kiosk/power/translations/vi/LC_MESSAGES/messages.po" in names
    assert "kiosk/text/translations/vi/LC_MESSAGES/messages.po" in names  # gatecast notice
    assert "kiosk/player/translations/vi/LC_MESSAGES/messages.po" in names  # gatecast faces
    assert "kiosk/translations/vi/LC_MESSAGES/messages.po" in names  # every gate command
    venv = tmp / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    # Offline from a wheelhouse, as the gates install (the wheelhouse is cached per deps).
    subprocess.run([str(venv / "bin" / "pip"), "install", "-q", "--no-index", "--find-links",
                    str(wheelhouse(wheel)), str(wheel)], check=True, timeout=900)
    where = subprocess.run([str(venv / "bin" / "python"), "-c",
                            "import kiosk.webassets as w; print(w.__file__); print(w.static_folder())"],
                           capture_output=True, text=True, check=True, cwd=tmp).stdout.split()
    assert all(str(venv) in p for p in where), where  # not this checkout
    return venv


def _env() -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GATECAST_")}
    env.pop("PYTHONPATH", None)
    return env


def _serve(argv, cwd: Path, log: Path, health_url: str) -> subprocess.Popen:
    with open(log, "wb") as out:
        proc = subprocess.Popen(argv, cwd=cwd, env=_env(), stdout=out, stderr=subprocess.STDOUT)

    def up():
        if proc.poll() is not None:
            raise AssertionError(f"{argv[1]} exited: {log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(health_url, timeout=5) as r:
                return r.status == 200
        except OSError:
            return False

    wait_for(up, 120, f"{argv[1]} to answer")
    return proc


def _stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


def _fetch_assets(opener, base: str, assets: set[str], headers: dict | None = None) -> dict:
    fetched = {}
    for ref in sorted(assets):
        url = urllib.parse.urljoin(base, ref)
        assert url.startswith(base), f"an asset from elsewhere (no CDN): {ref}"
        with opener.open(urllib.request.Request(url, headers=headers or {}), timeout=30) as r:
            body = r.read()
            assert r.status == 200 and body, url
            fetched[urllib.parse.urlsplit(url).path] = (r.headers["Content-Type"], body)
    return fetched


def test_the_installed_admin_serves_every_asset_its_pages_reference(installed, tmp_path):
    gatecast = str(installed / "bin" / "gatecast")
    state = tmp_path / "state"
    # As provisioning does: commands refuse a state folder without a database.
    subprocess.run([gatecast, "migrate", "--state", str(state)], check=True, timeout=120, env=_env(),
                   cwd=tmp_path, capture_output=True)
    subprocess.run([gatecast, "admin", "--state", str(state), "create-user", "--username", "chief"],
                   input="wheel-test-password\n", text=True, check=True, timeout=120, env=_env(),
                   cwd=tmp_path, capture_output=True)
    port = _free_port()
    base = f"http://127.0.0.1:{port}/"
    admin = _serve([gatecast, "admin", "--state", str(state), "--bind", f"127.0.0.1:{port}",
                    "--workers", "1"], tmp_path, tmp_path / "admin.log", base + "health")
    try:
        opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        with opener.open(base + "login", timeout=30) as r:
            login = r.read().decode()
        assets = _refs(login).assets
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', login).group(1)
        form = urllib.parse.urlencode({"username": "chief", "password": "wheel-test-password",
                                       "csrf_token": token}).encode()
        with opener.open(base + "login", data=form, timeout=30) as r:
            dashboard = r.read().decode()
        assert "/login" not in r.geturl(), "login failed"
        # Every page the navigation leads to, and what each of them references.
        pages = {urllib.parse.urljoin(base, h) for h in _refs(dashboard).links}
        pages = {p for p in pages if p.startswith(base) and "/static/" not in p}
        assert len(pages) >= 5, pages
        for page in sorted(pages):
            with opener.open(page, timeout=30) as r:
                assets |= _refs(r.read().decode()).assets
        fetched = _fetch_assets(opener, base, assets)
    finally:
        _stop(admin)
    assert {"/static/app.css", "/static/app.js", "/static/no-screenshot.svg"} <= set(fetched), fetched
    assert fetched["/static/app.css"] == ("text/css; charset=utf-8", (ROOT / "static" / "app.css").read_bytes())
    assert fetched["/static/app.js"][1] == (ROOT / "static" / "app.js").read_bytes()
    assert fetched["/static/no-screenshot.svg"][0].startswith("image/svg+xml")


def test_the_installed_central_console_serves_the_same_assets(installed, tmp_path):
    gatecast = str(installed / "bin" / "gatecast")
    state = tmp_path / "central"

    def run(*args):
        return subprocess.run([gatecast, "central", *args, "--state", str(state)], check=True,
                              capture_output=True, text=True, timeout=300, env=_env(),
                              cwd=tmp_path).stdout

    run("init", "--offline-keys", str(tmp_path / "offline-keys"))
    token = run("user", "add", "lan", "--role", "viewer").strip().splitlines()[-1]
    port = _free_port()
    base = f"http://127.0.0.1:{port}/"
    server = _serve([gatecast, "central", "serve", "--state", str(state), "--bind",
                     f"127.0.0.1:{port}", "--workers", "1", "--threads", "4"],
                    tmp_path, tmp_path / "central.log", base + "healthz")
    try:
        auth = {"Authorization": "Basic " + base64.b64encode(f"lan:{token}".encode()).decode()}
        opener = urllib.request.build_opener()
        with opener.open(urllib.request.Request(base, headers=auth), timeout=30) as r:
            overview = r.read().decode()
        assets = _refs(overview).assets
        assert {"/static/app.css", "/static/app.js"} <= assets, assets
        fetched = _fetch_assets(opener, base, assets, auth)
    finally:
        _stop(server)
    assert fetched["/static/app.css"][1] == (ROOT / "static" / "app.css").read_bytes()
