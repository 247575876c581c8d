"""What the player, power, sync and text areas record, in the reader's language.

Every event is stored as a code with parameters (`event.code`, `event.detail`;
kiosk.store.log_event) and an English sentence for the logs on the controller.
The admin renders the code from the table below, in the reader's language;
the parameters fill it in. tests/admin/test_admin_events.py fails when a code
recorded anywhere in kiosk/ has no entry here, and the catalogue check fails
when an entry lacks its Vietnamese text.

Some failures carry technical text from a library (mpv, urllib3, OpenSSL, the
compositor): those codes are in TECHNICAL and add the cause after the sentence,
said in the reader's language when admin/technical.py knows it, else as it is,
marked as the technical detail.
"""

from __future__ import annotations

import re
from typing import Any, Callable

from admin import technical
from kiosk.power import words


def N_(text: str) -> str:
    """Marks a message for the catalogue; translated when rendered."""
    return text


EVENTS: dict[str, str] = {
    # --- power ----------------------------------------------------------------
    "override_set": N_("%(by)s switched %(who)s %(state)s until %(until)s%(reason)s"),
    "override_cleared": N_("%(by)s returned %(who)s to the power schedule"),
    "override_expired": N_("The manual power override of %(who)s ended"),
    "blank_on": N_("%(by)s blanked every face%(relays)s: %(reason)s"),
    "blank_off": N_("%(by)s released the kill switch"),
    "windows_set": N_("%(by)s set %(count)s power window(s) for %(who)s"),
    "relay_on": N_("%(who)s: relay switched on (%(source)s)"),
    "relay_off": N_("%(who)s: relay switched off (%(source)s)"),
    "relays_simulated": N_("No GPIO on this controller: the relays are simulated and the screens' "
                           "power is not switched"),
    "relay_failed": N_("%(who)s: the relay cannot be driven"),
    "bad_power_row": N_("A power schedule row is invalid and ignored"),
    "health_alarm": N_("Alarm: %(alarm)s"),
    "health_alarm_cleared": N_("Alarm over: %(alarm_name)s"),
    # --- player ---------------------------------------------------------------
    "player_started": N_("The player started"),
    "mpv_start_failed": N_("mpv cannot start on output %(output)s"),
    "mpv_died": N_("mpv on output %(output)s stopped; the player restarts it"),
    "mpv_command_failed": N_("mpv on output %(output)s did not take the new playlist; the player "
                             "restarts it"),
    "band_mpv_start_failed": N_("The ticker band's mpv cannot start on output %(output)s; the player "
                                "tries again"),
    "band_mpv_died": N_("The ticker band's mpv on output %(output)s stopped; the player restarts it"),
    "band_mpv_failing": N_("The ticker band's mpv on output %(output)s keeps failing (%(failures)s times "
                           "in a row); the band is missing while the player keeps restarting it"),
    "band_mpv_back": N_("The ticker band's mpv on output %(output)s runs again"),
    "media_error": N_("An item could not be played on output %(output)s and was skipped"),
    "media_skipped": N_("An item cannot be played and is skipped"),
    "no_display": N_("The screens' display (%(display)s) cannot be reached; the player keeps trying"),
    "display_back": N_("The screens' display (%(display)s) can be reached again"),
    "faces_identify": N_("%(by)s had every face show its number and name for %(seconds)s s"),
    "mirrored_schedule_ignored": N_("This face shares its picture with face %(shows_face)s, so it shows "
                                    "face %(shows_face)s's schedule, not its own"),
    # --- text -----------------------------------------------------------------
    "font_missing": N_("No installed font can draw %(language)s: notices in it are refused"),
    "ticker_text_refused": N_("A ticker notice cannot be drawn and is not shown"),
    "notice_unrenderable": N_("A slide notice cannot be drawn and is not shown"),
    "notice_set": N_("%(by)s put up a %(level)s %(kind)s notice (%(until)s)"),
    "notice_cleared": N_("%(by)s withdrew a notice"),
    # --- sync -----------------------------------------------------------------
    "play_rejected": N_("Central refused a proof-of-play record (HTTP %(status)s); it stays on "
                        "the gate"),
    "heartbeat_rejected": N_("Central refused a queued heartbeat (HTTP %(status)s); it was dropped"),
    "screenshot_rejected": N_("Central refused a screenshot of %(who)s (HTTP %(status)s); it was "
                              "dropped"),
    "central_playlist_kept": N_("Release %(version)s no longer has playlists that local schedule "
                                "entries use; they keep their last content"),
    "sync_recovered": N_("Sync with central works again"),
    "release_activated": N_("Release %(version)s is now shown"),
    "central_blank_on": N_("Central blanked %(faces)s (by %(by)s, release %(version)s): "
                           "%(reason)s. Only central can release it"),
    "central_blank_off": N_("Central released its kill switch (by %(by)s, release %(version)s): "
                            "%(reason)s"),
    "clock_skew": N_("This gate's clock and central's differ by %(skew)s"),
    "queue_dropped": N_("The upstream queue is full: the oldest %(screenshot)s screenshot(s) and "
                        "%(heartbeat)s heartbeat(s) were dropped; proof of play is kept"),
}

