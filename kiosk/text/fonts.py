"""Which font draws which language, and proof that it can before anything is shown.

Each language has a font chain: its script's Noto family first, then Noto Sans
for the Latin digits and punctuation that Lao and Khmer fonts lack. A text is
split into runs, each drawn with the first font of the chain that has its
characters. Before a text reaches a screen, every run is shaped with HarfBuzz
(the shaper libass and libraqm use too): a glyph id 0 is the "missing glyph"
box, and its presence refuses the text with an error naming the language.

The `text_fonts` setting overrides a language's chain with fontconfig family
names or font file paths (`/path/font.ttc#2` picks a face in a collection).
"""

from __future__ import annotations

import functools
import shutil
import subprocess
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Mapping, Sequence

import uharfbuzz as hb

from kiosk.web.i18n import N_

# Language code -> English name used in errors and docs; `gatecast text fonts`
# says it in the gate's language (kiosk/text/translations).
LANGUAGES: dict[str, str] = {
    "vi": N_("Vietnamese"),
    "en": N_("English"),
    "zh": N_("Chinese"),
    "lo": N_("Lao"),
    "km": N_("Khmer"),
}
# Order on screen: Vietnamese first, the neighbour's language next, English last
# (Decision 273/QD-TTg: Vietnamese, the neighbour's language, a foreign language).
LANGUAGE_ORDER: tuple[str, ...] = ("vi", "zh", "lo", "km", "en")

DEFAULT_FONTS: dict[str, tuple[str, ...]] = {
    "vi": ("Noto Sans",),
    "en": ("Noto Sans",),
    "zh": ("Noto Sans CJK SC", "Noto Sans"),
    "lo": ("Noto Sans Lao", "Noto Sans"),
    "km": ("Noto Sans Khmer", "Noto Sans"),
}

# A customs notice in every language: `gatecast text fonts` and the player's
# start-up check prove the installed fonts draw each of them.
SAMPLES: dict[str, str] = {
    "vi": "Hành khách xuất nhập cảnh vui lòng khai báo hải quan tại cửa số 3.",
    "en": "Travellers entering or leaving must declare goods to customs at counter 3.",
    "zh": "出入境旅客请在3号窗口向海关申报。",
    "lo": "ຜູ້ໂດຍສານເຂົ້າ-ອອກ ກະລຸນາແຈ້ງພາສີຢູ່ປ່ອງ 3.",
    "km": "អ្នកដំណើរចេញចូល សូមប្រកាសគយនៅបញ្ជរលេខ ៣។",
}

# Where Debian's fonts-noto-core / fonts-noto-cjk put them, for machines
# without fontconfig's fc-match (minimal images). (family, bold) -> path#index.
_NOTO = "/usr/share/fonts/truetype/noto/"
_CJK = "/usr/share/fonts/opentype/noto/"
KNOWN_PATHS: dict[tuple[str, bool], str] = {
    ("noto sans", False): _NOTO + "NotoSans-Regular.ttf",
    ("noto sans", True): _NOTO + "NotoSans-Bold.ttf",
    ("noto sans lao", False): _NOTO + "NotoSansLao-Regular.ttf",
    ("noto sans lao", True): _NOTO + "NotoSansLao-Bold.ttf",
    ("noto sans khmer", False): _NOTO + "NotoSansKhmer-Regular.ttf",
    ("noto sans khmer", True): _NOTO + "NotoSansKhmer-Bold.ttf",
    ("noto sans cjk sc", False): _CJK + "NotoSansCJK-Regular.ttc#2",
    ("noto sans cjk sc", True): _CJK + "NotoSansCJK-Bold.ttc#2",
}

# Characters that never need a glyph of their own: HarfBuzz hides them.
_IGNORABLE = {"\u200b", "\u200c", "\u200d", "\u2060", "\ufeff"}


class FontError(ValueError):
    """A font is missing or cannot draw a text; the message names the language.
    A malformed text also has a `code` and `params`, so that a user interface
    says it in the reader's language (central.checks.SENTENCES)."""

    def __init__(self, message: str = "", code: str | None = None, **params):
        super().__init__(message)
        self.code, self.params = code, params


