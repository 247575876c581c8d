"""Checks shared by the central modules, and the error they raise: input
from the CLI, the management desk and gates is refused with a message for
the operator, before anything is stored.

A refusal with a `code` (like the gate's LayoutError) is said in the
reader's language by `in_words`: the console and the JSON API in the
request's language, the CLI in the province's (Vietnamese). str() stays the
English sentence, for logs and scripts. Every code has a sentence in
SENTENCES (tests/central/test_central_checks.py fails on one without)."""

from __future__ import annotations

import re
from typing import Any

from kiosk.web.i18n import N_

ID_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")

# The coded refusals' sentences (English msgids; central's catalogue holds
# the Vietnamese). `what` is one of WHAT's keys, said in words too.
SENTENCES: dict[str, str] = {
    "id_format": N_("A %(what)s id is 1 to 63 lower-case letters (a–z), digits, “-” or “_”, "
                    "starting with a letter or a digit (not “%(value)s”)."),
    "numbers": N_("The %(what)s are whole numbers from %(lo)s to %(hi)s (not %(value)s)."),
    "numbers_empty": N_("Choose at least one of the %(what)s (%(lo)s to %(hi)s)."),
    "name_not_text": N_("The %(what)s must be text."),
    "name_control": N_("The %(what)s must not contain control characters (line breaks, tabs)."),
    "name_long": N_("The %(what)s is limited to %(limit)s characters."),
    # central.publish: a gate whose content uses media not approved yet keeps its release.
    "unapproved": N_("Gate %(gate)s keeps what it shows now: it uses media not approved yet "
                     "(%(items)s)."),
    "unapproved_item": N_("%(name)s (%(sha)s) in playlist %(playlist)s"),
    "unapproved_background": N_("%(name)s (%(sha)s), the background of %(slide)s"),
    "scope_empty": N_("There is no gate in that choice (an empty group?)."),
    "media_file_missing": N_("The file of media %(value)s is missing from the library folder: "
                             "nothing was published. Tell the server's administrator."),
    # central.publish: what a build leaves out (warnings, central.checks.Said).
    "warn_retired": N_("Gate %(gate)s: playlist %(playlist)s skips %(name)s, which is retired."),
    "warn_dates": N_("Gate %(gate)s: playlist %(playlist)s leaves out %(name)s (it may be shown "
                     "only %(from_day)s – %(until_day)s)."),
    "warn_playlist_empty": N_("Gate %(gate)s: playlist %(playlist)s has nothing that can be "
                              "published, so it is left out."),
    "warn_emergency_playlist": N_("Gate %(gate)s: the emergency's playlist has nothing approved "
                                  "and within its dates to show any more; only its text is "
                                  "shown."),
    # central.feed: the gates could not be told at once (they find the release at their poll).
    "feed_origin_behind": N_("The gates were not told of repository version %(version)s: the "
                             "static origin %(origin)s still did not serve it after %(seconds)s s. "
                             "They find it at their next poll."),
    "feed_unreachable": N_("The change feed at %(url)s cannot be reached: gates find the new "
                           "release at their next poll. Tell the server's administrator."),
    "feed_partial": N_("The change feed took %(told)s of %(count)s messages; the other gates "
                       "find the new release at their next poll."),
    "nothing_published": N_("Nothing was published: every gate chosen uses media not approved "
                            "yet. %(held)s"),
    # central.library: media and playlists.
    "sha_short": N_("Give at least 8 hex digits of the media's sha256 (not “%(value)s”)."),
    "sha_ambiguous": N_("%(value)s… names more than one media item; give more digits."),
    "background_image": N_("%(name)s: the background must be an image in the library."),
    "slide_spec_long": N_("%(name)s: a text slide is limited to %(limit)s bytes."),
    "playlist_empty": N_("A playlist needs at least one item."),
    "media_retired": N_("%(name)s (%(sha)s) is retired: it cannot go into a playlist."),
    "item_duration": N_("An item's duration is a number of seconds above 0, at most 24 hours "
                        "(not %(value)s)."),
    "sha256_format": N_("“%(value)s” is not a media id: a sha256 is 64 hex digits (0–9, a–f)."),
    # The gate's own rules for a text slide's spec and a text (kiosk.text.slide.SlideError,
    # kiosk.text.fonts.FontError): only the CLI and the API can send these.
    "slide_json": N_("The text slide is not JSON."),
    "slide_object": N_("The text slide must be a JSON object."),
    "slide_format": N_("Slide format %(value)s is unknown (the gates read format %(reads)s)."),
    "slide_empty": N_("Write the slide's title or text in at least one language."),
    "slide_languages": N_("“languages” is a list of different language codes."),
    "slide_language_text": N_("The slide lists %(lang)s among its languages but has no "
                              "%(lang)s text."),
    "slide_too_many": N_("A text slide shows at most %(most)s languages (this one has "
                         "%(count)s)."),
    "slide_layout": N_("The layout is “stacked” or “in_turn” (not “%(value)s”)."),
    "slide_align": N_("The alignment is “center” or “left” (not “%(value)s”)."),
    "slide_duration": N_("A slide is shown for 1 to 3600 seconds (not %(value)s)."),
    "slide_shade": N_("The shade is a number from 0 to 1 (not %(value)s)."),
    "slide_fit": N_("The text does not fit on the face even in the smallest letters: shorten "
                    "it."),
    "slide_background_missing": N_("The slide's background picture %(value)s is missing from "
                                   "the library folder."),
    "slide_colour": N_("“%(value)s” is not a colour like #0B3D91."),
    "text_language": N_("“%(value)s” is not a language the gates show (vi, zh, lo, km, en)."),
    "text_not_text": N_("A text must be text."),
    "text_control": N_("A text contains the control character %(char)s: remove it."),
    "text_map": N_("The texts are given per language, like {\"vi\": \"…\", \"en\": \"…\"}."),
    # central.assign and central.fleet: assignments and gates.
    "instant_format": N_("“%(value)s” is not a date and time."),
    "instant_no_offset": N_("%(value)s needs a UTC offset, e.g. +07:00."),
    "level_unknown": N_("Choose a level: emergency, priority or normal (not “%(value)s”)."),
    "power_time": N_("%(v)s is not a time of day: use HH:MM from 00:00 to 23:59 (or 24:00 as "
                      "an end)."),
    "face_id": N_("Faces are numbered 1 to 4 (not %(value)s)."),
    "notice_kind": N_("A notice is a ticker or a slide notice (not “%(value)s”)."),
    "assignment_table": N_("“%(value)s” is not a kind of assignment."),
    "gate_exists": N_("Gate %(gate)s is already registered."),
    "target_kind": N_("Assign to a gate, a group or the whole province (not “%(value)s”)."),
    "tile_url": N_("The map tile address must be an http(s) URL with {z}, {x} and {y} "
                   "(not “%(value)s”)."),
    # Something named that does not exist (NotFound; the API answers 404).
    "gate_unknown": N_("There is no gate “%(value)s”."),
    "group_unknown": N_("There is no group “%(value)s”."),
    "playlist_unknown": N_("There is no playlist “%(value)s”."),
    "media_unknown": N_("There is no media %(value)s in the library."),
    "emergency_unknown": N_("There is no emergency %(value)s."),
    "row_unknown": N_("There is no %(what)s %(value)s (removed already?)."),
    # central.manage: the shape of a management API request.
    "json_object": N_("Send a JSON object with Content-Type: application/json."),
    "gate_or_group": N_("Give exactly one of “gate” or “group”."),
    "upload_name": N_("Send the file as the request body, with its name in the X-Filename "
                      "header."),
    "items_shape": N_("“items” is a list like [{\"sha256\": …, \"duration_s\": null}]."),
    "unknown_fields": N_("Unknown field(s) for %(kind)s: %(fields)s."),
    "texts_shape": N_("“texts” is an object like {\"vi\": \"…\", \"en\": \"…\"}."),
    "id_list": N_("“%(key)s” is a list of ids."),
    "token_shape": N_("“token” is the text GET /publish/preview gave."),
    "state_unknown": N_("The state is one of %(states)s."),
    # central.emergency: EmergencyError's codes, keyed "emergency_<code>" (its
    # API code stays <code>; PublicationError has a "reason" of its own).
    "emergency_target": N_("Not a target: %(value)s."),
    "emergency_no_target": N_("Choose at least one gate, group or the whole province."),
    "emergency_no_gate": N_("No gate in those targets (an empty group?)."),
    "emergency_glyphs": N_("The %(lang)s text cannot be shown: the gates' fonts have no glyph "
                           "for %(chars)s. Change the text."),
    "emergency_text": N_("A text is not valid: use the languages vi, zh, lo, km, en and no "
                         "control characters."),
    "emergency_reason": N_("Say why (the reason is kept in the audit log)."),
    "emergency_reason_long": N_("The reason is at most %(limit)s characters."),
    "emergency_duration": N_("An emergency lasts more than 0 and at most 24 hours."),
    "emergency_empty": N_("Write the text in at least one language, or choose a playlist."),
    "emergency_playlist_unapproved": N_("The playlist has media that is not approved yet."),
    "emergency_playlist_dates": N_("The playlist has media that may not be shown today "
                                   "(%(day)s): %(media)s. Choose another playlist, or send "
                                   "the text alone."),
    "emergency_not_live": N_("This emergency has already ended."),
    # central.publication: PublicationError's codes, keyed "publication_<code>" (its API
    # code stays <code>); a stale form (nothing stored yet) has a sentence of its own.
    "publication_token": N_("The preview token is not one this server made; look at the "
                            "preview again."),
    "publication_stale": N_("Request %(id)s is out of date: someone changed or published "
                            "%(gates)s since it was submitted. Nothing was published; look at "
                            "the preview again and submit a new request."),
    "publication_form_stale": N_("Someone changed or published %(gates)s since this preview was "
                                 "made; nothing was stored. Look at the preview again."),
    "publication_nothing_to_publish": N_("Nothing to publish: the gates already show this "
                                         "content."),
    "publication_held_back": N_("Nothing to publish: the gates already show this content or "
                                "are held back (%(why)s)."),
    "publication_decided": N_("Request %(id)s was already decided (%(state)s)."),
    "publication_reason": N_("Say why it is rejected (the submitter reads it)."),
    "publication_four_eyes": N_("Four eyes: nobody approves what they themselves submitted. "
                                "%(name)s submitted this; another approver must approve it."),
    "request_unknown": N_("No publication request %(id)s."),
    "targets_shape": N_("“targets” is a list like [\"gate:a\", \"group:b\", \"province\"]."),
    # kiosk.schedule_entry.EntryError's codes (central.assign.EntryRefused), keyed
    # "entry_<code>": the gate's own rules for a schedule entry.
    "entry_time_of_day": N_("%(v)s is not a time of day: use HH:MM from 00:00 to 23:59."),
    "entry_end_time_of_day": N_("%(v)s is not a time of day: use HH:MM from 00:00 to 23:59 "
                                "(or 24:00 as an end)."),
    "entry_date": N_("%(v)s is not a date (YYYY-MM-DD)."),
    "entry_dates_reversed": N_("The date range ends (%(end)s) before it starts (%(start)s)."),
    "entry_no_faces": N_("Choose at least one face."),
    "entry_unknown_face": N_("Unknown face %(face)s."),
    "entry_no_weekdays": N_("Choose at least one weekday."),
    "entry_weekday": N_("Weekdays are 0 (Monday) to 6 (Sunday)."),
    "entry_level": N_("Choose a level: emergency, priority or normal."),
    "entry_instant": N_("%(v)s is not a date and time."),
    "entry_instant_offset": N_("%(v)s needs a UTC offset, e.g. +07:00."),
    "entry_name": N_("A name is text without control characters, at most %(n)s characters."),
}