# Why a pull failed (kiosk.sync.pull.classify, kiosk.sync.loop): recorded as sync_<code>.
SYNC_FAILURES: dict[str, str] = {
    "not_configured": N_("sync is not set up (no central address)"),
    "network": N_("central cannot be reached"),
    "unauthorised": N_("central refused this gate's token"),
    "expired": N_("the signed data from central has expired"),
    "expired_clock_untrusted": N_("the signed data looks expired, but this gate's clock is not "
                                  "synchronised: the clock may be wrong"),
    "bad_signature": N_("a signature does not verify"),
    "rollback": N_("central offered older signed data (refused)"),
    "tampered": N_("downloaded bytes do not match what central signed"),
    "unsigned_media": N_("the release names media central did not sign"),
    "release_rollback": N_("central offered an older release (refused)"),
    "bad_release": N_("the release is malformed"),
    "bad_metadata": N_("the signed data is malformed"),
    "disk_full": N_("not enough disk space for the release"),
    "local_error": N_("an error on this gate"),
    "no_release": N_("central has no release for this gate yet"),
}
# How the last report round went (state key sync.upstream, kiosk/sync/loop.py).
UPSTREAM: dict[str, str] = {
    "ok": N_("sent"),
    "offline": N_("not sent: central cannot be reached or did not store them; they stay queued"),
    "unauthorised": N_("not sent: central refused this gate's token; they stay queued"),
    "not_configured": N_("not sent: sync is not set up (no central address)"),
}
SYNC_FAILED = N_("Sync failed: %(why)s. The screens keep the last verified release")
for _code in SYNC_FAILURES:
    EVENTS["sync_" + _code] = SYNC_FAILED

# Controller health alarms: their sentences and short names live with the
# power area (kiosk/power/words.py), which the gate's command line says too.
ALARMS, ALARM_NAMES = words.ALARMS, words.ALARM_NAMES

TECHNICAL = {"no_display", "relay_failed", "bad_power_row", "mpv_start_failed", "mpv_died", "mpv_command_failed",
             "band_mpv_start_failed", "band_mpv_died", "band_mpv_failing",
             "media_error", "media_skipped", "font_missing", "ticker_text_refused",
             "notice_unrenderable"} | {"sync_" + c for c in SYNC_FAILURES if c not in (
                 "not_configured", "no_release")}

RELAY_SOURCES = {"schedule": N_("power schedule"), "override": N_("manual override"),
                 "blank": N_("kill switch"), "central_blank": N_("central's kill switch"),
                 "start": N_("start-up"), "always": N_("no schedule")}

LANGUAGE_NAMES = {"vi": N_("Vietnamese"), "en": N_("English"), "zh": N_("Chinese"),
                  "lo": N_("Lao"), "km": N_("Khmer")}

PLAY_OUTCOMES = {"completed": N_("played to the end"), "skipped": N_("skipped"),
                 "error": N_("failed"), "preempted": N_("cut short"), "playing": N_("playing")}


