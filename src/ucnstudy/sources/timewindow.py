"""The plausible time window of records: times outside it are device clock artefacts (0, 1901,
2038, 2106, a phone reset to its build date...), reported like any other bad record (kept out,
counted, named by file and line or packet; fatal with --strict).

Each bound comes from the first of these that gives it:
1. UCN_TIME_WINDOW=FROM/TO (ISO dates or times, UTC; either side may be empty), e.g.
   UCN_TIME_WINDOW=2015-03-01/2015-07-01;
2. the study, while `ingest` reads a file into it (`study_window`): FROM is the earliest
   `users.starttime` minus STUDY_MARGIN (records well before anyone joined are clock artefacts);
3. the default: 1990-01-01 to two days from now.
The manifest's own start times are checked against 1 and 3 only (they define 2).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from ucnstudy.errors import UcnError

if TYPE_CHECKING:
    from ucnstudy.store import Study

ENV = "UCN_TIME_WINDOW"
EARLIEST = datetime(1990, 1, 1)  # before consumer GPS devices and user-centric captures
FUTURE_SLACK = timedelta(days=2)
STUDY_MARGIN = timedelta(days=30)  # data may predate a participant's registration a little
EPOCH = datetime(1970, 1, 1)
_STUDY_FROM: ContextVar[datetime | None] = ContextVar("study_from", default=None)


@dataclass(frozen=True)
class TimeWindow:
    lo: datetime  # naive UTC, inclusive
    hi: datetime  # naive UTC, inclusive
    lo_origin: str = ""  # where lo comes from, when not the default or UCN_TIME_WINDOW
    hi_is_now: bool = False  # hi is the default (two days from now)

    def __contains__(self, ts: datetime) -> bool:
        return self.lo <= ts <= self.hi

    def micros(self) -> tuple[int, int]:
        """The bounds in microseconds since the epoch."""
        return _micros(self.lo), _micros(self.hi)

    def epoch_seconds(self) -> tuple[float, float]:
        return (self.lo - EPOCH).total_seconds(), (self.hi - EPOCH).total_seconds()

    def describe(self) -> str:
        hi = "now" if self.hi_is_now else _show(self.hi)
        origin = f"{self.lo_origin}; " if self.lo_origin else ""
        return f"{_show(self.lo)} to {hi} ({origin}{ENV} sets it)"

    def outside(self, ts: datetime) -> str:
        """The problem of a time outside the window."""
        return f"implausible time {ts.isoformat(sep=' ')}: outside {self.describe()}"

    def outside_epoch(self, seconds: float) -> str:
        """The problem of epoch seconds outside the window (maybe beyond any datetime)."""
        try:
            return self.outside(EPOCH + timedelta(seconds=seconds))
        except (OverflowError, ValueError):
            return f"implausible time {seconds:g} s since 1970: outside {self.describe()}"


def time_window(*, of_study: bool = True) -> TimeWindow:
    """The window in force now: the environment (read on each call), then the study being
    imported into (see study_window; not with `of_study=False`), then the default."""
    text = os.environ.get(ENV, "").strip()
    lo_text, sep, hi_text = text.partition("/")
    if text and not sep:
        raise UcnError(f"{ENV}={text!r}: expected FROM/TO, e.g. 2015-03-01/2015-07-01")
    study_from = _STUDY_FROM.get() if of_study else None
    lo, origin = _parse(lo_text), ""
    if lo is None:
        lo = study_from - STUDY_MARGIN if study_from else EARLIEST
        origin = f"{STUDY_MARGIN.days} days before the earliest user starttime" if study_from else ""
    hi = _parse(hi_text)
    window = TimeWindow(lo, hi or datetime.now(UTC).replace(tzinfo=None) + FUTURE_SLACK, origin,
                        hi_is_now=hi is None)
    if window.hi <= window.lo:
        raise UcnError(f"{ENV}={text!r}: TO must be after FROM" if text else
                       f"the earliest user starttime ({_show(study_from or lo)}) is in the future")
    return window


@contextmanager
def study_window(study: Study) -> Iterator[TimeWindow]:
    """While inside, time_window() narrows to `study` (its earliest user starttime)."""
    token = _STUDY_FROM.set(earliest_start(study))
    try:
        yield time_window()
    finally:
        _STUDY_FROM.reset(token)


def earliest_start(study: Study) -> datetime | None:
    """The earliest users.starttime of the study (None when no user has one)."""
    if not study.has_table("users"):
        return None
    if study.engine.name == "duckdb":  # the same minimum without Ibis and pandas (an import's start)
        _, rows = study.engine.read_rows("SELECT MIN(starttime) FROM users")  # type: ignore[attr-defined]
        value = rows[0][0]
        return None if value is None else value.replace(tzinfo=None)
    import pandas as pd

    value = study.table("users").starttime.min().execute()
    return None if pd.isna(value) else pd.Timestamp(value).to_pydatetime().replace(tzinfo=None)


def _parse(text: str) -> datetime | None:
    if not text.strip():
        return None
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