# A publication request's state (a `state` parameter), in words.
REQUEST_STATES = {"pending": N_("waiting for approval"), "published": N_("published"),
                  "rejected": N_("rejected"), "stale": N_("out of date, nothing published"),
                  "withdrawn": N_("withdrawn")}

# One medium of "emergency_playlist_dates" (its `media`).
DATED = N_("%(name)s, shown from %(start)s to %(end)s")

# What a check is about (the `what` its callers pass), in words.
WHAT: dict[str, str] = {
    "gate": N_("gate"), "group": N_("group"), "user": N_("user"), "playlist": N_("playlist"),
    "schedule entry": N_("schedule entry"), "notice": N_("notice"), "faces": N_("faces"),
    "a gate's faces": N_("gate's faces"), "weekdays (0 = Monday)": N_("weekdays (0 = Monday)"),
    "reason": N_("reason"), "playlist name": N_("playlist name"), "gate name": N_("gate name"),
    "group name": N_("group name"), "province": N_("province"),
    # central.assign.remove's tables
    "fallback": N_("fallback"), "power window": N_("power window"),
}


class Said(str):
    """A coded message that is not a refusal (a publication's warning): the
    str is the English sentence (logs, scripts), `in_words` says it in the
    reader's language like a coded refusal."""

    sentence_prefix = ""

    def __new__(cls, message: str, code: str, **params: Any):
        self = super().__new__(cls, message)
        self.code, self.params = code, params
        return self