# The audit log's actions (admin/services/*: audit.record).
AUDIT_ACTIONS = {
    "settings.save": N_("settings saved"), "media.refused": N_("upload refused"),
    "media.upload": N_("media uploaded"), "media.delete": N_("media deleted"),
    "notice.create": N_("notice put up"), "notice.withdraw": N_("notice withdrawn"),
    "power.on": N_("switched on by hand"), "power.off": N_("switched off by hand"),
    "power.auto": N_("power back to automatic"), "power.windows": N_("power schedule saved"),
    "blank.on": N_("kill switch on"), "blank.off": N_("kill switch released"),
    "playlist.save": N_("playlist saved"), "playlist.delete": N_("playlist deleted"),
    "entry.save": N_("schedule entry saved"), "entry.delete": N_("schedule entry deleted"),
    "fallback.set": N_("fallback set"), "user.create": N_("account created"),
    "user.update": N_("account changed"), "login": N_("logged in"),
    "login.failed": N_("login failed"), "logout": N_("logged out"),
    "sessions.end": N_("signed out everywhere"), "token.create": N_("API token created"),
    "token.revoke": N_("API token revoked"), "faces.save": N_("faces and screens saved"),
    "player.restart": N_("player restarted"), "faces.identify": N_("faces identified"),
}

# Field names in the audit log's before/after values.
AUDIT_FIELDS = {
    "want": N_("wanted"), "source": N_("because of"), "until": N_("until"), "override": N_("override"),
    "reason": N_("reason"), "for": N_("for"), "state": N_("state"), "name": N_("name"),
    "role": N_("role"), "disabled": N_("disabled"), "level": N_("level"), "faces": N_("faces"),
    "weekdays": N_("weekdays"), "start_time": N_("from"), "end_time": N_("until"),
    "start_date": N_("first date"), "end_date": N_("last date"), "enabled": N_("active"),
    "playlist_id": N_("playlist"), "kind": N_("kind"), "texts": N_("text"),
    "expires_at": N_("expires"), "active": N_("active"), "by": N_("by"), "since": N_("since"),
    "power_off": N_("relays off"), "items": N_("items"), "size": N_("size"), "format": N_("format"),
    "language": N_("language"), "username": N_("user name"), "start": N_("on from"),
    "end": N_("off at"), "overrides": N_("overrides"), "face_id": N_("face"),
    "until_boundary": N_("until the next schedule change"), "starts_at": N_("starts"),
    "withdrawn_at": N_("withdrawn"), "not_before": N_("not before"), "not_after": N_("not after"),
    "playlist_name": N_("playlist"), "width": N_("width"), "height": N_("height"),
    "duration_s": N_("length (s)"), "approved": N_("approved"), "last_login_at": N_("last login"),
    "media_sha256": N_("media"), "blanked_by": N_("blanked by"),
}
# Internal fields (hashes, ids, bookkeeping) that say nothing to a technician.
AUDIT_HIDDEN = {"id", "sha256", "password_hash", "epoch", "created_at", "created_by", "updated_at",
                "override_id", "token_sha256", "style", "position"}


# The report round's queue (kiosk.sync.outbox.pending), each part said when not empty.
QUEUED = (("heartbeats", N_("%(n)s heartbeat(s)")),
          ("proof_of_play", N_("%(n)s proof-of-play record(s)")),
          ("screenshots", N_("%(n)s screenshot(s)")))


