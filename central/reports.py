"""Reports on what the gates showed: plays and airtime per gate, face, media and
playlist; the share of scheduled airtime shown; dark time by cause; offline time.

Reports never read raw proof of play or heartbeat history: intake keeps daily
totals (`play_day`, `face_time_day`, in central_timezone days) inside the same
transaction that stores a report, so a month for a whole province reads a few
thousand rows however many plays it holds, and raw rows can be pruned freely.

How time is counted from heartbeats (each carries every face's state:
`power`, `blanked`, `playing_sha256`): the gap between a gate's consecutive
heartbeats (by the gate's `sent_at`) gets the state of the earlier one. A gap
longer than 2.5 heartbeat intervals means the gate itself was down: one interval
keeps the earlier state, the rest is dark by `outage`. Offline time is central's
view: a gap between two heartbeats' arrival (`received_at`) longer than 2.5
intervals, less one interval. Scheduled airtime is the time a face should have
shown content: shown + error + outage (not power schedule, not the kill switch).
"""

from __future__ import annotations

import calendar
import functools
import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func, literal, select, text
from sqlalchemy.dialects import postgresql, sqlite

from kiosk.store import parse_iso
from kiosk.web.i18n import N_

from central import schema as t
from central.checks import CentralError, NotFound
from central.db import json_payload, json_rows, transaction
from central.i18n import say  # the report's language: Vietnamese

FACE_STATES = ("shown", "power_schedule", "kill_switch", "error", "outage")
DARK_CAUSES = ("power_schedule", "kill_switch", "outage", "error")
LINK_STATES = ("online", "offline")
# Outcomes that put the item on the screen (airtime counts); `error` did not.
SHOWN_OUTCOMES = ("completed", "skipped", "preempted")
OFFLINE_AFTER_INTERVALS = 2.5
MAX_PERIOD_DAYS = 400


class ReportError(CentralError):
    """A report asked with bad input (dates, gate); the message says which."""


class UnknownGate(NotFound, ReportError):
    pass


# ---- counting at intake ------------------------------------------------------------

def _increment(conn, table, rows: list[dict], keys: tuple[str, ...], sums: tuple[str, ...]) -> None:
    """Add `sums` to the rows with these keys, creating them: one statement for all."""
    if not rows:
        return
    # A fixed order of keys keeps two transactions from deadlocking on PostgreSQL.
    rows = sorted(rows, key=lambda r: tuple(r[k] for k in keys))
    if conn.dialect.name == "postgresql":
        # The rows as ONE JSON parameter (central.db.json_rows): an executemany
        # binds and sends every row from Python.
        payload = json_payload(rows)
        if payload is not None:
            conn.execute(_json_increment(table, keys, sums), {"rows": payload})
            return
    conn.execute(_increment_statement(conn.dialect.name, table, keys, sums), rows)


@functools.lru_cache(maxsize=32)
def _increment_statement(dialect: str, table, keys: tuple[str, ...], sums: tuple[str, ...]):
    # Built once per shape, like central.db's upserts: `excluded` copies every
    # column of the table, which made building it per heartbeat cost more than
    # the rest of the heartbeat's intake (bench/report_cost.py).
    insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)
    return insert.on_conflict_do_update(
        index_elements=list(keys),
        set_={c: table.c[c] + insert.excluded[c] for c in sums})


def increment_sql(table, keys: tuple[str, ...], sums: tuple[str, ...], source: str) -> str:
    """PostgreSQL: add the `sums` of the rows `source` (SQL naming the table's
    columns) to the table's rows with the same keys, creating them."""
    names = ", ".join((*keys, *sums))
    return (f"INSERT INTO {table.name} ({names}) {source} ON CONFLICT ({', '.join(keys)}) "
            f"DO UPDATE SET {', '.join(f'{c} = {table.name}.{c} + excluded.{c}' for c in sums)}")


@functools.lru_cache(maxsize=32)
def _json_increment(table, keys: tuple[str, ...], sums: tuple[str, ...]):
    names = ", ".join((*keys, *sums))
    return text(increment_sql(table, keys, sums,
                              f"SELECT {names} FROM {json_rows(table, (*keys, *sums))}"))


