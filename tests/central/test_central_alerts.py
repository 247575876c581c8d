"""Alerts end to end on both stores: gates report through the intake functions (or
over HTTP), the rules run at chosen instants (`now`), and the messages go to a real
SMTP server (aiosmtpd) and a real HTTP receiver on 127.0.0.1."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from PIL import Image

from kiosk.store import iso, utcnow

from central.alerts import AlertLoop, acknowledge, add_subscription, deliveries, list_alerts, tick
from central.checks import CentralError, Forbidden
from central.fleet import add_group, get_gate
from central.intake import record_heartbeat, record_screenshot
from central.users import add_user

from tests.support.alerts import SmtpServer, WebhookReceiver
from tests.support.central import make_central
from tests.support.wait import wait_for

INTERVAL = 60.0  # central_heartbeat_interval_s: offline after 150 s


@pytest.fixture
def smtp(tmp_path):
    server = SmtpServer(login=("canhbao", "mat-khau-thu"), tls_dir=tmp_path / "smtp-tls")
    yield server
    server.stop()


@pytest.fixture
def hook():
    receiver = WebhookReceiver()
    yield receiver
    receiver.stop()


@pytest.fixture
def alerting(tmp_path, central_database_url, smtp):
    password = tmp_path / "smtp-password"
    password.write_text("mat-khau-thu\n")
    c = make_central(tmp_path / "central", central_database_url=central_database_url,
                     central_heartbeat_interval_s=INTERVAL, central_alert_clear_after_s=120.0,
                     central_smtp_user="canhbao", central_smtp_password_file=str(password),
                     central_console_url="https://trungtam.test", **smtp.settings())
    c.gate("huu-nghi", faces=(1, 2), name="Cửa khẩu Hữu Nghị")
    c.gate("tan-thanh", faces=(1,), name="Tân Thanh")
    add_group(c.db, "lang-son", "Lạng Sơn", ["huu-nghi"])
    yield c
    c.db.close()


def heartbeat(**health) -> dict:
    """A heartbeat shaped like kiosk.sync.outbox.build_heartbeat's."""
    faces = health.pop("faces", [
        {"face_id": 1, "power": "on", "blanked": 0, "playing_sha256": "a" * 64},
        {"face_id": 2, "power": "on", "blanked": 0, "playing_sha256": "b" * 64}])
    sync = health.pop("sync", {"status": "unchanged", "clock": {"skew_suspect": False}})
    return {"sent_at": iso(utcnow()), "gate_id": "huu-nghi", "release_version": 1,
            "last_good_release_version": 1, "sync": sync,
            "health": {"cpu_temp_c": 52.0, "throttling": {"under_voltage_now": False},
                       "disk": {"free_mb": 9000.0}, "clock_synced": True, **health},
            "faces": faces, "errors": []}


def emails_to(smtp, address):
    return [m.message for m in smtp.messages if m.message["To"] == address]