class Renderer:
    """Renders events, alarms and proof-of-play outcomes with one request's
    gettext and time formatting (admin.web supplies both)."""

    def __init__(self, gettext: Callable, local_time: Callable[[str], str], size: Callable):
        self._ = gettext
        self.local_time = local_time
        self.size = size

    # ---- pieces ---------------------------------------------------------------
    def who(self, face_id) -> str:
        return self._("every face") if face_id in (None, "", "all") else self._(
            "face %(face)s", face=face_id)

    def state(self, state) -> str:
        return {"on": self._("on"), "off": self._("off")}.get(state, str(state))

    def level(self, level) -> str:
        names = {"emergency": self._("emergency"), "priority": self._("priority"),
                 "normal": self._("normal")}
        return names.get(level, str(level))

    def duration(self, seconds) -> str:
        from kiosk.web import formatting

        return formatting.duration(seconds, self._)

    def alarm(self, alarm: dict) -> str:
        return words.alarm(alarm, self._, self.size)

    # ---- events ---------------------------------------------------------------
    def params(self, code: str, detail: dict, face_id) -> dict[str, Any]:
        d = dict(detail or {})
        p: dict[str, Any] = {"who": self.who(face_id if face_id is not None else d.get("face"))}
        p["by"] = d.get("by") or self._("someone")
        if code == "override_set":
            p["state"] = self.state(d.get("state"))
            p["until"] = (self.local_time(d["expires_at"]) if d.get("expires_at")
                          else self._("the next schedule change"))
            p["reason"] = (": " + d["reason"]) if d.get("reason") else ""
        elif code == "blank_on":
            p["relays"] = self._(" and switched the relays off") if d.get("power_off") else ""
            p["reason"] = d.get("reason") or ""
        elif code in ("central_blank_on", "central_blank_off"):
            faces = d.get("faces") or []
            p["faces"] = (self._("every face") if not faces else
                          ", ".join(self.who(f) for f in faces))
            p["reason"] = d.get("reason") or ""
        elif code == "windows_set":
            p["count"] = len(d.get("windows") or [])
        elif code in ("relay_on", "relay_off"):
            p["source"] = self._(RELAY_SOURCES.get(d.get("source"), str(d.get("source"))))
        elif code == "health_alarm":
            p["alarm"] = self.alarm(d)
        elif code == "health_alarm_cleared":
            p["alarm_name"] = words.alarm_name(d.get("alarm"), self._)
        elif code == "font_missing":
            p["language"] = self._(LANGUAGE_NAMES.get(d.get("language"), str(d.get("language"))))
        elif code == "notice_set":
            p["level"] = self.level(d.get("level"))
            p["kind"] = {"ticker": self._("ticker"), "slide": self._("slide")}.get(
                d.get("kind"), str(d.get("kind")))
            p["until"] = (self._("until %(time)s", time=self.local_time(d["expires_at"]))
                          if d.get("expires_at") else self._("until withdrawn"))
        elif code == "clock_skew":
            p["skew"] = self.duration(abs(float(d.get("skew_s", 0))))
        elif code.startswith("sync_") and code[5:] in SYNC_FAILURES:
            p["why"] = self._(SYNC_FAILURES[code[5:]])
        elif code == "screenshot_rejected":
            p["who"] = self.who(d.get("face", face_id))
        for key in ("output", "status", "version", "screenshot", "heartbeat", "display", "seconds",
                    "failures"):
            if key in d and key not in p:
                p[key] = d[key]
        return p

    def event(self, code: str | None, detail: dict | None, face_id=None, message: str = "") -> str:
        """One event in the reader's language; the stored English sentence when
        the code is unknown (events older than this catalogue) or a parameter
        is missing."""
        template = EVENTS.get(code or "")
        if template is None:
            return message
        try:
            text = self._(template) % self.params(code, detail or {}, face_id)
        except (KeyError, ValueError, TypeError):
            return message
        if code in TECHNICAL and message:
            text += " — " + self.cause(message)
        return text

    def technical(self, message: str) -> str:
        """A library's error text in the reader's language (admin/technical.py),
        or as it is when its cause is not known."""
        return technical.say(message, self._)[0]

    def cause(self, message: str) -> str:
        text, understood = technical.say(message, self._)
        return (self._("cause: %(detail)s", detail=text) if understood
                else self._("technical detail: %(detail)s", detail=text))

    # ---- sync state ---------------------------------------------------------------
    def sync_state(self, sync: dict | None) -> str:
        """The last pull (state key `sync`, kiosk/sync/status.py) in words."""
        sync = sync or {}
        status = sync.get("status")
        if not status:
            return self._("no sync yet")
        if status == "failed":
            code = sync.get("code") or "local_error"
            why = self._(SYNC_FAILURES[code]) if code in SYNC_FAILURES else code
            text = self._("failed: %(why)s", why=why)
            if sync.get("reason") and ("sync_" + code) in TECHNICAL:
                text += " — " + self.cause(sync["reason"])
            return text
        return {"activated": self._("up to date (a new release was just activated)"),
                "unchanged": self._("up to date"),
                "no_release": self._(SYNC_FAILURES["no_release"])}.get(status, status)

    def upstream_state(self, sync: dict | None) -> str:
        """The last report round (heartbeat, proof of play, screenshots) in words:
        its outcome, the technical cause when it failed, what is still queued."""
        up = (sync or {}).get("upstream") or {}
        code = up.get("status")
        if not code:
            return self._("no report sent yet")
        text = self._(UPSTREAM[code]) if code in UPSTREAM else code
        if code == "offline" and up.get("error"):
            text += " — " + self.cause(up["error"])
        waiting = up.get("pending") or {}
        # Only what is queued: "0 screenshots" would be a line to read for nothing.
        queued = [self._(words, n=waiting[kind]) for kind, words in QUEUED if waiting.get(kind)]
        if queued:
            text += " · " + self._("queued: %(what)s", what=", ".join(queued))
        return text

    def sync_round(self, sync: dict | None) -> list[str]:
        """`gatecast sync --once` and `--status`: the pull and the reports, one line each."""
        sync = sync or {}
        poll = sync.get("last_poll") or {}
        pull = self._("Pull: %(state)s", state=self.sync_state(sync))
        if sync.get("last_good_release_version") is not None:
            pull += "; " + self._("release %(version)s on the screens",
                                  version=sync["last_good_release_version"])
        if poll:
            pull += "; " + self._("%(requests)s request(s), %(bytes)s bytes",
                                  requests=poll.get("requests", 0), bytes=poll.get("bytes", 0))
        return [pull, self._("Reports: %(state)s", state=self.upstream_state(sync))]

    # ---- audit log -----------------------------------------------------------------
    def action(self, action: str) -> str:
        return self._(AUDIT_ACTIONS[action]) if action in AUDIT_ACTIONS else action

    def target(self, target: str) -> str:
        if target in ("every face", "all"):
            return self._("every face")
        m = re.fullmatch(r"face (\d+)", target or "")
        return self.who(int(m.group(1))) if m else (target or "")

    def values(self, before, after) -> tuple[str, str]:
        """Before and after as "field: value" in the reader's language; when
        both are records, only the fields that changed."""
        if isinstance(before, dict) and isinstance(after, dict):
            keys = [k for k in dict.fromkeys([*before, *after]) if before.get(k) != after.get(k)]
            if not keys:
                return self._("no change"), self._("no change")
            return self._fields(before, keys), self._fields(after, keys)
        return self._value_text(before), self._value_text(after)

    def _value_text(self, value) -> str:
        if value is None:
            return ""
        if isinstance(value, dict):
            return self._fields(value, list(value))
        return self._value(value)

    def _fields(self, record: dict, keys: list) -> str:
        parts = []
        for k in keys:
            if k in AUDIT_HIDDEN:
                continue
            label = self._(AUDIT_FIELDS[k]) if k in AUDIT_FIELDS else k
            parts.append(f"{label}: {self._value(record.get(k))}")
        return "; ".join(parts)

    def _value(self, v) -> str:
        if v is None or v == "":
            return "—"
        if isinstance(v, bool):
            return self._("yes") if v else self._("no")
        if isinstance(v, list):
            return ", ".join(self._value(x) for x in v) or "—"
        if isinstance(v, dict):
            return "{" + self._fields(v, list(v)) + "}"
        if isinstance(v, str):
            if v in ("on", "off"):
                return self.state(v)
            if v in ("emergency", "priority", "normal"):
                return self.level(v)
            if v in RELAY_SOURCES:
                return self._(RELAY_SOURCES[v])
            if re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d", v):
                return self.local_time(v)
        return str(v)

    # ---- proof of play ----------------------------------------------------------
    def outcome(self, outcome: str | None, reason: str | None) -> str:
        text = self._(PLAY_OUTCOMES[outcome]) if outcome in PLAY_OUTCOMES else str(outcome or "")
        why = self.play_reason(reason)
        return f"{text}: {why}" if why else text

    def play_reason(self, reason: str | None) -> str:
        """The player's reasons (kiosk/player) are short English phrases: the
        known ones are said in the reader's language, others shown as they are."""
        if not reason:
            return ""
        r = reason.strip()
        m = re.fullmatch(r"preempted by (\w+)", r)
        if m:
            return self._("an item of level %(level)s took over", level=self.level(m.group(1)))
        if r.startswith("preempted: "):
            r = r[len("preempted: "):]
        if r.startswith("dark: "):
            causes = [self._dark(c.strip()) for c in r[len("dark: "):].split(";")]
            return self._("the face went dark (%(why)s)", why=", ".join(causes))
        known = {
            "schedule changed": self._("the schedule changed"),
            "face dark": self._("the face went dark"),
            "nothing to show": self._("nothing to show"),
            "nothing scheduled": self._("nothing scheduled"),
            "no playable item in the playlist": self._("no playable item in the playlist"),
            "player stopped": self._("the player stopped"),
        }
        return known.get(r, reason)

    def _dark(self, cause: str) -> str:
        return {"blanked": self._("kill switch"), "off": self._("switched off"),
                "powered off": self._("switched off")}.get(cause, cause)
