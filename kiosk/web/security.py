"""The security both web apps apply to every answer, and the small checks
around logging in.

- `CSP`: scripts, styles, images and media only from the app itself; no
  inline code, no CDN, no framing, forms post only to the app.
- `install_headers(app)`: the CSP and the other headers on every response,
  HSTS over HTTPS, and "no-store" on everything but the static files.
- `secret_key(path)`: the Flask session key kept in a file (mode 0600),
  written once even when several gunicorn workers start together.
- `safe_next(target, default)`: a redirect after login stays on this site.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from urllib.parse import urlsplit

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "media-src 'self' blob:; connect-src 'self'; font-src 'self'; object-src 'none'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)

# Answers that may be cached: the shared stylesheet, script and icons.
CACHEABLE_ENDPOINTS = frozenset({"static", "health.favicon"})


def csp(img_sources=()) -> str:
    """`CSP`, also allowing images from `img_sources` (origins such as
    https://tiles.example.vn: central's optional map tile server)."""
    extra = " ".join(s for s in img_sources if s)
    return CSP.replace("img-src 'self' data: blob:", f"img-src 'self' data: blob: {extra}") if extra else CSP


def install_headers(app, cacheable=CACHEABLE_ENDPOINTS, applies=lambda request: True,
                    img_sources=()) -> None:
    """Add the security headers to every answer of `app` for which
    `applies(request)` (central leaves its signed files and gate API alone)."""
    from flask import request

    policy = csp(img_sources)

    @app.after_request
    def _headers(resp):
        if not applies(request):
            return resp
        resp.headers["Content-Security-Policy"] = policy
        resp.headers["X-Frame-Options"] = "DENY"
        resp.headers["X-Content-Type-Options"] = "nosniff"
        resp.headers["Referrer-Policy"] = "same-origin"
        resp.headers["Cross-Origin-Opener-Policy"] = "same-origin"
        resp.headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=()"
        if request.is_secure:
            # Browsers that saw the app over HTTPS never try plain HTTP again.
            resp.headers["Strict-Transport-Security"] = "max-age=31536000"
        if request.endpoint in cacheable:
            resp.headers["Cache-Control"] = "public, max-age=3600"
        else:
            resp.headers["Cache-Control"] = "no-store"
        return resp


def secret_key(path: Path) -> str:
    """A random session key kept in `path` (mode 0600).

    Several gunicorn workers may start at once: the key is written to a
    temporary file and linked into place, so exactly one key wins and every
    worker reads that one.
    """
    path = Path(path)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(32))
            f.flush()
            os.fsync(f.fileno())
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass
        finally:
            tmp.unlink(missing_ok=True)
    return path.read_text().strip()


def safe_next(target: str | None, default: str) -> str:
    """Only local paths: a crafted ?next= must not send the user elsewhere."""
    if (target and target.startswith("/") and not target.startswith("//")
            and "\\" not in target and not urlsplit(target).netloc):
        return target
    return default