def test_offline_gate_is_told_once_by_email_and_webhook_then_recovers(alerting, smtp, hook):
    db, s = alerting.db, alerting.settings
    add_subscription(db, "email", "truc@stttt.test", "lang-son", "warning")
    add_subscription(db, "webhook", hook.url, None, "critical")
    t0 = utcnow()
    record_heartbeat(db, "huu-nghi", heartbeat(), now=t0)
    record_heartbeat(db, "tan-thanh", heartbeat(), now=t0)
    assert tick(db, s, now=t0 + timedelta(seconds=149))["opened"] == 0
    record_heartbeat(db, "tan-thanh", heartbeat(), now=t0 + timedelta(seconds=140))

    # 2.5 intervals without a heartbeat: Hữu Nghị is offline; Tân Thanh still reports.
    result = tick(db, s, now=t0 + timedelta(seconds=151))
    assert result["opened"] == 1 and result["delivery"]["sent"] == 2
    (mail,) = emails_to(smtp, "truc@stttt.test")
    assert smtp.logins == ["canhbao"]
    assert mail["Subject"] == "[gatecast] Nghiêm trọng: Cửa khẩu mất kết nối — Cửa khẩu Hữu Nghị"
    body = mail.get_content()
    # Times in the province's zone (UTC+7), as people there read them.
    local = (t0 + timedelta(hours=7)).strftime("%H:%M %d/%m/%Y")
    assert f"Không nhận được tín hiệu từ {local}." in body
    assert "Cửa khẩu: Cửa khẩu Hữu Nghị (huu-nghi)" in body
    assert "https://trungtam.test/alerts" in body
    (post,) = hook.received
    payload = post.message["json"]
    assert payload["event"] == "opened" and payload["alert"]["kind"] == "offline"
    assert payload["alert"]["gate_id"] == "huu-nghi"
    assert "Cửa khẩu mất kết nối" in payload["text"]
    assert post.message["headers"]["Idempotency-Key"] == f"gatecast-alert-delivery-{payload['delivery_id']}"

    # Still offline: no second message, however often it is evaluated. Tân Thanh
    # (in no group) goes offline too: the webhook for every gate hears of it, the
    # email for Lạng Sơn's group does not.
    for minutes in (3, 5, 30):
        tick(db, s, now=t0 + timedelta(minutes=minutes))
    assert len(smtp.messages) == 1
    assert [p.message["json"]["alert"]["gate_id"] for p in hook.received] == ["huu-nghi", "tan-thanh"]
    # It flaps: back, away again, back. One alert throughout, no storm.
    back = t0 + timedelta(minutes=31)
    record_heartbeat(db, "huu-nghi", heartbeat(), now=back)
    tick(db, s, now=back + timedelta(seconds=1))
    tick(db, s, now=back + timedelta(seconds=160))  # offline again before it counted as clear
    record_heartbeat(db, "huu-nghi", heartbeat(), now=back + timedelta(seconds=170))
    tick(db, s, now=back + timedelta(seconds=171))
    assert len(smtp.messages) == 1 and len(hook.received) == 2
    (alert,) = list_alerts(db, gate_id="huu-nghi")
    assert alert["kind"] == "offline" and alert["state"] == "open"

    # Clear for central_alert_clear_after_s: resolved, and the recovery told once.
    result = tick(db, s, now=back + timedelta(seconds=171 + 121))
    assert result["resolved"] == 1 and result["delivery"]["sent"] == 2
    recovery = emails_to(smtp, "truc@stttt.test")[-1]
    assert recovery["Subject"] == "[gatecast] Đã khắc phục: Cửa khẩu mất kết nối — Cửa khẩu Hữu Nghị"
    assert "Hoạt động bình thường trở lại lúc" in recovery.get_content()
    assert hook.received[-1].message["json"]["event"] == "resolved"
    assert list_alerts(db, gate_id="huu-nghi") == []
    assert [a["state"] for a in list_alerts(db, include_resolved=True, gate_id="huu-nghi")] == [
        "resolved"]
    tick(db, s, now=back + timedelta(seconds=310))  # (still reporting)
    assert len(smtp.messages) == 2 and len(hook.received) == 3
    assert not any("Tân Thanh" in m.message["Subject"] for m in smtp.messages)


def test_a_failing_receiver_is_retried_without_losing_or_repeating(alerting, smtp, hook):
    db, s = alerting.db, alerting.settings
    add_subscription(db, "webhook", hook.url, "lang-son", "warning")
    add_subscription(db, "email", "truc@stttt.test", None, "warning")
    hook.fail_next = 2
    t0 = utcnow()
    record_heartbeat(db, "huu-nghi", heartbeat(cpu_temp_c=86.5), now=t0)
    result = tick(db, s, now=t0)
    # The email goes; the webhook answers 500 and waits 15 s for its next attempt.
    assert result["opened"] == 1 and result["delivery"] == {"sent": 1, "retry": 1, "failed": 0}
    (mail,) = smtp.messages
    assert "Nhiệt độ bộ điều khiển cao" in mail.message["Subject"]
    assert "CPU 86,5 °C" in mail.message.get_content()
    assert tick(db, s, now=t0 + timedelta(seconds=10))["delivery"]["sent"] == 0
    assert tick(db, s, now=t0 + timedelta(seconds=16))["delivery"]["retry"] == 1  # 500 again
    assert tick(db, s, now=t0 + timedelta(seconds=40))["delivery"]["retry"] == 0  # pause: 30 s
    assert tick(db, s, now=t0 + timedelta(seconds=47))["delivery"]["sent"] == 1
    assert hook.refused == 2 and len(hook.received) == 1
    webhook = [d for d in deliveries(db) if d["attempts"] == 3]
    assert len(webhook) == 1 and webhook[0]["state"] == "sent"
    for later in (60, 140):  # (not yet offline)
        tick(db, s, now=t0 + timedelta(seconds=later))
    assert len(hook.received) == 1 and len(smtp.messages) == 1
    assert all(d["state"] == "sent" for d in deliveries(db))


