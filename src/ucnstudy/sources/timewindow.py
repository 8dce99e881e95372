"""The plausible time window of records: times outside it are device clock artefacts (0, 1901,
2038, 2106...), reported like any other bad record (kept out, counted, named by file and line
or packet; fatal with --strict).

The default is 1990-01-01 to two days from now. UCN_TIME_WINDOW=FROM/TO (ISO dates or times,
UTC; either side may be empty for its default) narrows or widens it, e.g. to a study's span:
UCN_TIME_WINDOW=2015-03-01/2015-07-01.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from ucnstudy.errors import UcnError

ENV = "UCN_TIME_WINDOW"
EARLIEST = datetime(1990, 1, 1)  # before consumer GPS devices and user-centric captures
FUTURE_SLACK = timedelta(days=2)
EPOCH = datetime(1970, 1, 1)


@dataclass(frozen=True)
class TimeWindow:
    lo: datetime  # naive UTC, inclusive
    hi: datetime  # naive UTC, inclusive

    def __contains__(self, ts: datetime) -> bool:
        return self.lo <= ts <= self.hi

    def micros(self) -> tuple[int, int]:
        """The bounds in microseconds since the epoch."""
        return _micros(self.lo), _micros(self.hi)

    def epoch_seconds(self) -> tuple[float, float]:
        return (self.lo - EPOCH).total_seconds(), (self.hi - EPOCH).total_seconds()

    def describe(self) -> str:
        hi = "now" if os.environ.get(ENV, "").partition("/")[2].strip() == "" else _show(self.hi)
        return f"{_show(self.lo)} to {hi} ({ENV} sets it)"

    def outside(self, ts: datetime) -> str:
        """The problem of a time outside the window."""
        return f"implausible time {ts.isoformat(sep=' ')}: outside {self.describe()}"

    def outside_epoch(self, seconds: float) -> str:
        """The problem of epoch seconds outside the window (maybe beyond any datetime)."""
        try:
            return self.outside(EPOCH + timedelta(seconds=seconds))
        except (OverflowError, ValueError):
            return f"implausible time {seconds:g} s since 1970: outside {self.describe()}"


def time_window() -> TimeWindow:
    """The window in force now (read from the environment on each call)."""
    text = os.environ.get(ENV, "").strip()
    default_hi = datetime.now(UTC).replace(tzinfo=None) + FUTURE_SLACK
    if not text:
        return TimeWindow(EARLIEST, default_hi)
    lo_text, sep, hi_text = text.partition("/")
    if not sep:
        raise UcnError(f"{ENV}={text!r}: expected FROM/TO, e.g. 2015-03-01/2015-07-01")
    window = TimeWindow(_parse(lo_text, EARLIEST), _parse(hi_text, default_hi))
    if window.hi <= window.lo:
        raise UcnError(f"{ENV}={text!r}: TO must be after FROM")
    return window


def _parse(text: str, default: datetime) -> datetime:
    if not text.strip():
        return default
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise UcnError(f"{ENV}: {text!r} is not an ISO date or time (e.g. 2015-03-01)") from None
    return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value


def _micros(ts: datetime) -> int:
    delta = ts - EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def _show(ts: datetime) -> str:
    return ts.date().isoformat() if ts.time() == datetime.min.time() else ts.isoformat(sep=" ")
