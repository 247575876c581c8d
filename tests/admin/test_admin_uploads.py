"""Uploads a Raspberry Pi cannot decode smoothly, and rejection messages that
say what is wrong without the server's paths or the decoder's memory addresses."""

from __future__ import annotations

import subprocess
from urllib.parse import quote

import pytest

from kiosk import decoders
from tests.support.admin import csrf_from
from tests.support.media import make_video


@pytest.fixture
def upload(client, auth, accounts):
    auth.login("op")
    auth.post("/language", {"lang": "vi"})
    token = csrf_from(client.get("/media/").get_data(as_text=True))

    def send(data: bytes, name: str):
        return client.post("/media/upload", data=data, headers={
            "X-CSRFToken": token, "X-File-Name": quote(name),
            "Content-Type": "application/octet-stream", "Accept": "application/json"})
    return send


def _video(path, size: str, rate: int, seconds: float, codec: str = "libx264"):
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", f"color=c=red:s={size}:r={rate}",
                    "-t", str(seconds), "-c:v", codec, "-preset", "ultrafast", "-pix_fmt", "yuv420p",
                    "-movflags", "+faststart", str(path)], check=True, timeout=300)
    return path


def test_8k_h264_is_refused_with_the_pi_limits(app, upload, db, tmp_path):
    video = _video(tmp_path / "8k.mp4", "7680x4320", 25, 0.2)
    resp = upload(video.read_bytes(), "Phim 8K.mp4")
    assert resp.status_code == 400
    text = resp.json["error"]
    assert "7680×4320" in text and "Raspberry Pi 4" in text and "1920×1088" in text
    assert db.execute("SELECT COUNT(*) FROM media").fetchone()[0] == 0
    media_dir = app.extensions["gatecast_settings"].media_dir
    assert [p.name for p in media_dir.iterdir() if not p.name.startswith(".")] == []


def test_high_frame_rate_is_kept_with_a_warning(upload, db, tmp_path):
    video = _video(tmp_path / "fast.mp4", "320x240", 120, 1)
    resp = upload(video.read_bytes(), "Nhanh.mp4")
    assert resp.status_code == 201
    assert "Cảnh báo" in resp.json["warning"] and "120" in resp.json["warning"]
    assert db.execute("SELECT COUNT(*) FROM media").fetchone()[0] == 1


def test_pi5_limits_and_model_detection(tmp_path):
    model = tmp_path / "model"
    model.write_text("Raspberry Pi 5 Model B Rev 1.0\x00")
    pi5 = decoders.detect("auto", model)
    assert pi5.model == "pi5"
    assert decoders.check(pi5, "hevc", 3840, 2160, 60).code == "ok"
    assert decoders.check(pi5, "hevc", 4096, 2160, 60).refused  # the Pi 5's HEVC block stops at 3840
    assert decoders.check(decoders.detect("auto", tmp_path / "absent"), "hevc", 4096, 2160, 30).code == "ok"
    assert decoders.check(pi5, "h264", 1080, 1920, 30).code == "ok"  # portrait is the same work
    assert decoders.check(pi5, "h264", 3840, 2160, 30).refused


def test_rejections_carry_no_paths_or_addresses(tmp_path, upload):
    video = bytearray(make_video(tmp_path / "v.mp4", seconds=2).read_bytes())
    for i in range(5000, len(video) - 100, 97):  # damage the picture data, keep the header
        video[i] ^= 0xFF
    resp = upload(bytes(video), "hỏng.mp4")
    assert resp.status_code == 400
    # The same check serves central's library.
    from central.library import add_media
    from tests.support.central import make_central

    central = make_central(tmp_path / "central")
    with pytest.raises(Exception) as refused:
        add_media(central.db, central.state_dir, [bytes(video)], "hỏng.mp4")
    for text in (resp.json["error"], str(refused.value)):
        assert "0x" not in text and "/tmp" not in text and str(tmp_path) not in text, text
        assert ".incoming" not in text and "@" not in text, text
    assert "hỏng.mp4" in str(refused.value)
