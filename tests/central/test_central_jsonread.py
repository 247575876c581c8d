"""central.jsonread.loads answers as json.loads does: the same objects (types, key
order, floats to the bit) or the same exception, including where orjson alone would
differ (integers past 64 bits, deep nesting) or refuse (NaN, surrogates, a BOM)."""

import json
import random
import sys

import orjson
import pytest

from central import jsonread

REPORT = json.dumps({
    "heartbeat": {"sent_at": "2026-11-30T20:00:00+07:00", "release_version": 12,
                  "health": {"cpu_temp_c": 51.3, "load": [0.25, 0.5, 1e-7], "ok": True,
                             "note": "Cửa khẩu Hữu Nghị \u2028 \\ \"", "none": None},
                  "faces": [{"face_id": 1, "playing_sha256": "ab" * 32}]},
    "proof_of_play": {"batch_id": "b1", "rows": [
        {"id": i, "face_id": 1, "media_sha256": "0123456789012345678901234567890123456789"
         "012345678901234567890123", "outcome": "completed", "started_at": "x"}
        for i in range(12)]}}, ensure_ascii=False).encode()

TEXTS = [
    REPORT, b'{"a":1,"b":2,"a":3}', b" {} ", b"{}\n", b"\r\n[1]\r\n", b"null", b"-0", b"-0.0",
    b"1E2", b"1e-400", b"1e22", b"123456789012345678", b"9223372036854775807",
    b"18446744073709551615", b"-9223372036854775808", b"1.0000000000000002", b'"\\u00e9"',
    b'"a\\/b"', '"é"'.encode(), b"[1.5e308, 4.35, 0.1e1]",
    # orjson would read these differently: json.loads's answer is kept
    b"123456789012345678901234567890", b'{"release_version": -12345678901234567890}',
    b"[" * 1000 + b"]" * 1000, b"[" * 1010 + b"]" * 1010,
    # orjson refuses these, json.loads reads them
    b"NaN", b"[Infinity, -Infinity]", b"1e400", b'"\\ud800"', b'{"a":"\xed\xa0\x80"}',
    b"\xef\xbb\xbf{}", '{"a": 1}'.encode("utf-16"),
    # both refuse
    b"", b"[1,]", b'{"a":1,}', b"01", b"1.", b".5", b"[1 2]", b"tru", b'"\x01"', b'"\xff"',
    b"{} x", b"[+1]", b"[0x10]",
]


def answer(loads, text):
    try:
        value = loads(text)
    except RecursionError:
        return "RecursionError"
    except ValueError as e:
        return type(e).__name__, str(e)
    try:
        return type(value).__name__, json.dumps(value, ensure_ascii=False), repr(value)
    except RecursionError:  # read, but too deep to write back
        return type(value).__name__, "deep"


@pytest.mark.parametrize("text", TEXTS, ids=range(len(TEXTS)))
def test_the_same_answer_as_json_loads(text):
    assert answer(jsonread.loads, text) == answer(json.loads, text)


def test_orjson_alone_would_differ_where_guarded():
    """The guards are needed: without them these read differently (so the test above
    checks something)."""
    assert type(orjson.loads(b"123456789012345678901234567890")) is float
    assert orjson.loads(b"[" * 1010 + b"]" * 1010)  # json.loads: RecursionError
    assert sys.getrecursionlimit() <= 1010


def test_floats_and_integers_are_the_same_to_the_bit():
    rng = random.Random(14)
    for _ in range(20000):
        x = rng.choice([rng.random() * 10 ** rng.randint(-300, 300), rng.uniform(-1e6, 1e6),
                        rng.getrandbits(53) * 2.0 ** rng.randint(-1074, 971)])
        n = rng.randint(-10 ** 18, 10 ** 18)
        text = f"[{x!r}, {x:.17g}, {x:.5e}, {x:.25e}, {n}]".encode()
        assert repr(jsonread.loads(text)) == repr(json.loads(text))
