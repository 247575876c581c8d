"""The rules of accounts both web apps follow; each app stores its own rows.

- Passwords: at least MIN_PASSWORD characters, hashed with werkzeug's scrypt;
  a wrong user name costs the same time as a wrong password (`verify` checks
  against a dummy hash), so names cannot be found by timing.
- Login throttling: failures are counted per user name and per client
  address; from the third the next try waits 2, 4, 8 ... s, at the limit the
  key is locked for the lockout time (`delay_after`).
- Server-side sessions: the signed cookie carries only a random token; the
  server keeps its sha256 (`new_session_token`, `token_hash`) with the user,
  the account's epoch and the expiry. Logging out, a password or role change,
  disabling, or "sign out everywhere" revoke rows (or bump the epoch), so a
  copied cookie stops working at once.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import datetime

from werkzeug.security import check_password_hash, generate_password_hash

MIN_PASSWORD = 10
MAX_PASSWORD = 256
# werkzeug's scrypt (N=2^15): about 0.2 s per login on a Pi-class CPU.
PASSWORD_METHOD = "scrypt"
USERNAME_RE = re.compile(r"^[A-Za-z0-9_.@-]{2,64}$")
_DUMMY_HASH = generate_password_hash("not a password of anyone", PASSWORD_METHOD)
# A session's last_seen_at is written at most this often.
TOUCH_EVERY_S = 60


def password_problem(password) -> str | None:
    """Why a new password is refused, in the reader's language; None if fine."""
    from flask_babel import gettext as _

    if not isinstance(password, str) or len(password) < MIN_PASSWORD:
        return _("The password must have at least %(n)d characters.", n=MIN_PASSWORD)
    if len(password) > MAX_PASSWORD or "\x00" in password:
        return _("The password is too long or contains invalid characters.")
    return None


def username_problem(username) -> str | None:
    from flask_babel import gettext as _

    if not isinstance(username, str) or not USERNAME_RE.match(username):
        return _("A user name has 2-64 letters, digits or . _ @ -, without spaces.")
    return None


def hash_password(password: str) -> str:
    return generate_password_hash(password, PASSWORD_METHOD)


def verify(password_hash: str | None, password) -> bool:
    """Whether `password` matches; a missing account (None) still costs a hash."""
    password = (password or "")[:MAX_PASSWORD] if isinstance(password, str) else ""
    ok = check_password_hash(password_hash or _DUMMY_HASH, password)
    return ok and password_hash is not None


def random_password() -> str:
    """A one-time password for a new or reset account (about 100 bits)."""
    return secrets.token_urlsafe(16)


# ---- login throttling ---------------------------------------------------------
def throttle_keys(username: str, client: str) -> list[str]:
    return ["user:" + (username or "").strip().lower()[:64], "ip:" + (client or "?")]


def delay_after(failures: int, max_failures: int, lockout_s: float) -> float:
    """Seconds the next try must wait after `failures` failures in a row."""
    if failures >= max_failures:
        return float(lockout_s)
    if failures >= 3:
        return float(min(2 ** (failures - 2), lockout_s))
    return 0.0


def wait_message(seconds: float) -> str:
    from flask_babel import gettext as _

    return _("Too many failed logins. Try again in %(s)d seconds.", s=int(seconds) + 1)


def wrong_login_message() -> str:
    from flask_babel import gettext as _

    return _("Wrong user name or password.")


# ---- server-side sessions --------------------------------------------------------
def new_session_token() -> str:
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


def needs_touch(last_seen: datetime | None, now: datetime) -> bool:
    """Whether a live session's last_seen_at is old enough to write again."""
    return last_seen is None or (now - last_seen).total_seconds() > TOUCH_EVERY_S
