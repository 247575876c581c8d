"""Media: list, upload with a progress bar (static/app.js), preview, delete."""

from __future__ import annotations

from flask import Blueprint, jsonify, render_template, request, send_file, url_for
from flask_babel import gettext as _

from admin.security import actor, role_required
from admin.services import AdminError
from admin.services import media as media_service
from admin.views.api import raw_upload_name
from admin.db import get_db, get_settings, media_store
from admin.errors import wants_json
from admin.views.answer import done

bp = Blueprint("media", __name__, url_prefix="/media")


@bp.get("/")
def index():
    s = get_settings()
    return render_template("media.html", media=media_service.list_media(get_db()),
                           limit_mb=s["media_max_mb"])


def upload_from_request():
    """Both the page's raw XHR upload and a plain multipart form end up here."""
    if request.mimetype == "multipart/form-data":
        f = request.files.get("file")
        if f is None or not f.filename:
            raise AdminError(_("Choose a file to upload."), field="file")
        return media_service.upload(get_db(), get_settings(), media_store(), f.stream,
                                    f.filename, actor())
    return media_service.upload(get_db(), get_settings(), media_store(), request.stream,
                                raw_upload_name(), actor())


@bp.post("/upload")
@role_required("operator")
def upload():
    row = upload_from_request()
    if wants_json() or request.mimetype != "multipart/form-data":
        return jsonify(row), 201
    return done(_("%(name)s was checked and stored.", name=row["name"]), url_for("media.index"))


@bp.get("/<sha256>")
def show(sha256):
    return render_template("media_show.html", m=media_service.get(get_db(), sha256))


@bp.get("/<sha256>/file")
def file(sha256):
    m = media_service.get(get_db(), sha256)
    path = media_store().path(m["sha256"])
    if not path.is_file():
        raise AdminError(_("The file is missing from the media store."), 404)
    return send_file(path, mimetype=m["mime"], conditional=True, max_age=86400,
                     download_name=m["name"], as_attachment=False)


@bp.post("/<sha256>/delete")
@role_required("operator")
def delete(sha256):
    m = media_service.get(get_db(), sha256)
    media_service.delete(get_db(), media_store(), sha256, actor())
    return done(_("%(name)s was deleted.", name=m["name"]), url_for("media.index"))
