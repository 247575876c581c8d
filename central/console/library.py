"""The Library page: upload (with a progress bar), preview every kind (video,
image, a text slide drawn at a face's resolution), valid-from/valid-until
dates, approve or reject with a reason (four eyes), retire; filter by state,
kind, language and uploader."""

from __future__ import annotations

from urllib.parse import unquote

from flask import Blueprint, abort, jsonify, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from kiosk import mediaformats

from central.checks import CentralError
from central.console import nav
from central.console.base import done, require, settings, store, typed_iso_date, wants_json, who
from central.i18n import language_name

bp = Blueprint("library", __name__, url_prefix="/library")
nav.add("library.index", _l("Library"), right="view", order=20)

# Face resolutions a text slide can be previewed at (width, height).
PREVIEW_SIZES = ((1920, 1080), (1080, 1920), (1280, 720), (3840, 2160))


def _language_names() -> dict[str, str]:
    """The languages a slide or notice may be in (kiosk.text.fonts), in the reader's language."""
    from kiosk.text.fonts import LANGUAGES

    return {code: language_name(code) for code in LANGUAGES}


def content_languages(value: str | None) -> str:
    """A media item's languages ("vi", or a slide's "vi,en") named in the
    reader's language, never as codes."""
    return ", ".join(language_name(code) for code in (value or "").split(",") if code)


def _names():
    return {"text_languages": _language_names(), "content_languages": content_languages,
            "states": {"uploaded": _("waiting for approval"), "approved": _("approved"),
                       "rejected": _("rejected"), "retired": _("retired")},
            "kinds": {"video": _("video"), "image": _("image"), "text": _("text slide")}}


@bp.get("/")
@require("view")
def index(text: dict | None = None, error: str | None = None, status: int = 200):
    """The list, and for editors the upload and text slide forms (`text`: what
    was typed in the text slide form, back with the `error` that refused it)."""
    from central.library import list_media, uploaders

    f = request.args
    filters = {k: f.get(k) or None for k in ("state", "kind", "language", "uploader")}
    items = list_media(store(), filters["state"], kind=filters["kind"],
                       language=filters["language"], uploader=filters["uploader"],
                       newest_first=True)
    return render_template("library.html", items=items, filters=filters,
                           uploaders=uploaders(store()), text=text or {}, error=error,
                           **_names()), status


@bp.post("/text")
@require("edit")
def add_text():
    """A text slide typed in the browser: title and text per language, how
    long it shows, its dates and a name. The library's add_text checks it the
    gate's way; a refusal comes back on the form with what was typed, and
    nothing is stored."""
    from central.library import add_text as store_text

    f = {k: v.replace("\r\n", "\n").strip() for k, v in request.form.items() if k != "csrf_token"}
    spec: dict = {"title": {}, "body": {}}
    for lang in _language_names():
        for part in ("title", "body"):
            if f.get(f"{part}_{lang}"):
                spec[part][lang] = f[f"{part}_{lang}"]
    try:
        if f.get("duration_s"):
            try:
                spec["duration_s"] = float(f["duration_s"].replace(",", "."))
            except ValueError:
                raise CentralError(_("A slide is shown for 1 to 3600 seconds.")) from None
        typed = [t for part in ("title", "body") for t in spec[part].values()]
        name = f.get("name") or (typed[0].splitlines()[0][:60] if typed else "")
        row = store_text(store(), settings().state_path, spec, name, by=who(),
                         valid_from=typed_iso_date(f.get("valid_from")),
                         valid_until=typed_iso_date(f.get("valid_until")))
    except CentralError as e:
        from central.checks import in_words

        if wants_json():
            return jsonify({"error": in_words(e)}), 400
        return index(text=f, error=in_words(e), status=400)
    if row.get("already"):
        return done(_("This slide is already in the library as %(name)s (%(state)s): nothing "
                      "new was stored.", name=row["name"],
                      state=_names()["states"].get(row["state"], row["state"])),
                    url_for("library.show", sha256=row["sha256"]), sha256=row["sha256"])
    return done(_("%(name)s is stored and waits for approval.", name=row["name"]),
                url_for("library.show", sha256=row["sha256"]), status=201,
                sha256=row["sha256"])


