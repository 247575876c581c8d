"""kiosk.validate: real files from ffmpeg and Pillow, and hostile ones."""

from __future__ import annotations

import io

import pytest

from kiosk.mediastore import MediaStore
from kiosk.validate import Limits, MediaRejected, ingest, safe_display_name, validate_file

from tests.support.media import make_image, make_png_bomb, make_video, truncate


@pytest.fixture
def store(tmp_path):
    return MediaStore(tmp_path / "media")


def _stored(store):
    return sorted(p.name for p in store.root.iterdir())


@pytest.mark.parametrize("fmt,suffix", [("PNG", ".png"), ("JPEG", ".jpg"), ("WEBP", ".webp")])
def test_images_are_accepted_with_their_size(tmp_path, fmt, suffix):
    path = make_image(tmp_path / ("pic" + suffix), size=(80, 60), fmt=fmt)
    info = validate_file(path)
    assert (info.kind, info.format, info.width, info.height) == ("image", fmt.lower(), 80, 60)
    assert info.size == path.stat().st_size


def test_h264_video_in_mp4_and_mkv_is_accepted_with_duration(tmp_path):
    mp4 = validate_file(make_video(tmp_path / "a.mp4", seconds=2))
    assert (mp4.kind, mp4.format, mp4.codec, mp4.width, mp4.height) == ("video", "mp4", "h264", 320, 240)
    assert mp4.duration_s == pytest.approx(2.0, abs=0.1)
    mkv = validate_file(make_video(tmp_path / "a.mkv", seconds=1))
    assert (mkv.format, mkv.codec) == ("mkv", "h264")


def test_the_extension_is_ignored_content_decides(tmp_path):
    # A real PNG named .mp4 is an image; a text file named .mp4 is nothing.
    png = make_image(tmp_path / "x.png")
    disguised = tmp_path / "holiday.mp4"
    disguised.write_bytes(png.read_bytes())
    assert validate_file(disguised).kind == "image"
    text = tmp_path / "notes.mp4"
    text.write_text("this is not a video\n" * 20)
    with pytest.raises(MediaRejected) as e:
        validate_file(text)
    assert e.value.code == "not_media"


def test_zero_byte_file_is_refused(tmp_path):
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    with pytest.raises(MediaRejected) as e:
        validate_file(empty)
    assert e.value.code == "empty"


def test_truncated_videos_are_refused_whether_index_is_first_or_last(tmp_path):
    for faststart in (True, False):
        src = make_video(tmp_path / f"full-{faststart}.mp4", seconds=3, size="640x360",
                         faststart=faststart)
        cut = truncate(src, tmp_path / f"cut-{faststart}.mp4", 0.5)
        with pytest.raises(MediaRejected) as e:
            validate_file(cut)
        assert e.value.code in ("truncated", "corrupt"), faststart


def test_truncated_image_is_refused(tmp_path):
    from PIL import Image
    import os

    src = tmp_path / "noise.png"
    Image.frombytes("RGB", (200, 200), os.urandom(200 * 200 * 3)).save(src)
    with pytest.raises(MediaRejected) as e:
        validate_file(truncate(src, tmp_path / "cut.png", 0.6))
    assert e.value.code == "corrupt"


def test_decompression_bomb_png_is_refused_before_decoding(tmp_path):
    bomb = make_png_bomb(tmp_path / "bomb.png", 30000, 30000)
    assert bomb.stat().st_size < 2_000_000
    with pytest.raises(MediaRejected) as e:
        validate_file(bomb)
    assert e.value.code == "too_many_pixels"


def test_pixel_limit_applies_below_pillows_own(tmp_path):
    big = make_image(tmp_path / "big.png", size=(1000, 1000))
    with pytest.raises(MediaRejected) as e:
        validate_file(big, Limits(max_pixels=500_000))
    assert e.value.params["width"] == 1000


def test_video_codec_and_duration_limits(tmp_path):
    mpeg4 = make_video(tmp_path / "old.mp4", seconds=1, codec="mpeg4")
    with pytest.raises(MediaRejected) as e:
        validate_file(mpeg4)
    assert e.value.code == "codec" and e.value.params["codec"] == "mpeg4"
    long = make_video(tmp_path / "long.mp4", seconds=3)
    with pytest.raises(MediaRejected) as e:
        validate_file(long, Limits(max_duration_s=1.0))
    assert e.value.code == "too_long"


def test_ingest_stores_by_hash_and_leaves_nothing_on_refusal(tmp_path, store):
    png = make_image(tmp_path / "ok.png")
    with open(png, "rb") as f:
        sha, info = ingest(store, f)
    assert _stored(store) == [sha]
    assert store.path(sha).read_bytes() == png.read_bytes()
    assert info.kind == "image"

    for bad in (b"", b"plain text" * 10, png.read_bytes()[:40]):
        with pytest.raises(MediaRejected):
            ingest(store, io.BytesIO(bad))
    assert _stored(store) == [sha]  # no .incoming-* left over


def test_ingest_cuts_an_oversized_stream_early(store):
    sent = []

    def chunks():
        for _ in range(100):
            sent.append(1)
            yield b"\x89PNG\r\n\x1a\n" + b"\x00" * 1024

    with pytest.raises(MediaRejected) as e:
        ingest(store, chunks(), Limits(max_bytes=10 * 1024))
    assert e.value.code == "too_large"
    assert len(sent) < 20
    assert _stored(store) == []


@pytest.mark.parametrize(
    "raw,expected",
    [
        ("../../etc/passwd", "passwd"),
        ("..\\..\\windows\\win.ini", "win.ini"),
        ("evil\x00.png", "evil.png"),
        ("  ..hidden.png ", "hidden.png"),
        ("\u202egnp.exe", "gnp.exe"),  # right-to-left override removed
        ("", "unnamed"),
        ("../", "unnamed"),
        ("Bản tin\nbiên giới.mp4", "Bản tin biên giới.mp4"),
    ],
)
def test_safe_display_name(raw, expected):
    assert safe_display_name(raw) == expected


def test_safe_display_name_bounds_long_unicode_and_keeps_extension():
    name = safe_display_name("Cửa khẩu " * 100 + ".mp4")
    assert len(name) <= 120 and name.endswith(".mp4")
    # NFD input comes out NFC (one code point per Vietnamese letter).
    assert safe_display_name("Vie\u0302\u0323t.png") == "Việt.png"
