"""The Audit log page: every action audited anywhere in central/ has words in
both languages (a scan of the audit( call sites, the CLI's included), who is
said in words (the server's shell is named as such), filters by person,
action, gate and days in the viewer's zone, pages, and never shows a raw
dict."""

from __future__ import annotations

import ast
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from tests.support.console import Console, make_user

CENTRAL = Path(__file__).resolve().parents[2] / "central"


def _strings(node) -> set[str]:
    return {n.value for n in ast.walk(node) if isinstance(n, ast.Constant)
            and isinstance(n.value, str)}


def _passed_to(tree, function: ast.FunctionDef, param: str) -> set[str]:
    """The strings every call of `function` in `tree` passes as `param`."""
    names = [a.arg for a in function.args.args]
    index = names.index(param) if param in names else 10**6  # else keyword-only
    found = set()
    for call in ast.walk(tree):
        if isinstance(call, ast.Call) and isinstance(call.func, ast.Name) \
                and call.func.id == function.name:
            arg = call.args[index] if len(call.args) > index else next(
                (kw.value for kw in call.keywords if kw.arg == param), None)
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                found.add(arg.value)
    return found


def audited_actions() -> set[str]:
    """Every action name passed to audit(conn, who, ACTION, ...) in central/."""
    from central.assign import ASSIGNMENT_TABLES

    found: set[str] = set()
    for path in sorted(CENTRAL.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        functions = [f for f in ast.walk(tree) if isinstance(f, ast.FunctionDef)]
        for call in ast.walk(tree):
            if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Name)
                    and call.func.id == "audit" and len(call.args) >= 3):
                continue
            arg = call.args[2]
            where = f"{path.relative_to(CENTRAL.parent)}:{call.lineno}"
            # The function the call sits in (the innermost one).
            around = min((f for f in functions if f.lineno <= call.lineno <= f.end_lineno),
                         key=lambda f: f.end_lineno - f.lineno, default=None)
            if isinstance(arg, ast.Constant):
                found.add(arg.value)
            elif isinstance(arg, ast.IfExp):
                found |= _strings(arg)
            elif isinstance(arg, ast.JoinedStr) and ast.unparse(arg) == "f'{table}.remove'":
                found |= {f"{table}.remove" for table in ASSIGNMENT_TABLES}
            elif (isinstance(arg, ast.Name) and around is not None
                  and arg.id in [a.arg for a in around.args.args + around.args.kwonlyargs]
                  and (passed := _passed_to(tree, around, arg.id))):
                found |= passed  # a parameter: what its callers pass
            else:  # a new shape: teach this scan, never skip it
                raise AssertionError(f"{where}: cannot read the audited action "
                                     f"{ast.unparse(arg)}")
    return found


def _catalogue(lang: str) -> dict[str, str]:
    from babel.messages.pofile import read_po

    path = CENTRAL / "translations" / lang / "LC_MESSAGES" / "messages.po"
    with open(path, "rb") as f:
        return {m.id: m.string for m in read_po(f, locale=lang) if m.id}


def test_every_audited_action_has_words_in_both_languages():
    from central.users import SERVER_ITSELF, SERVER_SHELL, audit_actions, audit_who

    actions = audited_actions()
    # The scan sees the CLI's, the variable's, the f-string's and the conditional's.
    assert {"key.rotate", "repository.init", "repository.prune", "user.password_reset",
            "notice.remove", "publication.reject", "gate.add", "publish",
            "playlist.move"} <= actions
    words = audit_actions()  # outside a request: the English msgids
    vi, en = _catalogue("vi"), _catalogue("en")
    missing = sorted(a for a in actions if a not in words)
    assert not missing, f"audited without words in central.users.audit_actions: {missing}"
    for action in actions:
        assert vi.get(words[action]) and vi[words[action]] != words[action], action
        assert en.get(words[action]), action
    for who in (SERVER_SHELL, SERVER_ITSELF):
        assert audit_who(who) != who and vi.get(audit_who(who))


