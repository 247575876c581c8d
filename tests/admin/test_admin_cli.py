"""`gatecast admin create-user`: what Ansible and a technician on the controller run."""

from __future__ import annotations

from pathlib import Path

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


def test_reset_password_keeps_the_role(runner, state_dir):
    base = ["admin", "create-user", "--state", str(state_dir), "--username", "an"]
    assert runner.invoke(main, base + ["--role", "operator"], input="first-password-1\n").exit_code == 0
    result = runner.invoke(main, base + ["--reset-password"], input="second-password-2\n")
    assert result.exit_code == 0, result.output
    assert _users(state_dir)["an"]["role"] == "operator" and "role operator" in result.output


def test_unknown_time_zone_fails_the_check_not_later_with_a_traceback(runner, state_dir, tmp_path):
    cfg = tmp_path / "mars.toml"
    cfg.write_text('timezone = "Mars/Base"\n')
    check = runner.invoke(main, ["settings", "--check", "--config", str(cfg), "--state", "/nonexistent"])
    assert check.exit_code == 1 and "unknown time zone 'Mars/Base'" in check.output
    status = runner.invoke(main, ["power", "status", "--config", str(cfg), "--state", str(state_dir)])
    assert status.exit_code == 1 and "unknown time zone" in status.output
    assert not isinstance(status.exception, LookupError)  # a clean error, no traceback


def test_a_mistyped_state_folder_is_refused_until_migrate(runner, tmp_path):
    missing = tmp_path / "does-not-exist"
    for command in (["power", "status"], ["player", "--for", "0"], ["notice", "list"],
                    ["admin", "create-user", "--username", "x"]):
        result = runner.invoke(main, [*command[:1], "--state", str(missing), *command[1:]]
                               if command[0] == "admin" else [*command, "--state", str(missing)],
                               input="long-enough-pw\n")
        assert result.exit_code == 1, (command, result.output)
        # In the gate's language (Vietnamese unless language = "en").
        assert "không có cơ sở dữ liệu gatecast trong" in result.output, result.output
        assert "gatecast migrate --state" in result.output
    english = tmp_path / "en.toml"
    english.write_text('language = "en"\n')
    result = runner.invoke(main, ["notice", "list", "--state", str(missing), "--config", str(english)])
    assert result.exit_code == 1 and "no gatecast database in" in result.output
    assert "(a mistyped --state?)" in result.output
    assert not missing.exists()  # nothing was created
    created = runner.invoke(main, ["migrate", "--state", str(missing)])
    assert created.exit_code == 0 and (missing / "gatecast.db").exists()
    assert "đã cập nhật" in created.output
    created = runner.invoke(main, ["migrate", "--state", str(missing), "--config", str(english)])
    assert "is up to date" in created.output
    assert runner.invoke(main, ["power", "status", "--state", str(missing)]).exit_code == 0


def test_central_cli_errors_name_ids_as_typed(runner, tmp_path):
    state = tmp_path / "central"
    init = runner.invoke(main, ["central", "init", "--offline-keys", str(tmp_path / "usb"), "--state", str(state)])
    assert init.exit_code == 0, init.output
    user = runner.invoke(main, ["central", "user", "add", "chi", "--role", "admin", "--state", str(state)])
    assert user.exit_code == 0, user.output
    chi = ["--as", "chi", "--token", user.output.split()[-1]]
    added = runner.invoke(main, ["central", "gate", "add", "huu-nghi", "--name", "Hữu Nghị", *chi, "--state", str(state)])
    assert added.exit_code == 0, added.output
    result = runner.invoke(main, ["central", "assign", "entry", "--gate", "huu-nghi", "--playlist",
                                  "nonexistent", *chi, "--state", str(state)])
    # Said in Vietnamese now (central.checks' playlist_unknown), the id as typed.
    assert result.exit_code == 1 and "“nonexistent”" in result.output, result.output
    assert "c-nonexistent" not in result.output


def test_every_gate_command_line_string_is_translated():
    """The catalogue areas of the gate's command line: core (kiosk/*.py), power,
    text (notice) and player (faces) each have their own tests; core's is here."""
    import subprocess
    import sys

    tool = Path(__file__).resolve().parents[2] / "scripts" / "admin_catalogues.py"
    r = subprocess.run([sys.executable, str(tool), "--check", "--area", "core"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