def _instant(text: str | None) -> datetime | None:
    try:
        value = parse_iso(text)
    except (ValueError, TypeError):
        return None
    if value is None:
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=timezone.utc)


PLAY_DAY_KEYS = ("day", "gate_id", "face_id", "media_sha256", "entry_id", "outcome")
PLAY_DAY_SUMS = ("plays", "airtime_s")


def count_plays(conn, rows: list[dict], tz: ZoneInfo) -> None:
    """Add proof-of-play rows that central did not hold before to `play_day`.
    The caller passes only rows its INSERT really added, so a batch sent twice
    counts once."""
    _increment(conn, t.play_day, play_day_rows(rows, tz), PLAY_DAY_KEYS, PLAY_DAY_SUMS)


def play_day_rows(rows: list[dict], tz: ZoneInfo) -> list[dict]:
    """What proof-of-play rows add to `play_day`, as its rows in key order: each
    row counts on the local day (in `tz`) it started, with its airtime when its
    outcome was shown (a row whose start is not a time is kept, not counted)."""
    totals: dict[tuple, list] = {}
    for r in rows:
        # _instant, inline: a batch of 64 reports has ~800 rows.
        try:
            start = _fromiso(r["started_at"])
        except (ValueError, TypeError):
            continue
        if start.tzinfo is None:
            start = start.replace(tzinfo=timezone.utc)
        airtime = 0.0
        if r["outcome"] in SHOWN_OUTCOMES:
            end = _instant(r.get("ended_at"))
            if end is not None:
                airtime = max(0.0, (end - start).total_seconds())
        key = (local_day(start, tz), r["gate_id"], r["face_id"], r["media_sha256"],
               r.get("entry_id") or "", r["outcome"])
        total = totals.get(key)
        if total is None:
            totals[key] = [1, airtime]
        else:
            total[0] += 1
            total[1] += airtime
    return [{"day": k[0], "gate_id": k[1], "face_id": k[2], "media_sha256": k[3],
             "entry_id": k[4], "outcome": k[5], "plays": v[0], "airtime_s": v[1]}
            for k, v in sorted(totals.items())]


_fromiso = datetime.fromisoformat  # kiosk.store.parse_iso, without its None
_MINUTE, _MICROSECOND = timedelta(minutes=1), timedelta(microseconds=1)
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_REMEMBERED = 100_000  # days and midnights kept at most (a few days' minutes per zone)
_days: dict[tuple, str] = {}  # (zone, UTC minute) -> the local day all of it is in
_midnights: dict[tuple, datetime] = {}  # (zone, local day) -> the next local midnight