def test_an_smtp_server_that_is_down_keeps_the_message_queued(alerting, smtp):
    db, s = alerting.db, alerting.settings
    add_subscription(db, "email", "truc@stttt.test")
    add_subscription(db, "email", "ky-thuat@stttt.test")
    smtp.stop()
    t0 = utcnow()
    record_heartbeat(db, "huu-nghi", heartbeat(throttling={"under_voltage_now": True}), now=t0)
    # One attempt at the dead server per tick, not one per message.
    assert tick(db, s, now=t0)["delivery"]["retry"] == 1
    first, second = deliveries(db)
    assert first["state"] == "pending" and "SMTP 127.0.0.1" in first["last_error"]
    assert second["state"] == "pending" and second["attempts"] == 0
    smtp.__init__(login=("canhbao", "mat-khau-thu"), tls_dir=alerting.state_dir.parent / "smtp-tls")
    alerting.settings._values["central_smtp_port"] = smtp.port
    assert tick(db, s, now=t0 + timedelta(seconds=20))["delivery"]["sent"] == 2
    assert sorted(m.message["To"] for m in smtp.messages) == ["ky-thuat@stttt.test", "truc@stttt.test"]
    assert all("Nguồn điện thiếu áp" in m.message["Subject"] for m in smtp.messages)


def _png(grey: int, size=(64, 36)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (grey, grey, grey)).save(out, "PNG")
    return out.getvalue()


def test_the_rules_on_what_gates_report(alerting):
    db, s = alerting.db, alerting.settings
    gate = get_gate(db, "huu-nghi")
    t0 = utcnow()
    sync = {"status": "failed", "code": "network", "reason": "không kết nối được",
            "failing_since": iso(t0 - timedelta(hours=2)),
            "clock": {"skew_suspect": True, "server_skew_s": 412.0}}
    faces = [{"face_id": 1, "power": "on", "blanked": 0, "playing_sha256": "a" * 64},
             {"face_id": 2, "power": "off", "blanked": 0, "playing_sha256": None}]
    record_heartbeat(db, "huu-nghi", heartbeat(disk={"free_mb": 120.0}, sync=sync, faces=faces),
                     now=t0)
    # Face 1 should show and is black; face 2 is switched off by its power schedule.
    for face in (1, 2):
        record_screenshot(db, alerting.state_dir, gate, face, _png(0), "image/png", iso(t0), now=t0)
    tick(db, s, now=t0)
    assert {a["kind"] for a in list_alerts(db)} == {"disk_low", "clock_unsynced", "sync_failing"}
    # Black for central_alert_dark_after_s (300 s): the face is dark.
    record_heartbeat(db, "huu-nghi", heartbeat(disk={"free_mb": 120.0}, sync=sync, faces=faces),
                     now=t0 + timedelta(seconds=301))
    tick(db, s, now=t0 + timedelta(seconds=301))
    dark = [a for a in list_alerts(db) if a["kind"] == "face_dark"]
    assert [(a["face_id"], a["detail"]["cause"]) for a in dark] == [(1, "black")]

    # The kill switch blanks face 1: no longer should show; resolved after clear_after.
    blanked = [{**faces[0], "blanked": 1}, faces[1]]
    t1 = t0 + timedelta(seconds=310)
    record_heartbeat(db, "huu-nghi", heartbeat(sync=sync, faces=blanked), now=t1)
    tick(db, s, now=t1)
    record_heartbeat(db, "huu-nghi", heartbeat(sync=sync, faces=blanked), now=t1 + timedelta(seconds=125))
    tick(db, s, now=t1 + timedelta(seconds=125))
    assert {a["kind"] for a in list_alerts(db)} == {"clock_unsynced", "sync_failing"}