def said(message) -> dict:
    """A warning as the JSON APIs give it: {"warning": words, "code": ...}
    (an uncoded one, another module's, as it is)."""
    body = {"warning": in_words(message)}
    if isinstance(getattr(message, "code", None), str):
        body["code"] = message.code
    return body


class CentralError(ValueError):
    """Bad input or a refused action; the message is for the operator.
    `code` and `params` (when given) let `in_words` say it in any language."""

    # SENTENCES' key is "<sentence_prefix><code>" (a family whose codes
    # would clash with another's sets a prefix).
    sentence_prefix = ""

    def __init__(self, message: str = "", code: str | None = None, **params: Any):
        super().__init__(message)
        self.code = code
        self.params = params


def in_words(e: Exception, lang: str | None = None) -> str:
    """A refusal in the reader's language: inside a request the request's
    (Flask-Babel), elsewhere `lang` or Vietnamese. Uncoded ones as they are."""
    code = getattr(e, "code", None)
    # `sentence`: a key of its own, for a code with two sentences (a stale form
    # and a stale request are both "stale" to scripts).
    key = getattr(e, "sentence", None) or (getattr(e, "sentence_prefix", "") + code
                                           if isinstance(code, str) else None)
    template = SENTENCES.get(key) if key else None
    if template is None:
        return str(e)
    params = {k: _param(k, v, lang) for k, v in getattr(e, "params", {}).items()}
    return _say(template, lang, **params)


