"""The one reader of dates typed into a form, shared by the gate admin and
the central console (kiosk.web.formatting): dd/mm/yyyy and ISO in, a day or
a clear refusal out, in the reader's language."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from kiosk.web.formatting import (BadDate, form_date, form_datetime, read_date, read_datetime,
                                  read_iso_date)
from kiosk.web.i18n import SHARED, gettext_in


@pytest.mark.parametrize("typed, day", [
    ("25/12/2026", date(2026, 12, 25)), ("5/1/2026", date(2026, 1, 5)),
    (" 05-01-2026 ", date(2026, 1, 5)), ("05.01.2026", date(2026, 1, 5)),
    ("2026-12-25", date(2026, 12, 25)), ("29/02/2028", date(2028, 2, 29)), ("", None), (None, None),
])
def test_a_date_is_read_day_first_or_iso(typed, day):
    assert read_date(typed) == day
    assert read_iso_date(typed) == (day.isoformat() if day else None)


@pytest.mark.parametrize("typed, vi", [
    ("31/02/2026", "Không có ngày 31/02/2026: tháng 2/2026 chỉ có 28 ngày."),
    ("29/02/2027", "Không có ngày 29/02/2027: tháng 2/2027 chỉ có 28 ngày."),
    ("12/31/2026", "12/31/2026 không phải là ngày: không có tháng 31."),  # mm/dd/yyyy is not read
    ("2026-13-01", "2026-13-01 không phải là ngày: không có tháng 13."),
    ("25/12/26", "25/12/26 không phải là ngày: hãy viết theo dạng ngày/tháng/năm (dd/mm/yyyy), "
                 "ví dụ 25/12/2026."),
    ("tomorrow", "tomorrow không phải là ngày: hãy viết theo dạng ngày/tháng/năm (dd/mm/yyyy), "
                 "ví dụ 25/12/2026."),
])
def test_a_bad_or_impossible_date_is_refused_in_words(typed, vi):
    with pytest.raises(BadDate) as e:
        read_date(typed)
    assert e.value.say(gettext_in([SHARED], "vi")) == vi
    assert typed in str(e.value)  # the English sentence names it too


@pytest.mark.parametrize("typed, at", [
    ("18:30 25/12/2026", datetime(2026, 12, 25, 18, 30)),
    ("25/12/2026 18:30", datetime(2026, 12, 25, 18, 30)),
    ("2026-12-25T18:30", datetime(2026, 12, 25, 18, 30)),
    ("2026-12-25 18:30", datetime(2026, 12, 25, 18, 30)),
    ("2026-12-25T18:30:00+07:00", datetime(2026, 12, 25, 18, 30, tzinfo=timezone(timedelta(hours=7)))),
    ("", None),
])
def test_a_date_and_time_is_read_in_either_order_or_iso(typed, at):
    assert read_datetime(typed) == at


@pytest.mark.parametrize("typed, words", [
    ("24:00 25/12/2026", "không có giờ 24:00"), ("18:30 31/04/2026", "Không có ngày 31/04/2026: tháng 4/2026 chỉ có 30 ngày."),
    ("25/12/2026", "không phải là ngày giờ"), ("soon", "không phải là ngày giờ"),
])
def test_a_bad_date_and_time_is_refused_in_words(typed, words):
    with pytest.raises(BadDate) as e:
        read_datetime(typed)
    assert words in e.value.say(gettext_in([SHARED], "vi"))


def test_fields_show_stored_values_as_typed_and_refused_ones_unchanged():
    assert form_date("2026-01-05") == "05/01/2026" and form_date(date(2026, 12, 25)) == "25/12/2026"
    assert form_date("31/02/2026") == "31/02/2026" and form_date(None) == ""
    assert form_datetime("2026-12-25T18:30") == "18:30 25/12/2026"
    assert form_datetime("2026-12-25T11:30:00+00:00", "Asia/Ho_Chi_Minh") == "18:30 25/12/2026"
    assert form_datetime("30/02/2099 18:30") == "30/02/2099 18:30" and form_datetime("") == ""


def test_a_month_is_read_month_first_or_iso_and_a_bad_one_refused_in_words():
    from kiosk.web.formatting import form_month, read_month

    assert [read_month(t) for t in ("11/2026", "1/2026", "01-2026", "2026-11", "", None)] == [
        "2026-11", "2026-01", "2026-01", "2026-11", None, None]
    assert form_month("2026-01") == "01/2026" and form_month("13/2026") == "13/2026"
    say = gettext_in([SHARED], "vi")
    for typed, words in (("13/2026", "không có tháng 13"), ("tháng 11", "không phải là tháng")):
        with pytest.raises(BadDate) as e:
            read_month(typed)
        assert words in e.value.say(say)