def test_a_release_not_taken_up(alerting, tmp_path):
    from tests.support.media import make_image

    db, s = alerting.db, alerting.settings
    sha = alerting.media(make_image(tmp_path / "a.png"))
    alerting.show("huu-nghi", [sha])
    alerting.publish()
    t0 = utcnow()
    body = heartbeat()
    body["release_version"] = body["last_good_release_version"] = None
    record_heartbeat(db, "huu-nghi", body, now=t0)
    tick(db, s, now=t0)
    assert list_alerts(db) == []  # published just now
    later = t0 + timedelta(seconds=s["central_alert_release_not_taken_s"] + 1)
    record_heartbeat(db, "huu-nghi", body, now=later)
    tick(db, s, now=later)
    (alert,) = list_alerts(db, gate_id="huu-nghi")
    assert alert["kind"] == "release_not_taken" and alert["detail"]["version"] == db.scalar(
        "SELECT max(version) FROM release WHERE gate_id = 'huu-nghi'")
    # Tân Thanh was published to as well and has never reported at all: not taken up either.
    assert [a["kind"] for a in list_alerts(db, gate_id="tan-thanh")] == ["release_not_taken"]


def test_subscriptions_refuse_bad_input(alerting):
    db = alerting.db
    for channel, address, group, severity in (
            ("sms", "0912", None, "warning"), ("email", "khong-phai-email", None, "warning"),
            ("webhook", "ftp://x", None, "warning"), ("email", "a@b.vn", "khong-co", "warning"),
            ("email", "a@b.vn", None, "info")):
        with pytest.raises(CentralError):
            add_subscription(db, channel, address, group, severity)
    assert db.count("alert_subscription") == 0


def test_two_servers_evaluate_once_and_tell_once(alerting, smtp, tmp_path):
    """The loop as servers run it: two stores (two application servers) on one
    database, each with its AlertLoop; the gate stops reporting; one email."""
    from central.db import open_central_db

    settings = alerting.settings
    settings._values.update(central_heartbeat_interval_s=0.4, central_alert_interval_s=0.2)
    add_subscription(alerting.db, "email", "truc@stttt.test")
    record_heartbeat(alerting.db, "huu-nghi", heartbeat())
    second = open_central_db(settings, migrate_first=False)
    loops = [AlertLoop(alerting.db, settings).start(), AlertLoop(second, settings).start()]
    try:
        wait_for(lambda: smtp.messages, 60, "the offline email")
        # Each loop ticks several more times meanwhile: still one alert, one email.
        wait_for(lambda: len(deliveries(alerting.db)) == 1 and all(
            d["state"] == "sent" for d in deliveries(alerting.db)), 30, "the delivery")
    finally:
        for loop in loops:
            loop.stop()
        second.close()
    assert len(smtp.messages) == 1
    assert [a["kind"] for a in list_alerts(alerting.db)] == ["offline"]


def test_a_frozen_picture_while_the_gate_plays_different_media(alerting):
    from central.intake import record_proof_of_play

    db, s = alerting.db, alerting.settings
    gate = get_gate(db, "huu-nghi")
    t0 = utcnow()
    grey = _png(120)
    record_screenshot(db, alerting.state_dir, gate, 1, grey, "image/png", iso(t0), now=t0)
    # The same picture again and again (a new file each time), while the gate says it
    # played three different media on face 1: the picture is stuck.
    rows = [{"id": i, "installation": "x", "face_id": 1, "media_sha256": sha * 64,
             "outcome": "completed", "started_at": iso(t0 + timedelta(minutes=10 * i)),
             "ended_at": iso(t0 + timedelta(minutes=10 * i, seconds=30))}
            for i, sha in ((1, "a"), (2, "b"), (3, "c"))]
    record_proof_of_play(db, "huu-nghi", {"rows": rows}, now=t0)
    later = t0 + timedelta(seconds=s["central_alert_frozen_after_s"] + 60)
    record_screenshot(db, alerting.state_dir, gate, 1, grey, "image/png", iso(later), now=later)
    record_heartbeat(db, "huu-nghi", heartbeat(), now=later)
    tick(db, s, now=later)
    (alert,) = list_alerts(db)
    assert (alert["kind"], alert["face_id"], alert["detail"]["cause"]) == ("face_dark", 1, "frozen")
    assert alert["detail"]["media"] == 3
    # A new picture: the face is alive again (resolved once clear long enough).
    alive = later + timedelta(seconds=10)
    record_screenshot(db, alerting.state_dir, gate, 1, _png(121), "image/png", iso(alive), now=alive)
    record_heartbeat(db, "huu-nghi", heartbeat(), now=alive)
    tick(db, s, now=alive)
    record_heartbeat(db, "huu-nghi", heartbeat(), now=alive + timedelta(seconds=121))
    tick(db, s, now=alive + timedelta(seconds=121))
    assert list_alerts(db) == []