def refusal(e: Exception) -> dict:
    """A refusal as the JSON APIs answer it: the sentence in words and, when
    coded, the code (stable, for scripts)."""
    body = {"error": in_words(e)}
    if isinstance(getattr(e, "code", None), str):
        body["code"] = e.code
    return body


def _say(msgid: str, lang: str | None, /, **params) -> str:
    from flask import has_request_context

    if has_request_context() and lang is None:
        from flask_babel import gettext

        return gettext(msgid, **params)
    from central.i18n import LANGUAGE, gettext

    return gettext(lang or LANGUAGE)(msgid, **params)  # (a param may be called lang)


def _param(key: str, value, lang: str | None):
    if key == "what":
        return _say(WHAT.get(value, value), lang)
    if key == "items":  # unapproved media: dicts with a code of their own
        return "; ".join(_say(SENTENCES[i["code"]], lang, **{k: v for k, v in i.items()
                                                          if k != "code"})
                         for i in value)
    if key == "lang":  # a content language
        from central.i18n import LANGUAGE_NAMES

        return _say(LANGUAGE_NAMES[value], lang) if value in LANGUAGE_NAMES else value
    if key == "chars":  # characters no font has
        return " ".join(value)
    if key == "day":
        from kiosk.web.formatting import local_date

        return local_date(value)
    if key in ("from_day", "until_day"):  # media dates, "…" when open
        from kiosk.web.formatting import local_date

        return local_date(value) if value else "…"
    if key == "media":  # media outside their dates
        from kiosk.web.formatting import local_date

        return "; ".join(_say(DATED, lang, name=m["name"],
                              start=local_date(m["valid_from"]) if m["valid_from"] else "…",
                              end=local_date(m["valid_until"]) if m["valid_until"] else "…")
                         for m in value)
    if key == "state":  # a publication request's
        return _say(REQUEST_STATES.get(value, value), lang)
    if key == "held":  # the gates' own refusals
        return " ".join(in_words(e, lang) for e in value)
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value)
    return value


