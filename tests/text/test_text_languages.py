"""One language -> text check (kiosk.text.fonts.check_language_texts): a slide spec
and a notice refuse the same bad texts with the same reason and keep the same
clean texts."""

from __future__ import annotations

import re

import pytest

from kiosk.text.fonts import FontError, check_language_texts
from kiosk.text.notices import NoticeError, validate_texts
from kiosk.text.slide import SlideError, parse_spec

BAD = {
    "unknown language": ({"xx": "hello"}, "unknown language 'xx'"),
    "control character": ({"vi": "Xin\x1b[2J chào"}, "control character U+001B"),
    "not text": ({"en": 42}, "must be text, got int"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_slides_and_notices_refuse_the_same_texts_for_the_same_reason(case):
    texts, reason = BAD[case]
    reason = re.escape(reason)
    with pytest.raises(FontError, match=reason):
        check_language_texts(texts, "body")
    with pytest.raises(SlideError, match=reason):
        parse_spec({"body": texts})
    with pytest.raises(NoticeError, match=reason):
        validate_texts(texts, "ticker")


def test_slides_and_notices_keep_the_same_clean_texts():
    texts = {"vi": "  Xin chào\r\nquý khách ", "en": "\tWelcome", "zh": "", "lo": None}
    clean = {"vi": "Xin chào\nquý khách", "en": "Welcome"}
    assert check_language_texts(texts, "body") == clean
    assert validate_texts(texts, "ticker") == clean
    assert parse_spec({"body": texts}).body == clean


def test_a_mapping_is_required():
    with pytest.raises(FontError, match="must map language codes to text"):
        check_language_texts(["vi", "hello"], "title")
    assert check_language_texts(None, "title") == {}