def test_acknowledge_records_who_and_when(alerting, smtp):
    db, s = alerting.db, alerting.settings
    add_user(db, "lan", "operator")
    add_user(db, "xem", "viewer")
    t0 = utcnow()
    record_heartbeat(db, "huu-nghi", heartbeat(cpu_temp_c=90.0), now=t0)
    tick(db, s, now=t0)
    (alert,) = list_alerts(db)
    with pytest.raises(Forbidden):
        acknowledge(db, alert["id"], "xem")
    acked = acknowledge(db, alert["id"], "lan")
    assert acked["acknowledged_by"] == "lan" and acked["acknowledged_at"]
    assert acknowledge(db, alert["id"], "lan")["acknowledged_at"] == acked["acknowledged_at"]
    audit = db.query("SELECT who, action, subject FROM audit WHERE action = 'alert.ack'")
    assert audit == [{"who": "lan", "action": "alert.ack", "subject": str(alert["id"])}]




def test_the_alerts_page_lists_acknowledges_and_manages_subscriptions(central, console_app):
    from tests.support.console import Console, make_user

    make_user(central.db, "van-hanh", "operator")
    make_user(central.db, "xem", "viewer")
    central.gate("huu-nghi", faces=(1,), name="Cửa khẩu Hữu Nghị")
    add_group(central.db, "lang-son", "Lạng Sơn", ["huu-nghi"])
    t0 = utcnow()
    record_heartbeat(central.db, "huu-nghi", heartbeat(cpu_temp_c=90.5, faces=[]), now=t0)
    tick(central.db, central.settings, now=t0)
    (alert,) = list_alerts(central.db)

    viewer = Console(console_app)
    viewer.login("xem")
    page = viewer.text("/alerts/")
    assert "Nhiệt độ bộ điều khiển cao" in page and "Cửa khẩu Hữu Nghị" in page
    assert "CPU 90,5 °C (cảnh báo khi trên 80 °C)." in page
    assert f"/alerts/{alert['id']}/ack" not in page  # no button without the fleet right
    assert viewer.post(f"/alerts/{alert['id']}/ack").status_code == 403
    assert list_alerts(central.db)[0]["acknowledged_by"] is None

    operator = Console(console_app)
    operator.login("van-hanh")
    assert f"/alerts/{alert['id']}/ack" in operator.text("/alerts/")
    r = operator.post(f"/alerts/{alert['id']}/ack")
    assert r.status_code in (302, 303)
    page = operator.text("/alerts/")
    assert f"Đã tiếp nhận cảnh báo {alert['id']}." in page and "van-hanh lúc" in page

    # Subscriptions: a bad address is refused in words and nothing is stored.
    operator.post("/alerts/subscriptions", {"channel": "email", "address": "khong-phai-email",
                                            "group": "", "severity": "warning"},
                  headers={"Referer": "http://localhost/alerts/"})
    assert "khong-phai-email không phải là địa chỉ email." in operator.text("/alerts/")
    assert central.db.count("alert_subscription") == 0
    operator.post("/alerts/subscriptions", {"channel": "webhook", "address": "https://chat.test/h",
                                            "group": "lang-son", "severity": "critical"})
    page = operator.text("/alerts/")
    assert "https://chat.test/h" in page and "Đã thêm người nhận cảnh báo." in page
    assert "<td>Lạng Sơn</td>" in page  # the group by its name
    (sub,) = central.db.query("SELECT id, group_id, min_severity, created_by FROM alert_subscription")
    assert sub["group_id"] == "lang-son" and sub["min_severity"] == "critical"
    assert sub["created_by"] == "van-hanh"
    operator.post(f"/alerts/subscriptions/{sub['id']}/remove")
    assert central.db.count("alert_subscription") == 0