@bp.post("/upload")
@require("edit")
def upload():
    """The file is the raw body (static/app.js sends it with a progress bar);
    its name is the X-File-Name header, only ever shown."""
    from central.library import add_media
    from kiosk.validate import Limits

    s = settings()
    request.max_content_length = int(s["media_max_mb"]) * 2**20 + 2**20
    name = unquote(request.headers.get("X-File-Name", ""))
    language = request.args.get("language") or None
    try:
        row = add_media(store(), s.state_path, request.stream, name, by=who(),
                        limits=Limits.from_settings(s), language=language)
    except CentralError as e:
        return jsonify({"error": str(e)}), 400
    said = {"name": row["name"], "sha256": row["sha256"],
            "url": url_for("library.show", sha256=row["sha256"])}
    if row.get("already"):
        return jsonify({**said, "already": _(
            "This file is already in the library as %(name)s (%(state)s): nothing new was "
            "stored.", name=row["name"], state=_names()["states"].get(row["state"], row["state"])),
            "open": _("Open it")}), 200
    return jsonify(said), 201


@bp.get("/<sha256>")
@require("view")
def show(sha256, dates=None, dates_error=None, status=200):
    from central.library import get_media

    media = get_media(store(), sha256)
    spec = None
    if media["kind"] == "text":
        from central.library import library_store
        from kiosk.text.slide import parse_spec

        spec = parse_spec(library_store(settings().state_path).path(sha256).read_bytes())
    try:
        size = PREVIEW_SIZES[int(request.args.get("size", 0))]
    except (ValueError, IndexError):
        size = PREVIEW_SIZES[0]
    return render_template("library_show.html", media=media, spec=spec, size=size,
                           sizes=PREVIEW_SIZES, mime=mediaformats.mime(media["format"])
                           if media["kind"] != "text" else "image/png",
                           dates=dates or media, dates_error=dates_error, **_names()), status


@bp.get("/<sha256>/file")
@require("view")
def file(sha256):
    from central.library import get_media, library_store

    media = get_media(store(), sha256)
    if media["kind"] == "text":
        abort(404)
    resp = send_file(library_store(settings().state_path).path(sha256),
                     mimetype=mediaformats.mime(media["format"]), conditional=True,
                     download_name=f"{sha256[:12]}.{media['format']}")
    resp.headers["Cache-Control"] = "private, max-age=3600"
    return resp


@bp.get("/<sha256>/preview.png")
@require("view")
def preview(sha256):
    """A text slide drawn as a face of this resolution would show it."""
    from central.library import get_media, library_store
    from kiosk.text.slide import SlideError, parse_spec, render

    media = get_media(store(), sha256)
    if media["kind"] != "text":
        abort(404)
    try:
        width, height = PREVIEW_SIZES[int(request.args.get("size", 0))]
    except (ValueError, IndexError):
        abort(404)
    lib = library_store(settings().state_path)
    spec = parse_spec(lib.path(sha256).read_bytes())
    try:
        rendered = render(spec, width, height, settings().state_path / "cache" / "slides",
                          media_dir=lib.root)
    except SlideError as e:
        raise CentralError(str(e), e.code, **e.params) from None
    page = min(int(request.args.get("page", 0) or 0), len(rendered.paths) - 1)
    resp = send_file(rendered.paths[max(page, 0)], mimetype="image/png")
    resp.headers["Cache-Control"] = "private, max-age=3600"
    return resp


@bp.post("/<sha256>/approve")
@require("approve")
def approve(sha256):
    from central.library import approve_media

    row = approve_media(store(), sha256, who())
    return done(_("%(name)s is approved.", name=row["name"]), url_for("library.show", sha256=sha256))


@bp.post("/<sha256>/reject")
@require("approve")
def reject(sha256):
    from central.library import reject_media

    row = reject_media(store(), sha256, who(), request.form.get("reason", ""))
    return done(_("%(name)s is rejected.", name=row["name"]), url_for("library.show", sha256=sha256))


@bp.post("/<sha256>/retire")
@require("approve")
def retire(sha256):
    from central.library import retire_media

    row = retire_media(store(), sha256, who())
    return done(_("%(name)s is retired: it leaves the screens at the next publication.",
                  name=row["name"]), url_for("library.show", sha256=sha256))


@bp.post("/<sha256>/dates")
@require("edit")
def dates(sha256):
    from central.library import set_media_dates

    from central.checks import in_words

    f = request.form
    try:
        set_media_dates(store(), sha256, who(), typed_iso_date(f.get("valid_from")),
                        typed_iso_date(f.get("valid_until")))
    except CentralError as e:
        if wants_json():
            raise
        # Said above the form, which keeps what was typed (31/02/2026 stays there).
        return show(sha256, dates={k: f.get(k, "") for k in ("valid_from", "valid_until")},
                    dates_error=in_words(e), status=400)
    return done(_("Saved."), url_for("library.show", sha256=sha256))