class MissingGlyphs(FontError):
    def __init__(self, lang: str, chars: Sequence[str], fonts: Sequence[str]):
        self.lang = lang
        self.chars = list(dict.fromkeys(chars))
        shown = ", ".join(f"{c!r} U+{ord(c):04X}" for c in self.chars[:8])
        more = f" and {len(self.chars) - 8} more" if len(self.chars) > 8 else ""
        super().__init__(
            f"{language_name(lang)} ({lang}) text cannot be shown: the font(s) "
            f"{', '.join(fonts)} have no glyph for {shown}{more}. Install the font "
            f"(Debian fonts-noto-core, fonts-noto-cjk) or fix the text_fonts setting."
        )


def language_name(lang: str) -> str:
    return LANGUAGES.get(lang, lang)


def check_language(lang: str) -> str:
    if lang not in LANGUAGES:
        raise FontError(
            f"unknown language {lang!r}; gatecast shows {', '.join(LANGUAGE_ORDER)}",
            "text_language", value=str(lang))
    return lang


@dataclass(frozen=True)
class FontFace:
    """One face of one font file."""

    path: str
    index: int
    family: str

    @property
    def label(self) -> str:
        return f"{self.family} ({Path(self.path).name})"

    def has(self, ch: str) -> bool:
        return _hb_font(self.path, self.index).get_nominal_glyph(ord(ch)) is not None

    def missing_in(self, text: str, lang: str) -> list[str]:
        """Characters of `text` that shape to glyph 0 (the box) in this face."""
        buf = hb.Buffer()
        buf.add_str(text)
        buf.guess_segment_properties()
        buf.language = lang
        hb.shape(_hb_font(self.path, self.index), buf, {})
        # Clusters are UTF-32 indices into `text` (add_str feeds code points).
        return [text[info.cluster] for info in buf.glyph_infos if info.codepoint == 0]


@functools.lru_cache(maxsize=32)
def _hb_font(path: str, index: int) -> hb.Font:
    return hb.Font(hb.Face(hb.Blob.from_file_path(path), index))


@dataclass(frozen=True)
class FontChain:
    lang: str
    faces: tuple[FontFace, ...]
    bold: bool = False

    @property
    def primary(self) -> FontFace:
        return self.faces[0]

    def runs(self, text: str) -> list[tuple[str, FontFace | None]]:
        """Split `text` into runs each drawn by one face (None: no face has it).

        A run keeps its face while that face has the next character, so a Lao
        sentence stays one run across its spaces; combining marks and
        invisible joiners always stay with their base character's run.
        """
        out: list[list] = []
        for ch in text:
            if out and (_attaches(ch) or (out[-1][1] is not None and out[-1][1].has(ch))):
                out[-1][0] += ch
                continue
            face = next((f for f in self.faces if f.has(ch)), None)
            if out and out[-1][1] == face:
                out[-1][0] += ch
            else:
                out.append([ch, face])
        return [(t, f) for t, f in out]

    def check(self, text: str) -> None:
        """Raise MissingGlyphs naming the language unless every character has a glyph."""
        missing: list[str] = []
        for line in text.split("\n"):
            for run, face in self.runs(line):
                if face is None:
                    missing += [c for c in run if c not in _IGNORABLE and not c.isspace()]
                else:
                    missing += face.missing_in(run, self.lang)
        if missing:
            raise MissingGlyphs(self.lang, missing, [f.label for f in self.faces])


def _attaches(ch: str) -> bool:
    return ch in _IGNORABLE or unicodedata.category(ch) in ("Mn", "Mc", "Me")


def _split_path(spec: str) -> tuple[str, int]:
    path, _, index = spec.partition("#")
    try:
        return path, int(index or 0)
    except ValueError:
        raise FontError(f"font path {spec!r}: the part after '#' must be a face number") from None


def _face_from_path(spec: str, lang: str) -> FontFace:
    path, index = _split_path(spec)
    if not Path(path).is_file():
        raise FontError(f"font file {path} for {language_name(lang)} ({lang}) does not exist")
    try:
        face = hb.Face(hb.Blob.from_file_path(path), index)
    except Exception as e:  # noqa: BLE001 - HarfBuzz raises plain exceptions
        raise FontError(f"font file {path} for {language_name(lang)} ({lang}) is unreadable: {e}") from None
    if face.glyph_count == 0:
        raise FontError(f"{path} (face {index}) for {language_name(lang)} ({lang}) is not a font")
    family = face.get_name(hb.OTNameIdPredefined.FONT_FAMILY) or Path(path).stem
    return FontFace(path, index, family)