def test_the_loops_memory_reads_only_what_changed_and_still_sees_time_pass(alerting):
    """An alert loop keeps the fleet between ticks (central.alerts.FleetMemory): a tick
    reads only the statuses the database stamped since the last one (migration 0010),
    and a gate that goes quiet still becomes offline when its time runs out (the
    deadline heap), with nothing changed in the database; a heartbeat that moves a
    deadline later is obeyed, not the old deadline."""
    from central.alerts import FleetMemory

    db, s = alerting.db, alerting.settings
    memory = FleetMemory()
    t0 = utcnow()
    record_heartbeat(db, "huu-nghi", heartbeat(), now=t0)
    record_heartbeat(db, "tan-thanh", heartbeat(), now=t0)
    assert tick(db, s, now=t0 + timedelta(seconds=1), memory=memory)["pending"] == 0
    assert memory.last_read == 2  # the first tick reads every status
    assert tick(db, s, now=t0 + timedelta(seconds=2), memory=memory)["pending"] == 0
    assert memory.last_read == 0  # nothing changed: nothing read
    record_heartbeat(db, "huu-nghi", heartbeat(cpu_temp_c=91.0), now=t0 + timedelta(seconds=10))
    assert tick(db, s, now=t0 + timedelta(seconds=11), memory=memory)["pending"] == 1
    assert memory.last_read == 1  # Hữu Nghị only
    # Silence: Tân Thanh's 150 s run out first (its deadline from t0), then Hữu Nghị's
    # (moved to t0 + 160 s by its second heartbeat), nothing read meanwhile.
    result = tick(db, s, now=t0 + timedelta(seconds=151), memory=memory)
    assert result["opened"] == 1 and memory.last_read == 0
    assert {a["gate_id"] for a in list_alerts(db) if a["kind"] == "offline"} == {"tan-thanh"}
    result = tick(db, s, now=t0 + timedelta(seconds=159), memory=memory)
    assert result["opened"] == 0  # Hữu Nghị's old deadline (t0 + 150 s) is not obeyed
    result = tick(db, s, now=t0 + timedelta(seconds=161), memory=memory)
    assert result["opened"] == 1 and memory.last_read == 0
    # (An offline gate's last temperature is left as it was: unknown, not cleared.)
    assert {(a["gate_id"], a["kind"]) for a in list_alerts(db)} == {
        ("tan-thanh", "offline"), ("huu-nghi", "offline"), ("huu-nghi", "temperature")}


def test_a_status_committed_after_a_later_one_is_still_read(alerting):
    """The loop reads statuses by the stamp the database gave them (migration 0010). A
    heartbeat whose transaction commits late, after a tick already read a later
    transaction's (PostgreSQL: writers run side by side), is still read by the next
    tick: the watermark is the oldest transaction running, not the newest stamp seen."""
    import threading

    from central.alerts import FleetMemory
    from central.db import transaction
    from central.intake import check_heartbeat, store_heartbeats

    db, s = alerting.db, alerting.settings
    memory = FleetMemory()
    t0 = utcnow()
    record_heartbeat(db, "huu-nghi", heartbeat(), now=t0)
    record_heartbeat(db, "tan-thanh", heartbeat(), now=t0)
    assert tick(db, s, now=t0 + timedelta(seconds=1), memory=memory)["pending"] == 0
    hot = [("huu-nghi", check_heartbeat(heartbeat(cpu_temp_c=91.0)), t0 + timedelta(seconds=10))]
    with transaction(db, write=True) as conn:
        store_heartbeats(conn, hot)  # written, not committed yet
        if db.dialect == "postgresql":  # a later writer commits first
            later = threading.Thread(target=record_heartbeat, args=(
                db, "tan-thanh", heartbeat(cpu_temp_c=55.0)), kwargs={"now": t0 + timedelta(seconds=11)})
            later.start()
            later.join(timeout=60)
            assert not later.is_alive()
        assert tick(db, s, now=t0 + timedelta(seconds=12), memory=memory)["pending"] == 0
        assert memory.last_read == (1 if db.dialect == "postgresql" else 0)
    result = tick(db, s, now=t0 + timedelta(seconds=13), memory=memory)
    assert result["pending"] == 1 and memory.last_read >= 1
    assert {(a["gate_id"], a["kind"]) for a in alerting.db.query(
        "SELECT gate_id, kind FROM alert")} == {("huu-nghi", "temperature")}


