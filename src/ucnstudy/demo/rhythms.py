"""Diurnal and weekly rhythms in each user's local time, converted to UTC with DST (zoneinfo).

A local wall-clock time becomes UTC through the offset that the zone has at that local hour of
that local day, so a study spanning the last Sunday of March or October keeps its rhythm in local
time: the evening peak stays at 20:00-22:00 local on both sides of the change. The zone is asked
once per local hour of the chunk, never per event.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np

# Relative intensity of session starts per local hour (0..23).
_HOME_WEEKDAY = (0.3, 0.15, 0.05, 0.03, 0.03, 0.05, 0.4, 1.2, 1.4, 0.7, 0.5, 0.5, 0.9, 0.8, 0.5, 0.5,
                 0.7, 1.1, 1.9, 2.7, 3.4, 3.7, 2.9, 1.4)
_HOME_WEEKEND = (0.6, 0.3, 0.1, 0.05, 0.03, 0.05, 0.1, 0.4, 1.0, 1.7, 2.0, 2.0, 1.8, 1.8, 1.8, 1.8,
                 1.9, 2.0, 2.3, 2.7, 3.3, 3.5, 2.7, 1.5)
_WORK_WEEKDAY = (0, 0, 0, 0, 0, 0, 0, 0.2, 1.5, 3.0, 3.0, 2.5, 1.2, 2.2, 3.0, 3.0, 2.6, 1.5, 0.4, 0.1, 0,
                 0, 0, 0)
_WORK_WEEKEND = (0, 0, 0, 0, 0, 0, 0, 0, 0.05, 0.1, 0.15, 0.15, 0.1, 0.1, 0.1, 0.1, 0.05, 0, 0, 0, 0, 0,
                 0, 0)
PROFILES = {
    ("home", False): np.array(_HOME_WEEKDAY), ("home", True): np.array(_HOME_WEEKEND),
    ("work", False): np.array(_WORK_WEEKDAY), ("work", True): np.array(_WORK_WEEKEND),
}
# Phones are used through the day as well (commute, breaks): a flatter profile.
_PHONE_DAYTIME = np.array([0] * 7 + [0.6] * 12 + [0] * 5)


def hourly_profile(role: str, devtype: str, weekend: bool) -> np.ndarray:
    profile = PROFILES[(role, weekend)].astype(float)
    if devtype == "phone":
        profile = profile + _PHONE_DAYTIME
    return profile


@dataclass(frozen=True)
class LocalDays:
    """Local calendar days [first, first + n) of one time zone and their UTC conversion table."""

    tz: str
    first: date
    n: int
    midnight_naive: np.ndarray  # epoch seconds of each local midnight read as if it were UTC
    offsets: np.ndarray  # (n, 24) UTC offset in seconds at each local hour
    weekend: np.ndarray  # (n,) Saturday or Sunday

    @classmethod
    def build(cls, tz: str, first: date, n: int) -> LocalDays:
        zone = ZoneInfo(tz)
        days = [first + timedelta(days=i) for i in range(n)]
        offsets = np.array([
            [datetime(d.year, d.month, d.day, h, tzinfo=zone).utcoffset().total_seconds()  # type: ignore[union-attr]
             for h in range(24)] for d in days
        ]).reshape(n, 24)
        epoch = date(1970, 1, 1)
        midnight = np.array([(d - epoch).days * 86400.0 for d in days])
        weekend = np.array([d.weekday() >= 5 for d in days])
        return cls(tz, first, n, midnight, offsets, weekend)

    def to_utc(self, day: np.ndarray, local_seconds: np.ndarray) -> np.ndarray:
        """Epoch seconds (UTC) of `local_seconds` after local midnight of day index `day`.

        Times past 24 h roll into the next day's offsets when available.
        """
        day = np.asarray(day, dtype=np.int64)
        sec = np.asarray(local_seconds, dtype=float)
        carry = np.floor(sec / 86400).astype(np.int64)
        day2 = np.clip(day + carry, 0, self.n - 1)
        hour = np.clip(((sec - carry * 86400) // 3600).astype(np.int64), 0, 23)
        return self.midnight_naive[day] + sec - self.offsets[day2, hour]

    def day_bounds_utc(self) -> tuple[np.ndarray, np.ndarray]:
        """UTC start and end of each local day (23 or 25 hours long on DST days)."""
        start = self.to_utc(np.arange(self.n), np.zeros(self.n))
        end = np.append(start[1:], self.to_utc(np.array([self.n - 1]), np.array([86400.0]))[0])
        return start, end


def sample_session_starts(rng: np.random.Generator, days: LocalDays, active: np.ndarray, role: str,
                          devtype: str, per_day: float) -> np.ndarray:
    """UTC start times of sessions on the active local days, following the hourly profile."""
    day_idx = np.nonzero(active)[0]
    if day_idx.size == 0:
        return np.empty(0)
    weekday_total = hourly_profile(role, devtype, False).sum()
    probs = [hourly_profile(role, devtype, bool(w)) for w in days.weekend[day_idx]]
    lam = np.array([per_day * p.sum() / weekday_total for p in probs])
    counts = rng.poisson(lam)
    day_of = np.repeat(day_idx, counts)
    cdf = np.cumsum(np.stack(probs), axis=1)
    cdf = cdf / cdf[:, -1:]
    row = np.repeat(np.arange(day_idx.size), counts)
    hour = np.minimum((rng.random(row.size)[:, None] > cdf[row]).sum(axis=1), 23)
    local = hour * 3600 + rng.random(row.size) * 3600
    return np.sort(days.to_utc(day_of, local))
