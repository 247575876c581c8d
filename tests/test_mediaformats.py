"""One media-format table (kiosk.mediaformats): the upload check, kiosk.content, the
player and the admin agree on every format, because they all read it."""

from __future__ import annotations

import json

import pytest

from admin.services.media import get as admin_media
from kiosk import content, mediaformats
from kiosk.mediastore import MediaStore
from kiosk.player.resolve import ResolveContext, Unplayable, resolve_image, resolve_video
from kiosk.schedule import Item
from kiosk.store import open_db
from kiosk.validate import sniff, validate_file

from tests.support.media import make_image, make_video

SAMPLES = {  # file name -> how to make it
    "a.png": lambda p: make_image(p, fmt="PNG"),
    "a.jpg": lambda p: make_image(p, fmt="JPEG"),
    "a.jpeg": lambda p: make_image(p, fmt="JPEG"),
    "a.webp": lambda p: make_image(p, fmt="WEBP"),
    "a.mp4": lambda p: make_video(p, seconds=1),
    "a.mkv": lambda p: make_video(p, seconds=1),
}


@pytest.fixture(scope="module")
def samples(tmp_path_factory):
    folder = tmp_path_factory.mktemp("formats")
    return {name: make(folder / name) for name, make in SAMPLES.items()}


def _context(store: MediaStore, tmp_path, rows) -> ResolveContext:
    return ResolveContext(media=store, cache_dir=tmp_path, output={"name": "main", "width": 640,
                                                                  "height": 360}, media_rows=rows)


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_upload_check_content_player_and_admin_agree_on_a_file(name, samples, tmp_path, state_dir,
                                                               fresh_db):
    path = samples[name]
    checked = validate_file(path)  # the bytes decide
    by_name = mediaformats.by_suffix(path.name)  # the name decides (local files)
    assert by_name is not None and checked.format == by_name.name and checked.kind == by_name.kind
    store = MediaStore(state_dir / "media")
    sha = content.add_media(fresh_db, store, path)
    row = fresh_db.execute("SELECT kind, format FROM media WHERE sha256 = ?", [sha]).fetchone()
    assert tuple(row) == (checked.kind, checked.format)
    # The player plays it ...
    item = Item(sha, checked.kind, 5.0)
    resolve = resolve_image if checked.kind == "image" else resolve_video
    ctx = _context(store, tmp_path, {sha: {"format": checked.format}})
    assert resolve(item, ctx).path == str(store.path(sha))
    # ... and the admin serves it with the table's MIME type.
    assert admin_media(fresh_db, sha)["mime"] == by_name.mime


def test_every_sniffed_format_is_in_the_table_with_its_decoder():
    heads = {
        b"\x89PNG\r\n\x1a\n" + b"\0" * 8: ("image", "png"),
        b"\xff\xd8\xff\xe0" + b"\0" * 12: ("image", "jpeg"),
        b"RIFF\0\0\0\0WEBPVP8 ": ("image", "webp"),
        b"\0\0\0\x20ftypisom" + b"\0" * 4: ("video", "mp4"),
        b"\x1a\x45\xdf\xa3" + b"\0" * 12: ("video", "mkv"),
    }
    for head, expected in heads.items():
        assert sniff(head) == expected
        f = mediaformats.by_name(expected[1])
        assert (f.pillow if f.kind == "image" else f.demuxer)
    assert sniff(b"GIF89a" + b"\0" * 10) is None


def test_rows_named_by_their_file_ending_still_play_and_unknown_formats_do_not(state_dir, tmp_path):
    store = MediaStore(state_dir / "media")
    sha = store.add_bytes(b"the player reads the row's format, it does not decode to decide")
    for fmt, kind in (("jpg", "image"), ("JPEG", "image"), ("mov", "video"), ("m4v", "video"),
                      ("webm", "video"), ("", "image"), (None, "video")):
        resolve = resolve_image if kind == "image" else resolve_video
        resolve(Item(sha, kind, 5.0), _context(store, tmp_path, {sha: {"format": fmt}}))
    for fmt, kind in (("gif", "image"), ("bmp", "image"), ("ts", "video"), ("png", "video"),
                      ("mp4", "image"), ("json", "image")):
        resolve = resolve_image if kind == "image" else resolve_video
        with pytest.raises(Unplayable, match="unsupported"):
            resolve(Item(sha, kind, 5.0), _context(store, tmp_path, {sha: {"format": fmt}}))


def test_a_slide_spec_is_text_and_an_unknown_ending_needs_a_kind(state_dir, tmp_path):
    db = open_db(state_dir / "g.db")
    store = MediaStore(state_dir / "media")
    spec = tmp_path / "s.json"
    spec.write_text(json.dumps({"body": {"vi": "Xin chào"}}))
    sha = content.add_media(db, store, spec)
    assert tuple(db.execute("SELECT kind, format FROM media WHERE sha256 = ?", [sha]).fetchone()) == \
        ("text", "json")
    odd = tmp_path / "clip.bin"
    odd.write_bytes(b"x")
    with pytest.raises(content.ContentError, match="media kind"):
        content.add_media(db, store, odd)
    assert mediaformats.mime("json") == "application/json"
    assert mediaformats.mime("exe") == "application/octet-stream"
    db.close()
