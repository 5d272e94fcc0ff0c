"""Dates as integer days since 1970-01-01, and their text forms (ISO and 和暦)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa

EPOCH = dt.date(1970, 1, 1)
YEAR = 365.2425
#: 外国人住民 entered the 住民基本台帳 on this day (改正住基法 2012)
FOREIGN_REGISTRATION_START = "2012-07-09"
# (era, first day): 明治 to 令和, newest last
_ERAS = (
    ("明治", dt.date(1868, 1, 25)),
    ("大正", dt.date(1912, 7, 30)),
    ("昭和", dt.date(1926, 12, 25)),
    ("平成", dt.date(1989, 1, 8)),
    ("令和", dt.date(2019, 5, 1)),
)


def to_days(iso: str) -> int:
    """Days since 1970-01-01 of an ISO date; raises ValueError for a malformed one."""
    return (dt.date.fromisoformat(iso) - EPOCH).days


def iso_dates(days: np.ndarray) -> pa.Array:
    """``days`` as YYYY-MM-DD strings (Arrow formats in C++, fast for millions)."""
    return pa.array(days.astype("datetime64[D]")).cast(pa.string())


def year_of(days: np.ndarray) -> np.ndarray:
    """Calendar year of each day."""
    return days.astype("datetime64[D]").astype("datetime64[Y]").astype(np.int64) + 1970


def ymd(days: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Year, month (1–12) and day (1–31) of each day."""
    d = days.astype("datetime64[D]")
    month = d.astype("datetime64[M]")
    year = d.astype("datetime64[Y]")
    m: np.ndarray = (month - year.astype("datetime64[M]")).astype(np.int64) + 1
    dd: np.ndarray = (d - month.astype("datetime64[D]")).astype(np.int64) + 1
    return year.astype(np.int64) + 1970, m, dd


def from_ymd(year: np.ndarray, month: np.ndarray, day: np.ndarray) -> np.ndarray:
    """Days of calendar dates; a day past the end of its month is clipped to the last day
    (2/29 of a common year → 2/28)."""
    first = (year - 1970).astype("datetime64[Y]").astype("datetime64[M]") + (month - 1)
    length = ((first + 1).astype("datetime64[D]") - first.astype("datetime64[D]")).astype(np.int64)
    days: np.ndarray = (first.astype("datetime64[D]") + np.minimum(day, length) - 1).astype(np.int64)
    return days


def one_year_off(rng: np.random.Generator, days: np.ndarray, kijunbi: int) -> np.ndarray:
    """The same day and month one year later or earlier (at random; earlier where later
    would pass ``kijunbi``)."""
    y, m, d = ymd(days)
    later = from_ymd(y + 1, m, d)
    earlier = from_ymd(y - 1, m, d)
    return np.where((rng.random(len(days)) < 0.5) & (later <= kijunbi), later, earlier)


def one_year_term_end(start: np.ndarray) -> np.ndarray:
    """Last day of a one-year term starting on ``start`` (2025-04-10 → 2026-04-09).

    Adding 12 months to the month and then the day offset rolls 2/29 over to 3/1 as the
    calendar does.
    """
    d = start.astype("datetime64[D]")
    month = d.astype("datetime64[M]")
    offset = d - month.astype("datetime64[D]")
    # numpy types datetime arithmetic as Any
    last: np.ndarray = ((month + 12).astype("datetime64[D]") + offset - 1).astype(np.int64)
    return last


def wareki_year(year: int) -> str:
    """和暦 of a year by the era in force on 1 July, with full-width digits ("昭和２５年");
    the first year of an era is 元年."""
    mid = dt.date(year, 7, 1)
    era, first = next((e, d) for e, d in reversed(_ERAS) if d <= mid)
    n = year - first.year + 1
    num = "元" if n == 1 else "".join(chr(ord(c) + 0xFEE0) for c in str(n))
    return f"{era}{num}年"
