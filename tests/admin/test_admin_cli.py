"""`gatecast admin create-user`: what Ansible and a technician on the controller run."""

from __future__ import annotations

from kiosk.cli import main
from kiosk.store import open_db


def _users(state):
    db = open_db(state / "gatecast.db")
    try:
        return {r["username"]: r for r in db.query("SELECT * FROM admin_user")}
    finally:
        db.close()


def test_create_user_from_stdin_then_idempotent_then_reset(runner, state_dir, tmp_path):
    args = ["admin", "create-user", "--state", str(state_dir), "--username", "chief"]
    result = runner.invoke(main, args, input="first-password-1\n")
    assert result.exit_code == 0, result.output
    first = _users(state_dir)["chief"]
    assert first["role"] == "admin" and "first-password-1" not in first["password_hash"]
    # Again: refused, unless --exists-ok (Ansible's second run changes nothing).
    result = runner.invoke(main, args, input="other-password-2\n")
    assert result.exit_code != 0 and "already exists" in result.output
    result = runner.invoke(main, args + ["--exists-ok"], input="")
    assert result.exit_code == 0 and _users(state_dir)["chief"]["password_hash"] == first["password_hash"]
    # A forgotten password: reset from a file, which also ends old sessions.
    pw = tmp_path / "pw"
    pw.write_text("second-password-2\n")
    result = runner.invoke(main, args + ["--reset-password", "--password-file", str(pw)])
    assert result.exit_code == 0, result.output
    after = _users(state_dir)["chief"]
    assert after["password_hash"] != first["password_hash"] and after["epoch"] == first["epoch"] + 1


def test_create_user_refuses_short_password_and_takes_group_state(runner, state_dir):
    result = runner.invoke(main, ["admin", "--state", str(state_dir), "create-user", "--username", "an",
                                  "--role", "operator"], input="short\n")
    assert result.exit_code != 0 and "at least 10" in result.output
    assert _users(state_dir) == {}
    result = runner.invoke(main, ["admin", "--state", str(state_dir), "create-user", "--username", "an",
                                  "--role", "operator"], input="long-enough-pw\n")
    assert result.exit_code == 0 and _users(state_dir)["an"]["role"] == "operator"
