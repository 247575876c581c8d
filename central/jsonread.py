"""JSON read as Python's `json.loads` reads it, faster: orjson where it gives the
same objects (a 5 KB report: 19 us against 30-39, guards included).

A gate's report is parsed once per report in the report writer (~4 KB: a heartbeat
and a dozen proof-of-play rows); `json.loads` was 9 % of the writer's busy time
(py-spy, bench/report_writer_cost.py at 833 reports a second). orjson is a
stricter reader: what it refuses (NaN, Infinity, 1e400, lone surrogates, a byte
order mark, UTF-16/32, invalid UTF-8) goes to `json.loads`, which answers as
before (its value, or its ValueError). Two cases where orjson would answer
DIFFERENTLY instead of refusing are kept from it:
- an integer past 64 bits, which orjson reads as a float (a release version of
  20 digits would then be refused as "not an integer"): any run of 19 digits
  sends the text to `json.loads` (a digest's hex has one in ~1 report of 12);
- nesting json.loads refuses (RecursionError near 1,000 levels) and orjson reads
  (to 1,024): any text with more than _MAX_OPEN brackets and braces goes to
  `json.loads`.
Both are conservative (a string that looks like either goes the slow way too).
Objects, key order (a repeated key keeps its first place and last value), strings
and floats are the same: checked in tests/central/test_central_jsonread.py.
"""

from __future__ import annotations

import json

import orjson

# Every digit read as 0 and every brace as a bracket, so that one `in` finds a run of
# 19 digits (an integer past 64 bits, to orjson a float) and one count the nesting
# (bytes.translate, count and `in` run in C: ~7 us for a 5 KB report; a regex took 30).
_FOLD = bytes.maketrans(b"123456789{", b"000000000[")
_LONG_NUMBER = b"0" * 19
_MAX_OPEN = 512  # brackets and braces; a gate's report has a few dozen


def loads(data: bytes):
    """`json.loads(data)`: the same value, or the same exception."""
    folded = data.translate(_FOLD)
    if _LONG_NUMBER not in folded and folded.count(b"[") <= _MAX_OPEN:
        try:
            return orjson.loads(data)
        except orjson.JSONDecodeError:
            pass
    return json.loads(data)
