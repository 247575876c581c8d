"""The alert rules read a gate's heartbeat through its small view
(central.alert_rules.heartbeat_view: what intake stores in gate_status.alert_view and
the alert loop keeps). They must find exactly the conditions on the view that they
find on the whole heartbeat, and a rule that starts reading a field the view leaves
out must fail here, not silently see None in production. No store needed."""

from __future__ import annotations

import copy
import json
import math
from datetime import datetime, timedelta, timezone

import pytest

from central.alert_rules import GateFacts, conditions, frozen_candidates, heartbeat_view
from central.settings import CENTRAL_SETTINGS

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=timezone.utc)
SETTINGS = {s.name: s.default for s in CENTRAL_SETTINGS}
LAST = (NOW - timedelta(seconds=30)).isoformat()
OLD_PICTURE = (NOW - timedelta(hours=2)).isoformat()


def face(face_id: int, **more) -> dict:
    """A face as kiosk.sync.outbox.build_heartbeat sends it (every field)."""
    return {"face_id": face_id, "power": "on", "blanked": 0, "level": "normal",
            "entry_id": "c-e-1a2b3c4d", "playing_sha256": "a" * 64,
            "playing_name": "Chào mừng đến Hữu Nghị.mp4", "playing_kind": "video",
            "since": "2026-11-30T15:00:00.000+07:00", "next_sha256": "b" * 64,
            "next_name": "Thông báo thủ tục.png", "next_at": "2026-11-30T15:00:30.000+07:00",
            "last_error": None, **more}


def beat(health=None, sync=None, faces=None, **more) -> dict:
    """A heartbeat with every field a gate sends, and the parts given."""
    return {"sent_at": LAST, "gate_id": "huu-nghi", "release_version": 4,
            "last_good_release_version": 4,
            "sync": {"status": "unchanged", "code": "ok", "reason": None,
                     "last_pull_at": "2026-11-30T08:59:00+00:00", "failing_since": None,
                     "clock": {"synchronised": True, "expiry_trusted": True,
                               "server_skew_s": 0.4, "skew_suspect": False},
                     **(sync or {})},
            "health": {"cpu_temp_c": 61.2, "load": [0.4, 0.5, 0.5], "disk_free_mb": 20480,
                       "disk": {"free_mb": 20480.0, "total_mb": 59000.0},
                       "memory_free_mb": 1800, "uptime_s": 86400, "clock_synced": True,
                       "throttling": {"under_voltage_now": False, "throttled_now": False,
                                      "under_voltage_since_boot": True},
                       **(health or {})},
            "faces": [face(1), face(2)] if faces is None else faces,
            "errors": [{"at": LAST, "what": "mpv", "message": "đã khởi động lại"}], **more}


# Every condition a heartbeat can raise, each alone and some together, and parts that
# are missing, None or malformed (the rules read those as absent).
HEARTBEATS = {
    "healthy": beat(),
    "hot": beat(health={"cpu_temp_c": 91.37}),
    "hot as an integer": beat(health={"cpu_temp_c": 95}),
    "temperature not a number": beat(health={"cpu_temp_c": "nóng"}),
    "under voltage": beat(health={"throttling": {"under_voltage_now": True}}),
    "disk low": beat(health={"disk": {"free_mb": 120.4}}),
    "clock not synced": beat(health={"clock_synced": False}),
    "clock skew suspect": beat(sync={"clock": {"server_skew_s": -93.5, "skew_suspect": True}}),
    "sync failing": beat(sync={"status": "failed", "code": "tuf", "reason": "chữ ký sai " * 60,
                               "failing_since": "2026-11-30T07:00:00+00:00"}),
    "sync failing, no since": beat(sync={"status": "failed", "code": "net", "reason": None}),
    "held last good": beat(release_version=5, last_good_release_version=4),
    "a face off and one blanked": beat(faces=[face(1, power="off"), face(2, blanked=1)]),
    "a face playing nothing": beat(faces=[face(1, playing_sha256=None), face(2)]),
    "everything at once": beat(
        health={"cpu_temp_c": 88.0, "throttling": {"under_voltage_now": True},
                "disk": {"free_mb": 3}, "clock_synced": False},
        sync={"status": "failed", "code": "x", "failing_since": "2026-11-30T08:00:00+00:00"}),
    "bare": {"sent_at": LAST},
    "parts None": {"health": None, "sync": None, "faces": None},
    "faces not objects": beat(faces=["1", None, face(2)]),
    "throttling and disk not objects": beat(health={"throttling": None, "disk": None}),
    "clock not an object": beat(sync={"clock": None}),
}

SHOTS = {
    "no screenshots": {},
    "dark and old pictures": {
        1: {"luma": 2.0, "taken_at": LAST, "picture_changed_at": OLD_PICTURE},
        2: {"luma": 120.0, "taken_at": LAST, "picture_changed_at": OLD_PICTURE}},
}