def _at(db, when: datetime, who: str, action: str, subject: str, detail: str = "{}"):
    from sqlalchemy import insert

    from central import schema as t
    from central.db import transaction

    with transaction(db, write=True) as conn:
        conn.execute(insert(t.audit).values(at=when.isoformat(timespec="milliseconds"),
                                            who=who, action=action, subject=subject,
                                            detail=detail))


def test_the_audit_log_page_filters_pages_and_says_everything_in_words(central, console_app,
                                                                       runner):
    from kiosk.cli import main

    from central.fleet import add_gate
    from central.publish import publish

    make_user(central.db, "chi", "admin")
    make_user(central.db, "minh", "editor")
    add_gate(central.db, "huu-nghi", "Hữu Nghị", by="chi")
    publish(central.db, central.repo, by="chi", gates=["huu-nghi"])
    config = central.state_dir.parent / f"{central.state_dir.name}.toml"
    out = runner.invoke(main, ["central", "rotate-key", "timestamp", "--state",
                               str(central.state_dir), "--config", str(config)])
    assert out.exit_code == 0, out.output
    # 01:30 on 30/11 in Hà Nội is 18:30 on 29/11 in UTC.
    _at(central.db, datetime(2026, 11, 29, 18, 30, tzinfo=timezone.utc), "minh", "blank",
        "gate:huu-nghi", '{"reason": "kiểm tra", "faces": [1, 2]}')
    for n in range(55):
        _at(central.db, datetime(2026, 11, 1, 8, tzinfo=timezone.utc) + timedelta(minutes=n),
            "minh", "media.approve", f"{n:064x}", '{"name": "tin-%d.mp4"}' % n)

    editor = Console(console_app)
    editor.login("minh")
    editor.text("/audit/", status=403)
    assert 'href="/audit/"' not in editor.text("/")
    c = Console(console_app)
    c.login("chi")
    assert 'href="/audit/"' in c.text("/")
    page = c.text("/audit/")
    assert "Nhật ký kiểm tra" in page and "trang 1 / 2" in page
    # Who in words: the server's shell, not "cli"; actions and details in words.
    assert "máy chủ trung tâm (dòng lệnh)" in page and ">cli<" not in page
    assert "đã thay khoá ký" in page and "khoá timestamp" in page
    assert "đã đăng ký cửa khẩu" in page and "đăng nhập" in page
    assert re.search(r"bản phát hành mới cho huu-nghi \(phiên bản \d+\)", page)
    assert "{'" not in page and '{"' not in page and "[1, 2]" not in page
    # The blank at 01:30 on 30/11 in the viewer's zone, its faces and reason in words.
    page = c.text("/audit/?from=2026-11-30&to=2026-11-30")
    assert "01:30:00 30/11/2026" in page and "các mặt 1, 2 — lý do: kiểm tra" in page
    assert "Số mục: 1" in page
    assert "Số mục: 0" in c.text("/audit/?from=2026-11-01&to=2026-11-29&action=blank")
    # By person, action and gate.
    page = c.text("/audit/?who=minh&action=media.approve")
    assert "Số mục: 55" in page and "tin-54.mp4" in page and "tin-4.mp4" not in page
    page = c.text("/audit/?who=minh&action=media.approve&page=2")
    assert "tin-4.mp4" in page and "tin-54.mp4" not in page and 'id="audit-newer"' in page
    table = c.text("/audit/?subject=huu-nghi").split('id="audit-table"')[1]
    assert "đã đăng ký cửa khẩu" in table and "đã tắt hình" in table and "Hữu Nghị" in table
    assert "tin-1.mp4" not in table and "đã thay khoá ký" not in table
    _at(central.db, datetime(2026, 10, 1, 3, tzinfo=timezone.utc), "lan", "playlist.move",
        "c-sang", '{"from": 0, "to": 2, "media": "%s"}' % ("ab" * 32))
    page = c.text("/audit/?action=playlist.move")
    assert "mục 1 chuyển tới vị trí 3 (nội dung abababababab)" in page
    assert "danh sách phát c-sang" in page and "ab" * 32 not in page
    # A bad or reversed day is refused in words (dd/mm/yyyy is read, as the field shows it).
    assert c.get("/audit/?from=30/11/2026").status_code == 200
    r = c.get("/audit/?from=31/11/2026")
    assert r.status_code == 400 and "Không có ngày 31/11/2026" in r.get_data(as_text=True)
    r = c.get("/audit/?from=tomorrow")
    assert r.status_code == 400 and "không phải là ngày" in r.get_data(as_text=True)
    r = c.get("/audit/?from=2026-11-30&to=2026-11-01")
    assert r.status_code == 400 and "trước ngày bắt đầu" in r.get_data(as_text=True)
    # English.
    c.post("/language", {"lang": "en", "next": "/"})
    page = c.text("/audit/?subject=huu-nghi")
    assert "Audit log" in page and "gate registered" in page
    assert "faces 1, 2 — why: kiểm tra" in page


