"""Parameters of a demo study, their validation and the digest that makes loads idempotent."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from datetime import date

from ucnstudy import __version__
from ucnstudy.errors import UcnError

# Bump when the generator's output changes for the same parameters, so that a study built by an
# older generator is not mistaken for the current one.
GENERATOR_VERSION = "3"  # 2: TCP performance per network and planted QoS effect; 3: participants come and go

# The UCN study's mix: 11 participants in France, 14 in the UK.
FRANCE_SHARE = 11 / 25


@dataclass(frozen=True)
class DemoParams:
    """What a demo study is made of. The default is shaped like the 2015 UCN study.

    The default start (Monday 12 October 2015) puts the end of summer time (Sunday 25 October
    2015, both in France and in the UK) inside the default three weeks.
    """

    users: int = 25
    days: int = 21
    seed: int = 1
    start: date = date(2015, 10, 12)
    chunk_days: int = 7  # one load per device and block of days: the unit of bounded memory

    def __post_init__(self) -> None:
        if not 1 <= self.users <= 100_000:
            raise UcnError(f"--users must be between 1 and 100000, not {self.users}")
        if not 1 <= self.days <= 3_650:
            raise UcnError(f"--days must be between 1 and 3650, not {self.days}")
        if not 1 <= self.chunk_days <= 366:
            raise UcnError(f"chunk_days must be between 1 and 366, not {self.chunk_days}")
        if self.seed < 0:
            raise UcnError(f"--seed must be >= 0, not {self.seed}")

    @property
    def blocks(self) -> int:
        return -(-self.days // self.chunk_days)

    def as_dict(self) -> dict[str, object]:
        d = asdict(self)
        d["start"] = self.start.isoformat()
        return d

    def describe(self) -> str:
        """The import `path` of the demo: a readable form of the parameters."""
        return f"demo:users={self.users},days={self.days},seed={self.seed},start={self.start.isoformat()}"

    def digest(self, part: str = "") -> str:
        """SHA-256 of the parameters, the generator version and one part of the study."""
        payload = json.dumps(
            {"params": self.as_dict(), "generator": GENERATOR_VERSION, "ucnstudy": __version__, "part": part},
            sort_keys=True,
        )
        return hashlib.sha256(payload.encode()).hexdigest()
