"""What a gate controller can decode smoothly, per Raspberry Pi model.

A video the controller cannot decode in time stutters or freezes on a
public screen; an upload is checked against these limits (admin/services/media.py)
and refused when its picture is beyond the decoder, or accepted with a warning
when it will probably drop frames.

| model | H.264 | H.265 (HEVC) |
| --- | --- | --- |
| Raspberry Pi 4 | hardware decoder, up to 1920×1080 at 60 fps | hardware decoder, up to 4096×2160 at 60 fps |
| Raspberry Pi 5 | no hardware decoder: software on the Cortex-A76, up to 1920×1080 at 60 fps | hardware decoder, up to 3840×2160 at 60 fps |

Off a Pi (a developer's machine, CI) the Pi 4 limits apply: the content is
made for the gates. The `media_decoder` setting names the model when the
admin runs elsewhere than on the controller itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

MODEL_FILE = Path("/proc/device-tree/model")


@dataclass(frozen=True)
class CodecLimit:
    width: int
    height: int
    fps: float

    def fits(self, width: int, height: int) -> bool:
        # A portrait video is the same work as its landscape twin.
        long, short = max(width, height), min(width, height)
        return long <= max(self.width, self.height) and short <= min(self.width, self.height)


@dataclass(frozen=True)
class Decoder:
    model: str  # "pi4" | "pi5"
    name: str
    codecs: dict[str, CodecLimit]


# 1088: H.264 codes 1080-line video in 16-line macroblocks.
DECODERS = {
    "pi4": Decoder("pi4", "Raspberry Pi 4", {"h264": CodecLimit(1920, 1088, 60),
                                             "hevc": CodecLimit(4096, 2160, 60)}),
    "pi5": Decoder("pi5", "Raspberry Pi 5", {"h264": CodecLimit(1920, 1088, 60),
                                             "hevc": CodecLimit(3840, 2160, 60)}),
}


def detect(setting: str = "auto", model_file: Path = MODEL_FILE) -> Decoder:
    """The decoder of this controller (or of the model the setting names)."""
    if setting in DECODERS:
        return DECODERS[setting]
    try:
        model = model_file.read_text(errors="replace")
    except OSError:
        model = ""
    return DECODERS["pi5"] if "Raspberry Pi 5" in model else DECODERS["pi4"]


@dataclass(frozen=True)
class Verdict:
    refused: bool
    warning: bool
    code: str  # "ok" | "beyond_decoder" | "fps_high"
    limit: CodecLimit | None = None


def check(decoder: Decoder, codec: str | None, width: int, height: int,
          fps: float | None) -> Verdict:
    limit = decoder.codecs.get(codec or "")
    if limit is None:
        return Verdict(False, False, "ok")
    if not limit.fits(width, height):
        return Verdict(True, False, "beyond_decoder", limit)
    if fps and fps > limit.fps + 0.5:
        return Verdict(False, True, "fps_high", limit)
    return Verdict(False, False, "ok", limit)
