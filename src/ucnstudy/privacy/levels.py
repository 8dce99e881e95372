"""How much an anonymised export keeps: one level per kind of data, and named presets.

urls     none | domain | host | path   (what of a URL, a Referer and its parts survives)
dns      domain | full                 (DNS names, SNI: cut to the registrable domain or kept)
grid_m   metres                        (location coordinates snapped to cells of this size)
shift    off | weeks                   (every timestamp of a user moved by a secret whole number
                                        of weeks, in the user's local time)
User agents are always cut to browser family and major version, app names to a category.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any

from ucnstudy.errors import UcnError

URL_LEVELS = ("none", "domain", "host", "path")
DNS_LEVELS = ("domain", "full")
SHIFT_LEVELS = ("off", "weeks")


@dataclass(frozen=True)
class Levels:
    urls: str = "host"
    dns: str = "full"
    grid_m: float = 1000.0
    shift: str = "off"

    def __post_init__(self) -> None:
        for name, allowed in (("urls", URL_LEVELS), ("dns", DNS_LEVELS), ("shift", SHIFT_LEVELS)):
            value = getattr(self, name)
            if value not in allowed:
                raise UcnError(f"--{name} must be one of {', '.join(allowed)}, not {value!r}")
        if not 1.0 <= self.grid_m <= 1_000_000.0:
            raise UcnError(f"--grid must be between 1 and 1000000 metres, not {self.grid_m}")

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


PRESETS: dict[str, Levels] = {
    "strict": Levels(urls="domain", dns="domain", grid_m=5000.0, shift="weeks"),
    "standard": Levels(),
    "detailed": Levels(urls="path", dns="full", grid_m=250.0, shift="off"),
}


def levels(preset: str = "standard", **overrides: Any) -> Levels:
    """A preset with some levels overridden (None means keep the preset's)."""
    if preset not in PRESETS:
        raise UcnError(f"--level must be one of {', '.join(PRESETS)}, not {preset!r}")
    chosen = {k: v for k, v in overrides.items() if v is not None}
    return replace(PRESETS[preset], **chosen)