def local_day(instant: datetime, tz: ZoneInfo) -> str:
    """instant.astimezone(tz).date().isoformat() (an aware instant), remembered
    per UTC minute: a fleet's reports count time and plays in a few minutes, and
    the conversion costs more than the rest of counting a play. A minute is
    remembered only when its local day cannot change inside it: tz's offset is
    the same at both ends of it and a whole number of minutes (so local midnight
    can only fall on the minute's start)."""
    since = instant - _EPOCH
    key = (tz, since // _MINUTE)
    day = _days.get(key)
    if day is None:
        day = instant.astimezone(tz).date().isoformat()
        start = instant - since % _MINUTE
        offset = start.astimezone(tz).utcoffset()
        if offset == (start + (_MINUTE - _MICROSECOND)).astimezone(tz).utcoffset() \
                and not offset % _MINUTE:
            if len(_days) >= _REMEMBERED:
                _days.clear()
            _days[key] = day
    return day


def _next_midnight(day: str, tz: ZoneInfo) -> datetime:
    """The instant (UTC) the local day after `day` starts in tz, remembered."""
    midnight = _midnights.get((tz, day))
    if midnight is None:
        midnight = datetime.combine(date.fromisoformat(day) + timedelta(days=1),
                                    datetime.min.time(), tzinfo=tz).astimezone(timezone.utc)
        if len(_midnights) >= _REMEMBERED:
            _midnights.clear()
        _midnights[(tz, day)] = midnight
    return midnight


def face_state(face: dict) -> str:
    """What a face in a heartbeat was doing: shown, or dark and why."""
    if face.get("blanked"):
        return "kill_switch"
    if face.get("power") == "off":
        return "power_schedule"
    if face.get("playing_sha256"):
        return "shown"
    return "error"


def split_by_day(start: datetime, end: datetime, tz: ZoneInfo):
    """(local day, seconds) for each day the interval [start, end) touches."""
    cursor = start
    while cursor < end:
        day = local_day(cursor, tz)
        stop = min(end, _next_midnight(day, tz))
        yield day, (stop - cursor).total_seconds()
        cursor = stop


def faces_of(heartbeat) -> list[dict]:
    """The faces of a heartbeat (its text, or its parsed body) that time can be
    counted for."""
    try:
        body = json.loads(heartbeat or "{}") if not isinstance(heartbeat, dict) else heartbeat
        faces = body.get("faces") or []
    except (ValueError, AttributeError):
        return []
    if not isinstance(faces, list):
        return []
    return [f for f in faces if isinstance(f, dict) and isinstance(f.get("face_id"), int)]


def count_heartbeat(conn, gate_id: str, previous: dict | None, sent_at: str | None,
                    received_at: datetime, interval_s: float, tz: ZoneInfo) -> None:
    """Add the time since the gate's previous heartbeat (`previous`: its gate_status
    row before this one) to `face_time_day`. A heartbeat that is not newer than the
    previous one (sent twice, or out of order) adds nothing."""
    totals: dict[tuple, float] = {}
    heartbeat_time(totals, gate_id, previous, sent_at, received_at, interval_s, tz)
    count_face_time(conn, totals)


def count_face_time(conn, totals: dict[tuple, float]) -> None:
    """Add `totals` ((day, gate, face, state) -> seconds, from `heartbeat_time`) to
    `face_time_day`: one statement for a whole batch of heartbeats."""
    _increment(conn, t.face_time_day, face_time_rows(totals), FACE_TIME_KEYS, ("seconds",))


FACE_TIME_KEYS = ("day", "gate_id", "face_id", "state")


def face_time_rows(totals: dict[tuple, float]) -> list[dict]:
    """heartbeat_time's `totals` as face_time_day rows to add, in key order."""
    return [{"day": k[0], "gate_id": k[1], "face_id": k[2], "state": k[3], "seconds": totals[k]}
            for k in sorted(totals)]


def heartbeat_time(totals: dict[tuple, float], gate_id: str, previous: dict | None,
                   sent_at: str | None, received_at: datetime, interval_s: float, tz: ZoneInfo,
                   previous_faces: list[dict] | None = None) -> None:
    """Add to `totals` ((day, gate, face, state) -> seconds) the time since the gate's
    previous heartbeat, as count_heartbeat counts it. `previous_faces`: the previous
    heartbeat's faces when the caller has them parsed already (else read from
    previous["heartbeat"])."""
    if previous is None:
        return

    splits: dict[tuple, list] = {}  # the faces share their interval: split it once

    def add(start: datetime, end: datetime, face_id: int, state: str) -> None:
        days = splits.get((start, end))
        if days is None:
            days = splits[start, end] = list(split_by_day(start, end, tz))
        for day, seconds in days:
            key = (day, gate_id, face_id, state)
            totals[key] = totals.get(key, 0.0) + seconds

    limit = timedelta(seconds=OFFLINE_AFTER_INTERVALS * interval_s)
    interval = timedelta(seconds=interval_s)
    # The link, as central saw it.
    last_received = _instant(previous.get("last_heartbeat_at"))
    if last_received is not None and received_at > last_received:
        if received_at - last_received > limit:
            add(last_received, last_received + interval, 0, "online")
            add(last_received + interval, received_at, 0, "offline")
        else:
            add(last_received, received_at, 0, "online")
    # The faces, as the gate saw them.
    last_sent, sent = _instant(previous.get("sent_at")), _instant(sent_at)
    if last_sent is not None and sent is not None and sent > last_sent:
        up_to = sent if sent - last_sent <= limit else last_sent + interval
        faces = (previous_faces if previous_faces is not None
                 else faces_of(previous.get("heartbeat")))
        for face in faces:
            add(last_sent, up_to, face["face_id"], face_state(face))
            if up_to < sent:
                add(up_to, sent, face["face_id"], "outage")


# ---- asking for a report --------------------------------------------------------------

@dataclass(frozen=True)
class Period:
    """Whole local days, `first` to `last` inclusive."""
    first: date
    last: date

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    def as_dict(self) -> dict:
        return {"from": self.first.isoformat(), "to": self.last.isoformat(), "days": self.days}


def _parse_day(text, message: str) -> date:
    if isinstance(text, date):
        return text
    try:
        return date.fromisoformat(str(text).strip())
    except ValueError:
        raise ReportError(say(message, day=repr(text))) from None


def period(first, last) -> Period:
    """The period from two dates (YYYY-MM-DD, both included), or a clear refusal."""
    if first in (None, "") or last in (None, ""):
        raise ReportError(say(N_("Give both the first day (--from) and the last day (--to), "
                                 "as YYYY-MM-DD.")))
    a = _parse_day(first, N_("The first day %(day)s is not a date: write YYYY-MM-DD, "
                             "e.g. 2026-11-01."))
    b = _parse_day(last, N_("The last day %(day)s is not a date: write YYYY-MM-DD, "
                            "e.g. 2026-11-30."))
    if b < a:
        raise ReportError(say(N_("The last day %(last)s is before the first day %(first)s."),
                              last=b.isoformat(), first=a.isoformat()))
    if (b - a).days + 1 > MAX_PERIOD_DAYS:
        raise ReportError(say(N_("A report covers at most %(most)s days; this period has "
                                 "%(days)s."), most=MAX_PERIOD_DAYS, days=(b - a).days + 1))
    return Period(a, b)


def month_period(month: str) -> Period:
    """'2026-11' → the whole month."""
    try:
        year, mon = (int(p) for p in str(month).strip().split("-"))
        first = date(year, mon, 1)
    except ValueError:
        raise ReportError(say(N_("The month %(month)s is not a month: write YYYY-MM, "
                                 "e.g. 2026-11."), month=repr(month))) from None
    return Period(first, date(year, mon, calendar.monthrange(year, mon)[1]))


def _gates(conn, gate_id: str | None) -> dict[str, dict]:
    q = select(t.gate.c.id, t.gate.c.name, t.gate.c.province, t.gate.c.faces).order_by(t.gate.c.id)
    if gate_id is not None:
        q = q.where(t.gate.c.id == gate_id)
    gates = {r.id: {"id": r.id, "name": r.name, "province": r.province or "",
                    "faces": json.loads(r.faces or "[]")} for r in conn.execute(q)}
    if gate_id is not None and not gates:
        raise UnknownGate(say(N_("There is no gate %(gate)s (see: gatecast central gates)."),
                              gate=repr(gate_id)))
    return gates


def _in(table, p: Period, gate_id: str | None):
    cond = [table.c.day >= p.first.isoformat(), table.c.day <= p.last.isoformat()]
    if gate_id is not None:
        cond.append(table.c.gate_id == gate_id)
    return and_(*cond)


def _airtime_sum(d):
    return func.sum(d.c.airtime_s)


def _plays_sum(d, outcomes):
    return func.coalesce(func.sum(d.c.plays).filter(d.c.outcome.in_(outcomes)), 0)


PERIOD_BY = ("total", "day", "month")


def plays(db, p: Period, gate_id: str | None = None, by: str = "total") -> list[dict]:
    """Plays and airtime per gate, face, media and playlist (and day or month when
    `by` says so). `plays` counts items shown (completed, skipped or cut short by a
    higher level); `errors` items that failed to show."""
    if by not in PERIOD_BY:
        raise ReportError(say(N_("A period is one of: %(choices)s."),
                              choices=", ".join(PERIOD_BY)))
    d, e, pl, m = t.play_day, t.schedule_entry, t.playlist, t.media
    key = {"total": literal(p.first.isoformat() + "/" + p.last.isoformat()),
           "day": d.c.day, "month": func.substr(d.c.day, 1, 7)}[by].label("period")
    with transaction(db) as conn:
        gates = _gates(conn, gate_id)
        q = (select(key, d.c.gate_id, d.c.face_id, d.c.media_sha256,
                    func.coalesce(m.c.name, "").label("media_name"),
                    func.coalesce(m.c.language, "").label("language"),
                    func.coalesce(e.c.playlist_id, "").label("playlist_id"),
                    func.coalesce(pl.c.name, "").label("playlist_name"),
                    _plays_sum(d, SHOWN_OUTCOMES).label("plays"),
                    _plays_sum(d, ("completed",)).label("completed"),
                    _plays_sum(d, ("error",)).label("errors"),
                    _airtime_sum(d).label("airtime_s"))
             .select_from(d.outerjoin(m, m.c.sha256 == d.c.media_sha256)
                          .outerjoin(e, e.c.id == d.c.entry_id)
                          .outerjoin(pl, pl.c.id == e.c.playlist_id))
             .where(_in(d, p, gate_id))
             .group_by(key, d.c.gate_id, d.c.face_id, d.c.media_sha256, m.c.name,
                       m.c.language, e.c.playlist_id, pl.c.name)
             .order_by(key, d.c.gate_id, d.c.face_id, d.c.media_sha256, e.c.playlist_id))
        out = []
        for r in conn.execute(q).mappings():
            row = dict(r)
            row["gate_name"] = gates.get(r["gate_id"], {}).get("name", "")
            row["language_name"] = language_name(row["language"])
            row["plays"], row["completed"], row["errors"] = (
                int(row["plays"]), int(row["completed"]), int(row["errors"]))
            row["airtime_s"] = round(float(row["airtime_s"] or 0), 3)
            out.append(row)
        return out


def _totals(conn, p: Period, gate_id: str | None):
    """The period's totals: seconds per (gate, face, state) and (plays, errors,
    airtime) per (day, gate, face), each table read once; the reports are summed from
    these few thousand rows in Python."""
    if conn.dialect.name == "postgresql":
        # A report is a few scans of some 100,000 rows: starting parallel workers costs
        # more than it saves, most of all on a busy host.
        conn.exec_driver_sql("SET LOCAL max_parallel_workers_per_gather = 0")
    f, d = t.face_time_day, t.play_day
    seconds = {(r.gate_id, r.face_id, r.state): float(r.seconds) for r in conn.execute(
        select(f.c.gate_id, f.c.face_id, f.c.state, func.sum(f.c.seconds).label("seconds"))
        .where(_in(f, p, gate_id)).group_by(f.c.gate_id, f.c.face_id, f.c.state))}
    plays = {}
    for r in conn.execute(
            select(d.c.day, d.c.gate_id, d.c.face_id,
                   _plays_sum(d, SHOWN_OUTCOMES).label("plays"),
                   _plays_sum(d, ("error",)).label("errors"), _airtime_sum(d).label("airtime_s"))
            .where(_in(d, p, gate_id))
            .group_by(d.c.day, d.c.gate_id, d.c.face_id)):
        plays[(r.day, r.gate_id, r.face_id)] = (int(r.plays), int(r.errors),
                                                float(r.airtime_s or 0))
    return seconds, plays


def _per_face(seconds: dict, plays: dict) -> tuple[dict, dict]:
    by_face: dict[tuple, list] = {}
    for (_day, g, face), (n, e, a) in plays.items():
        total = by_face.setdefault((g, face), [0, 0, 0.0])
        total[0] += n
        total[1] += e
        total[2] += a
    return seconds, {k: tuple(v) for k, v in by_face.items()}


def _share(airtime: float, scheduled: float) -> float | None:
    """Share of scheduled airtime shown, at most 1 (heartbeats sample the state once
    an interval, so a face may log a little more airtime than it was seen showing)."""
    return None if scheduled <= 0 else round(min(1.0, airtime / scheduled), 4)


def _uptime_row(gate: dict, face_id, seconds: dict, plays_airtime: tuple, offline: float) -> dict:
    by_state = {s: round(seconds.get((gate["id"], face_id, s), 0.0), 3) for s in FACE_STATES}
    scheduled = by_state["shown"] + by_state["error"] + by_state["outage"]
    played, errors, airtime = plays_airtime
    return {"gate_id": gate["id"], "gate_name": gate["name"], "face_id": face_id,
            "plays": played, "errors": errors, "airtime_s": round(airtime, 3),
            "scheduled_s": round(scheduled, 3), "shown_share": _share(airtime, scheduled),
            "seen_shown_s": by_state["shown"],
            **{f"dark_{c}_s": by_state[c] for c in DARK_CAUSES},
            "offline_s": round(offline, 3)}


def uptime(db, p: Period, gate_id: str | None = None) -> list[dict]:
    """Per gate and face: airtime, scheduled airtime and the share shown, dark time
    by cause, and the gate's offline time (the same on each of its faces)."""
    with transaction(db) as conn:
        gates = _gates(conn, gate_id)
        seconds, plays = _totals(conn, p, gate_id)
    return _uptime_rows(gates, *_per_face(seconds, plays))


def _uptime_rows(gates: dict, seconds: dict, airtime: dict) -> list[dict]:
    out = []
    for gate in gates.values():
        offline = seconds.get((gate["id"], 0, "offline"), 0.0)
        faces = sorted(set(gate["faces"]) | {f for (g, f, _s) in seconds if g == gate["id"] and f}
                       | {f for (g, f) in airtime if g == gate["id"]})
        for face_id in faces:
            out.append(_uptime_row(gate, face_id, seconds, airtime.get((gate["id"], face_id),
                                                                        (0, 0, 0.0)), offline))
    return out


def language_name(code: str | None) -> str:
    """A media item's language for the report: 'Tiếng Việt'; a text slide in
    several languages 'Tiếng Việt + Tiếng Anh'; none recorded 'không xác định'."""
    from kiosk.text.fonts import LANGUAGES

    codes = [c for c in (code or "").split(",") if c]
    if not codes:
        return say(N_("unspecified"))
    # LANGUAGES' English names are the catalogue's msgids (the Library page says them too).
    return " + ".join(say(LANGUAGES.get(c, c)) for c in codes)


def _languages(conn, p: Period) -> list[dict]:
    """Plays and airtime per language of the media shown (central's library
    `media.language`). A text slide in several languages counts once, under its
    combination ('vi,en'); media with no language, or not in the library, under
    '' (unspecified). `airtime_share` is the language's part of all airtime."""
    d, m = t.play_day, t.media
    lang = func.coalesce(m.c.language, "")
    rows = [dict(r._mapping) for r in conn.execute(
        select(lang.label("language"), _plays_sum(d, SHOWN_OUTCOMES).label("plays"),
               _plays_sum(d, ("error",)).label("errors"), _airtime_sum(d).label("airtime_s"),
               func.count(func.distinct(d.c.media_sha256)).label("media"))
        .select_from(d.outerjoin(m, m.c.sha256 == d.c.media_sha256))
        .where(_in(d, p, None)).group_by(lang))]
    total = sum(float(r["airtime_s"] or 0) for r in rows)
    for r in rows:
        r["plays"], r["errors"], r["media"] = int(r["plays"]), int(r["errors"]), int(r["media"])
        r["airtime_s"] = round(float(r["airtime_s"] or 0), 3)
        r["language_name"] = language_name(r["language"])
        r["airtime_share"] = _share(r["airtime_s"], total)
    return sorted(rows, key=lambda r: (-r["airtime_s"], r["language"]))


def period_words(p: Period) -> str:
    """'tháng 11/2026' for a whole month, else 'từ 01/11/2026 đến 15/11/2026'."""
    whole = (p.first.day == 1 and p.last == month_period(p.first.strftime("%Y-%m")).last)
    if whole:
        return say(N_("month %(month)s"), month=f"{p.first.month:02d}/{p.first.year}")
    return say(N_("from %(first)s to %(last)s"), first=f"{p.first:%d/%m/%Y}",
               last=f"{p.last:%d/%m/%Y}")


def monthly_title(report: dict) -> str:
    p = Period(date.fromisoformat(report["period"]["from"]),
               date.fromisoformat(report["period"]["to"]))
    return say(N_("Report on the public electronic information clusters at the border gates, "
                  "%(period)s"), period=period_words(p))


def monthly(db, p: Period) -> dict:
    """The province's report for a period (normally a month): totals, per gate,
    per day (for the charts) and the most shown media."""
    with transaction(db) as conn:
        all_gates = _gates(conn, None)
        seconds, plays = _totals(conn, p, None)
        d, m = t.play_day, t.media
        top = [dict(r._mapping) for r in conn.execute(
            select(d.c.media_sha256, func.coalesce(m.c.name, "").label("media_name"),
                   _plays_sum(d, SHOWN_OUTCOMES).label("plays"), _airtime_sum(d).label("airtime_s"),
                   func.count(func.distinct(d.c.gate_id)).label("gates"))
            .select_from(d.outerjoin(m, m.c.sha256 == d.c.media_sha256))
            .where(_in(d, p, None)).group_by(d.c.media_sha256, m.c.name)
            .order_by(_airtime_sum(d).desc(), d.c.media_sha256).limit(20))]
        languages = _languages(conn, p)
        f = t.face_time_day
        scheduled_by_day = {r.day: float(r.seconds) for r in conn.execute(
            select(f.c.day, func.sum(f.c.seconds).label("seconds"))
            .where(_in(f, p, None), f.c.face_id != 0, f.c.state.in_(("shown", "error", "outage")))
            .group_by(f.c.day))}
    for row in top:
        row["plays"], row["airtime_s"] = int(row["plays"]), round(float(row["airtime_s"] or 0), 3)
    faces = _uptime_rows(all_gates, *_per_face(seconds, plays))
    daily: dict[str, list] = {}
    for (day, _gate, _face), (n, _e, a) in plays.items():
        total = daily.setdefault(day, [0, 0.0])
        total[0] += n
        total[1] += a
    days = []
    for i in range(p.days):
        day = (p.first + timedelta(days=i)).isoformat()
        played, airtime = daily.get(day, (0, 0.0))
        days.append({"day": day, "plays": played, "airtime_s": round(airtime, 3),
                     "scheduled_s": round(scheduled_by_day.get(day, 0.0), 3),
                     "shown_share": _share(airtime, scheduled_by_day.get(day, 0.0))})
    gates: dict[str, dict] = {}
    sums = ("plays", "errors", "airtime_s", "scheduled_s", "seen_shown_s",
            *(f"dark_{c}_s" for c in DARK_CAUSES))
    for f in faces:
        g = gates.setdefault(f["gate_id"], {"gate_id": f["gate_id"], "gate_name": f["gate_name"],
                                            "faces": 0, "offline_s": f["offline_s"],
                                            **{k: 0 for k in sums}})
        g["faces"] += 1
        for k in sums:
            g[k] += f[k]
    for g in gates.values():
        g["shown_share"] = _share(g["airtime_s"], g["scheduled_s"])
        for k in sums:
            g[k] = round(g[k], 3) if isinstance(g[k], float) else g[k]
    province = {k: round(sum(g[k] for g in gates.values()), 3) for k in (*sums, "offline_s")}
    province["gates"] = len(gates)
    province["faces"] = len(faces)
    province["shown_share"] = _share(province["airtime_s"], province["scheduled_s"])
    return {"period": p.as_dict(), "province": province, "gates": list(gates.values()),
            "faces": faces, "days": days, "top_media": top, "languages": languages}