@pytest.mark.parametrize("name", ["cli", "central"])
def test_nobody_may_take_the_servers_own_names(central, name):
    from central.checks import CentralError
    from central.users import add_user

    with pytest.raises(CentralError, match="kept for the server"):
        add_user(central.db, name, "editor")
    assert re.fullmatch(r"\d+", str(central.db.scalar(
        f"""SELECT count(*) FROM "user" WHERE name = '{name}'"""))) and central.db.scalar(
        f"""SELECT count(*) FROM "user" WHERE name = '{name}'""") == 0


def test_the_audit_log_indexes_come_with_a_migration_and_serve_the_pages_filters(
        tmp_path, central_database_url):
    """0008 adds the audit log's indexes to a central that already has entries
    (kept), and the Audit log page's queries (newest first; by person; by an
    action or a family; with dates) are answered from them, not by reading
    the whole table."""
    from alembic import command
    from sqlalchemy.dialects import postgresql, sqlite

    from central.db import Store, _alembic_config, default_url, migrate
    from central.users import audit_filters, audit_page, find_audit

    url = central_database_url or default_url(tmp_path / "central")
    (tmp_path / "central").mkdir()
    store = Store(url)
    try:
        with store.engine.connect() as conn:  # a central before 0008, with entries
            command.upgrade(_alembic_config(conn), "0007")
            conn.commit()
        with store.transaction(write=True) as conn:
            for i in range(30):
                conn.exec_driver_sql(
                    "INSERT INTO audit (at, who, action, subject, detail) VALUES "
                    f"('2026-11-{1 + i % 28:02d}T0{i % 10}:00:00.000+00:00', "
                    f"'{('lan', 'minh', 'cli')[i % 3]}', "
                    f"'{('media.approve', 'media.upload', 'login', 'publish')[i % 4]}', "
                    f"'s{i}', '{{}}')")
    finally:
        store.close()
    migrate(url)
    store = Store(url)
    try:
        assert store.count("audit") == 30
        rows, total = find_audit(store, who="lan", action="media.")
        assert total == len(rows) == sum(1 for i in range(30) if i % 3 == 0 and i % 4 < 2)
        assert all(r["who"] == "lan" and r["action"].startswith("media.") for r in rows)
        assert [r["at"] for r in rows] == sorted((r["at"] for r in rows), reverse=True)
        dialect = sqlite.dialect() if store.is_sqlite else postgresql.dialect()
        with store.engine.connect() as conn:
            if not store.is_sqlite:  # 30 rows: make the planner show what it could use
                conn.exec_driver_sql("SET enable_seqscan = off")
            for filters, index in (({}, "audit_at"), ({"who": "lan"}, "audit_who"),
                                   ({"action": "media.approve"}, "audit_action"),
                                   ({"action": "media."}, "audit_action"),
                                   ({"since": "2026-11-10", "until": "2026-11-12"}, "audit_at")):
                sql = str(audit_page(audit_filters(**filters)).compile(
                    dialect=dialect, compile_kwargs={"literal_binds": True}))
                plan = " ".join(str(r[-1]) for r in conn.exec_driver_sql(
                    ("EXPLAIN QUERY PLAN " if store.is_sqlite else "EXPLAIN ") + sql))
                assert index in plan, (filters, plan)
    finally:
        store.close()