@functools.lru_cache(maxsize=64)
def _fc_match(family: str, bold: bool) -> tuple[str, int, str] | None:
    if shutil.which("fc-match") is None:
        return None
    pattern = family + (":weight=bold" if bold else ":weight=regular")
    try:
        out = subprocess.run(
            ["fc-match", "-f", "%{file}\t%{index}\t%{family}", pattern],
            capture_output=True, text=True, timeout=10, check=False,
        ).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    parts = out.split("\t")
    if len(parts) != 3:
        return None
    return parts[0], int(parts[1] or 0), parts[2]


def find_font(name: str, lang: str, bold: bool = False) -> FontFace:
    """A family name (via fontconfig) or a file path -> the face that draws it."""
    if "/" in name:
        return _face_from_path(name, lang)
    match = _fc_match(name, bold)
    if match is not None:
        path, index, families = match
        # fc-match always answers, with a substitute if need be: accept only
        # the family asked for, so a missing font is an error, not DejaVu.
        if name.lower() in (f.strip().lower() for f in families.split(",")):
            return FontFace(path, index, name)
    known = KNOWN_PATHS.get((name.lower(), bold)) or KNOWN_PATHS.get((name.lower(), False))
    if known and Path(_split_path(known)[0]).is_file():
        return FontFace(*_split_path(known), name)
    raise FontError(
        f"font {name!r} for {language_name(lang)} ({lang}) is not installed "
        "(Debian packages fonts-noto-core and fonts-noto-cjk)"
    )


def font_chain(lang: str, overrides: Mapping[str, object] | None = None, bold: bool = False) -> FontChain:
    """The chain for `lang`, from the `text_fonts` setting or the Noto defaults."""
    check_language(lang)
    names: object = (overrides or {}).get(lang) or DEFAULT_FONTS[lang]
    if isinstance(names, str):
        names = [names]
    if not isinstance(names, (list, tuple)) or not all(isinstance(n, str) and n for n in names):
        raise FontError(f"text_fonts[{lang!r}] must be a font name, a path or a list of them")
    return _chain(lang, tuple(names), bold)


@functools.lru_cache(maxsize=64)
def _chain(lang: str, names: tuple[str, ...], bold: bool) -> FontChain:
    return FontChain(lang, tuple(find_font(n, lang, bold) for n in names), bold)


def check_texts(texts: Mapping[str, str], overrides: Mapping[str, object] | None = None,
                bold_too: bool = False, bold_only: bool = False) -> None:
    """Check each language's text against its chain; the first failure names its language.

    Titles are drawn bold (`bold_only`); `bold_too` checks both weights.
    """
    for lang, text in texts.items():
        if not bold_only:
            font_chain(lang, overrides).check(text)
        if bold_too or bold_only:
            font_chain(lang, overrides, bold=True).check(text)


def clean_text(text: object, what: str) -> str:
    """Texts come from users and releases: strings without control characters."""
    if not isinstance(text, str):
        raise FontError(f"{what} must be text, got {type(text).__name__}", "text_not_text")
    text = text.replace("\r\n", "\n").replace("\t", " ").strip()
    for ch in text:
        if ch != "\n" and unicodedata.category(ch) in ("Cc", "Cs", "Co"):
            raise FontError(f"{what} contains the control character U+{ord(ch):04X}",
                            "text_control", char=f"U+{ord(ch):04X}")
    return text


def check_language_texts(texts: object, what: str) -> dict[str, str]:
    """The one language -> text check (slides, notices): known language codes,
    clean text (`clean_text`); a language whose text is None or blank is left
    out. Raises FontError naming the language at fault."""
    if texts is None:
        return {}
    if not isinstance(texts, Mapping):
        raise FontError(f"{what} must map language codes to text, got {type(texts).__name__}",
                        "text_map")
    out = {}
    for lang, text in texts.items():
        if text is None:
            continue
        check_language(lang)
        text = clean_text(text, f"{what}[{lang}]")
        if text:
            out[lang] = text
    return out


def sort_languages(langs: Iterable[str]) -> list[str]:
    return sorted(langs, key=lambda lang: LANGUAGE_ORDER.index(lang) if lang in LANGUAGE_ORDER else 99)


def font_problems(overrides: Mapping[str, object] | None = None) -> dict[str, str]:
    """Language -> why its fonts cannot draw the sample notice (empty: all fine).

    Resolving every chain also warms the caches, so the first emergency
    notice does not wait for fontconfig.
    """
    problems = {}
    for lang in LANGUAGE_ORDER:
        try:
            font_chain(lang, overrides).check(SAMPLES[lang])
            font_chain(lang, overrides, bold=True).check(SAMPLES[lang])
        except FontError as e:
            problems[lang] = str(e)
    return problems