def test_a_heartbeat_that_changes_nothing_the_rules_read_only_moves_the_deadline(alerting):
    """At 10,000 gates x5 a tick reads ~4,000 new heartbeats: one whose part the rules
    read (alert_rules.heartbeat_view) is as before is not evaluated again, yet its gate's
    offline deadline moves with it; a heartbeat changing that part is evaluated, and a
    gate that went offline is evaluated when it is heard from again."""
    from central.alerts import FleetMemory

    db, s = alerting.db, alerting.settings
    memory = FleetMemory()
    t0 = utcnow()
    record_heartbeat(db, "huu-nghi", heartbeat(), now=t0)
    record_heartbeat(db, "tan-thanh", heartbeat(), now=t0)
    tick(db, s, now=t0 + timedelta(seconds=1), memory=memory)
    assert memory.last_evaluated == 2
    # Next item playing, another load and uptime: no news for the rules.
    again = heartbeat(load=[0.9, 0.7, 0.5], uptime_s=999, faces=[
        {"face_id": 1, "power": "on", "blanked": 0, "playing_sha256": "c" * 64},
        {"face_id": 2, "power": "on", "blanked": 0, "playing_sha256": "d" * 64}])
    record_heartbeat(db, "huu-nghi", again, now=t0 + timedelta(seconds=100))
    record_heartbeat(db, "tan-thanh", again, now=t0 + timedelta(seconds=100))
    tick(db, s, now=t0 + timedelta(seconds=101), memory=memory)
    assert memory.last_read == 2 and memory.last_evaluated == 0
    # The moved deadlines are obeyed: nobody offline at t0 + 151 s (the old ones),
    # both at t0 + 251 s.
    assert tick(db, s, now=t0 + timedelta(seconds=151), memory=memory)["pending"] == 0
    # A face switched off is news: evaluated (and no condition).
    record_heartbeat(db, "huu-nghi", heartbeat(faces=[
        {"face_id": 1, "power": "off", "blanked": 0, "playing_sha256": "c" * 64},
        {"face_id": 2, "power": "on", "blanked": 0, "playing_sha256": "d" * 64}]),
        now=t0 + timedelta(seconds=200))
    tick(db, s, now=t0 + timedelta(seconds=201), memory=memory)
    assert memory.last_read == 1 and memory.last_evaluated == 1
    result = tick(db, s, now=t0 + timedelta(seconds=251), memory=memory)
    assert result["opened"] == 1  # Tân Thanh, silent since t0 + 100 s
    assert {a["gate_id"] for a in list_alerts(db) if a["kind"] == "offline"} == {"tan-thanh"}
    # Heard from again with the very same facts: evaluated, and the offline clears.
    record_heartbeat(db, "tan-thanh", again, now=t0 + timedelta(seconds=260))
    tick(db, s, now=t0 + timedelta(seconds=261), memory=memory)
    assert memory.last_evaluated == 1
    assert not [a for a in list_alerts(db) if a["kind"] == "offline" and a["clear_since"] is None]


def test_a_heartbeat_with_nan_is_still_read(alerting):
    """The loop parses stored heartbeats with orjson, which refuses NaN; intake stores
    what Python's json writes (NaN included), so such a body is read by json instead,
    and its other facts still count."""
    db, s = alerting.db, alerting.settings
    record_heartbeat(db, "huu-nghi", heartbeat(cpu_temp_c=float("nan"), disk={"free_mb": 10.0}))
    assert "NaN" in db.scalar("SELECT heartbeat FROM gate_status WHERE gate_id = 'huu-nghi'")
    assert tick(db, s)["pending"] == 1
    assert [r["kind"] for r in db.query("SELECT kind FROM alert")] == ["disk_low"]