class NotFound(CentralError):
    pass


class Forbidden(CentralError):
    pass


def check_id(value: str, what: str) -> str:
    """Ids end up in URLs and target paths: lower-case letters, digits, - and _."""
    if not isinstance(value, str) or not ID_RE.match(value):
        raise CentralError(
            f"{what} id must be 1-63 lower-case letters, digits, '-' or '_' "
            f"(starting with a letter or digit), got {value!r}",
            "id_format", what=what, value=str(value))
    return value


def int_list(value, lo: int, hi: int, what: str, allow_empty: bool = True) -> list[int]:
    """Sorted distinct integers lo..hi from a list or a '1,2' string."""
    if value is None:
        value = []
    if isinstance(value, str):
        value = [v for v in value.replace(" ", "").split(",") if v]
    try:
        ids = sorted({int(v) for v in value})
    except (TypeError, ValueError):
        ids = None
    if ids is None or any(not lo <= v <= hi for v in ids) or (not ids and not allow_empty):
        raise CentralError(f"{what} are numbers {lo} to {hi}, got {value!r}",
                           "numbers" if ids else "numbers_empty", what=what, lo=lo, hi=hi,
                           value=", ".join(map(str, value)) if isinstance(value, (list, tuple))
                           else str(value))
    return ids


def check_name(value, what: str, limit: int = 200) -> str:
    """Human names (gates, playlists, entries) go into releases and pages:
    a string without control characters, at most `limit` characters."""
    import unicodedata

    if value is None:
        return ""
    if not isinstance(value, str):
        raise CentralError(f"{what} must be text", "name_not_text", what=what)
    value = unicodedata.normalize("NFC", value).strip()
    if any(unicodedata.category(ch) == "Cc" for ch in value):
        raise CentralError(f"{what} must not contain control characters", "name_control",
                           what=what)
    if len(value) > limit:
        raise CentralError(f"{what} is limited to {limit} characters", "name_long", what=what,
                           limit=limit)
    return value


def check_drawable(texts: dict[str, str], bold_too: bool = False) -> None:
    """Every character of every language drawable with the gates' fonts (the
    gate's own check). The common refusal, a character no font has, is said
    in the reader's language (kiosk's own sentence is English advice for the
    gate's CLI); other FontErrors go to the caller."""
    from flask_babel import gettext as _

    from kiosk.text.fonts import MissingGlyphs, check_texts

    try:
        check_texts(texts, bold_too=bold_too)
    except MissingGlyphs as e:
        from central.i18n import language_name as language

        raise CentralError(_("The %(lang)s text cannot be shown: the gates' fonts have no "
                             "glyph for %(chars)s. Change the text.",
                             lang=language(e.lang),
                             chars=", ".join(f"{c} U+{ord(c):04X}" for c in e.chars))) from None
