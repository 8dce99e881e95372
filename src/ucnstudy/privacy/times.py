"""A secret shift of every timestamp of a user by a whole number of weeks, in local time.

Each user gets a keyed offset of 1 to 520 weeks, forwards or backwards. A timestamp moves in the
user's local time (users.timezone, else the country's zone): the local weekday and hour stay
exactly what they were, across summer-time changes; a local time that does not exist on the new
date (the skipped hour of spring) moves to the earliest valid instant. A device follows its
first user (lowest user id); a device of no user is shifted by its own keyed offset in UTC.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ucnstudy.privacy.keys import Pseudonyms

MAX_WEEKS = 520


def offset_weeks(pseudonyms: Pseudonyms, kind: str, ident: int) -> int:
    """A keyed non-zero offset in [-520, -1] or [1, 520] weeks."""
    w = pseudonyms.number(f"shift-{kind}", ident) % (2 * MAX_WEEKS) - MAX_WEEKS
    return w + 1 if w >= 0 else w


@dataclass
class Shifts:
    """(time zone, weeks) per user id and per device id."""

    users: dict[int, tuple[str, int]] = field(default_factory=dict)
    devices: dict[int, tuple[str, int]] = field(default_factory=dict)
    pseudonyms: Pseudonyms | None = None

    def of(self, owner: str, ident: int) -> tuple[str, int]:
        table = self.users if owner == "user" else self.devices
        found = table.get(ident)
        if found is None and self.pseudonyms is not None:
            found = table[ident] = ("UTC", offset_weeks(self.pseudonyms, owner, ident))
        return found or ("UTC", 0)

    def apply(self, ts: pa.Array, owners: pa.Array, owner: str) -> pa.Array:
        """Shift each timestamp by its owner's offset (owners: user or device ids)."""
        ts = ts.combine_chunks() if isinstance(ts, pa.ChunkedArray) else ts
        ids = owners.to_numpy(zero_copy_only=False)
        out = pc.fill_null(ts.cast(pa.int64()), 0).to_numpy(zero_copy_only=False).copy()
        valid = ~np.asarray(ts.is_null().to_numpy(zero_copy_only=False))
        for ident in np.unique(ids[valid]) if valid.any() else []:
            rows = np.flatnonzero(valid & (ids == ident))
            tz, weeks = self.of(owner, int(ident))
            out[rows] = _shift_local(pa.array(out[rows], pa.timestamp("us")), tz, weeks)
        return pa.array(out, pa.int64(), mask=~valid).cast(pa.timestamp("us"))


def _shift_local(ts: pa.Array, tz: str, weeks: int) -> np.ndarray:
    """Naive UTC instants moved by `weeks` in local time of `tz`; as int64 microseconds."""
    delta = pa.scalar(timedelta(weeks=weeks), pa.duration("us"))
    if tz == "UTC":
        return pc.add(ts, delta).cast(pa.int64()).to_numpy()
    local = pc.local_timestamp(ts.cast(pa.timestamp("us", "UTC")).cast(pa.timestamp("us", tz)))
    moved = pc.assume_timezone(pc.add(local, delta), timezone=tz, ambiguous="earliest",
                               nonexistent="earliest")
    return moved.cast(pa.int64()).to_numpy()