def status_of(body: dict) -> dict:
    """The gate_status row intake writes for `body` (its columns, not the view)."""
    return {"gate_id": "huu-nghi", "last_heartbeat_at": LAST, "sent_at": LAST,
            "release_version": body.get("release_version"),
            "last_good_release_version": body.get("last_good_release_version")}


def evaluate(body: dict, shots: dict, status: dict):
    """What the alert loop does with a gate: the faces whose picture to check, then the
    conditions (each such face having started three media since its picture)."""
    gate = GateFacts({"id": "huu-nghi", "faces": [1, 2]}, status, body,
                     (7, "2026-11-30T06:00:00+00:00"), copy.deepcopy(shots))
    candidates = frozen_candidates(gate, SETTINGS, NOW)
    gate.media_since_picture.update({f: 3 for f in candidates})
    return candidates, conditions(gate, SETTINGS, NOW)


@pytest.mark.parametrize("shots", SHOTS, ids=str)
@pytest.mark.parametrize("name", HEARTBEATS, ids=str)
def test_the_rules_find_the_same_on_a_heartbeat_and_on_its_view(name, shots):
    body = HEARTBEATS[name]
    whole = evaluate(body, SHOTS[shots], status_of(body))
    # The view as the alert loop gets it: stored as JSON text by intake, read back.
    view = json.loads(json.dumps(heartbeat_view(body), ensure_ascii=False))
    assert evaluate(view, SHOTS[shots], status_of(body)) == whole
    if name == "everything at once":  # the corpus does raise what it claims to
        kinds = {c.kind for c in whole[1][0]}
        assert {"temperature", "under_voltage", "disk_low", "clock_unsynced",
                "sync_failing", "release_not_taken"} <= kinds, kinds


def test_the_view_is_small():
    """It is stored with every report: a fraction of the heartbeat (the intake bench's
    1.4 KB heartbeat has a 228 byte view)."""
    body = beat()
    assert 3 * len(json.dumps(heartbeat_view(body), ensure_ascii=False)) < len(
        json.dumps(body, ensure_ascii=False))


class Reads(dict):
    """A heartbeat part that records which paths the rules read of it."""

    def __init__(self, data: dict, path: str, seen: set):
        super().__init__({k: _watched(v, f"{path}{k}", seen) for k, v in data.items()})
        self._path, self._seen = path, seen

    def get(self, key, default=None):
        self._seen.add(self._path + str(key))
        return super().get(key, default)

    def __getitem__(self, key):
        self._seen.add(self._path + str(key))
        return super().__getitem__(key)


def _watched(value, path: str, seen: set):
    if isinstance(value, dict):
        return Reads(value, path + ".", seen)
    if isinstance(value, list):
        return [_watched(v, path + "[].", seen) for v in value]
    return value


def _at(value, path: str) -> list:
    """Every value at `path` (a list's items for "[]"), None where absent."""
    found = [value]
    for step in path.split("."):
        many = step.endswith("[]")
        key = step[:-2] if many else step
        nxt = []
        for v in found:
            v = v.get(key) if isinstance(v, dict) else None
            if many:
                nxt.extend(x for x in (v if isinstance(v, list) else []) if isinstance(x, dict))
            else:
                nxt.append(v)
        found = nxt
    return found


# What the view keeps of a field in another form, and the rules read only that much of.
AS_TRUTH = {"faces[].playing_sha256"}


@pytest.mark.parametrize("name", HEARTBEATS, ids=str)
def test_every_field_the_rules_read_is_in_the_view(name):
    """Were a rule to read a field heartbeat_view leaves out, it would see None in
    the alert loop and never fire: here it fails instead, naming the field."""
    seen: set[str] = set()
    body = HEARTBEATS[name]
    for shots in SHOTS.values():
        evaluate(Reads(body, "", seen), shots, status_of(body))
    view = heartbeat_view(body)
    assert seen, "the rules read nothing of the heartbeat?"
    for path in sorted(seen):
        want, got = _at(body, path), _at(view, path)
        assert len(got) == len(want), f"the rules read {path}, which heartbeat_view changes"
        for w, g in zip(want, got):
            if isinstance(w, (dict, list)):
                continue  # a part: the fields the rules read of it are checked one by one
            assert g == (bool(w) if path in AS_TRUTH else w), (
                f"the rules read {path}, which heartbeat_view leaves out or changes")


def test_a_stored_body_is_read_as_json_reads_it():
    """central.alerts._parsed (the loop's reader of stored heartbeats and views):
    json.loads's values, an integer past 64 bits included (orjson alone would make
    it a float); NaN as intake stores it; {} for what is not JSON."""
    from central.alerts import _parsed

    body = '{"health": {"cpu_temp_c": 71.5, "uptime_s": 123456789012345678901234}}'
    assert _parsed(body) == json.loads(body)
    assert type(_parsed(body)["health"]["uptime_s"]) is int
    assert math.isnan(_parsed('{"health": {"cpu_temp_c": NaN}}')["health"]["cpu_temp_c"])
    assert _parsed("{not json") == {} == _parsed(None) == _parsed("")
    assert _parsed("[" * 5000 + "]" * 5000) == {}
