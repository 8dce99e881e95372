"""Background-traffic filters: each takes the event frame (see `data.py`) and returns a keep mask.

Filters are independent dataclasses with a `keep(events) -> bool array` method; `apply_filters`
composes them in order, each one seeing only what the previous ones kept (the repeat and
periodicity filters depend on which events are left). Periodicity is in `periodicity.py`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Literal, Protocol

import numpy as np
import pandas as pd

from ucnstudy.errors import InputError
from ucnstudy.inference.beacon import BeaconFilter
from ucnstudy.inference.periodicity import PeriodicityFilter


class EventFilter(Protocol):
    name: str

    def keep(self, events: pd.DataFrame) -> np.ndarray: ...


def apply_filters(events: pd.DataFrame, filters: Sequence[EventFilter]) -> pd.DataFrame:
    """The events that survive every filter, applied in order."""
    kept = events
    for f in filters:
        if kept.empty:
            break
        mask = np.asarray(f.keep(kept), bool)
        kept = kept.loc[mask].reset_index(drop=True)
    return kept


# -- host block lists -------------------------------------------------------------------------

def bundled_hosts() -> set[str]:
    """The background host list the enrichment bundles (data/background_hosts.txt), if present."""
    try:
        text = resources.files("ucnstudy.data").joinpath("background_hosts.txt").read_text("utf-8")
    except (FileNotFoundError, ModuleNotFoundError):
        return set()
    return parse_host_list(text.splitlines())


def parse_host_list(lines: Iterable[str], path: str = "<list>") -> set[str]:
    """Hosts of a list file: plain hosts, hosts-file lines and Adblock `||host^` rules.

    Comments (`!`, `#`, `[Adblock...]`), exceptions (`@@`), cosmetic rules (`##`) and rules with
    a path are skipped: a host list can only decide on hosts.
    """
    hosts: set[str] = set()
    for number, raw in enumerate(lines, 1):
        line = raw.strip()
        if not line or line[0] in "!#[" or line.startswith("@@") or "##" in line or "#@#" in line:
            continue
        if line.startswith("||"):
            body = line[2:].split("$", 1)[0]
            if not body.endswith("^") and "/" in body:
                continue
            host = body.rstrip("^").rstrip("|")
        else:
            parts = line.split()
            host = parts[1] if len(parts) >= 2 and parts[0] in ("0.0.0.0", "127.0.0.1") else parts[0]
        host = host.lower().strip(".")
        if not host or any(c in host for c in "/*^|$ "):
            continue
        if "." not in host and host != "localhost":
            raise InputError(path, f"not a host name: {raw.strip()!r}", line=number)
        hosts.add(host)
    return hosts


def load_host_lists(paths: Sequence[str | Path]) -> set[str]:
    hosts: set[str] = set()
    for p in paths:
        try:
            text = Path(p).read_text("utf-8", errors="replace")
        except OSError as exc:
            raise InputError(str(p), f"cannot read the host list: {exc.strerror}") from None
        hosts |= parse_host_list(text.splitlines(), str(p))
    return hosts


def host_suffixes(host: str) -> list[str]:
    labels = host.split(".")
    return [".".join(labels[i:]) for i in range(len(labels))]


@dataclass
class BlocklistFilter:
    """Drops events whose host (or any parent domain: `||x^` blocks subdomains) is listed.

    `hosts` adds to the bundled list (`bundled=True`); `use_flags` also drops events the
    enrichment already flagged (matches_blacklist / matches_urlblacklist); `drop_empty` drops
    events without a host; `drop_home` drops the original's home-router names (last label
    `home`). The original matched exact hosts only (`exact=True` reproduces that).
    """

    hosts: set[str] = field(default_factory=set, repr=False)  # kept out of cache keys (size)
    bundled: bool = True
    use_flags: bool = True
    drop_empty: bool = True
    drop_home: bool = True
    exact: bool = False
    name: str = "blocklist"

    def __post_init__(self) -> None:
        self._all = set(self.hosts) | (bundled_hosts() if self.bundled else set())

    def listed(self, host: str) -> bool:
        if self.exact:
            return host in self._all
        return any(s in self._all for s in host_suffixes(host))

    def keep(self, events: pd.DataFrame) -> np.ndarray:
        hosts = events["host"]
        uniq = pd.unique(hosts)
        blocked = {h for h in uniq if (self.drop_empty and not h) or self.listed(h)
                   or (self.drop_home and h.rsplit(".", 1)[-1] == "home")}
        keep = ~hosts.isin(blocked).to_numpy()
        if self.use_flags:
            keep &= ~events["listed"].fillna(False).to_numpy(bool)
        return keep


# -- enrichment's user flags ------------------------------------------------------------------

@dataclass
class UserFlagFilter:
    """Keeps events the enrichment judged user-initiated (user_req / user_url).

    `missing` decides for events whose flag was never computed (NA): keep or drop them.
    """

    missing: Literal["keep", "drop"] = "keep"
    name: str = "user-flag"

    def keep(self, events: pd.DataFrame) -> np.ndarray:
        return events["user_flag"].fillna(self.missing == "keep").to_numpy(bool)


# -- the 1-second same-host repeat filter -----------------------------------------------------

@dataclass
class RepeatFilter:
    """Drops repeats of a (device, host) within `min_gap` seconds.

    keep="first" (the 2017-05 analysis): an event is dropped when the previous same-host event
    is <= min_gap s earlier; the first of a burst stays. keep="last" (final_algorithm's
    "seconds" filter): an event is kept only when the next same-host event is > min_gap s later;
    the last stays. Unlike the original, a host with a single event is always kept (bug 28).
    """

    min_gap: float = 1.0
    keep_which: Literal["first", "last"] = "first"
    name: str = "repeat"

    def keep(self, events: pd.DataFrame) -> np.ndarray:
        host_code = pd.factorize(events["host"])[0]
        order = np.lexsort((events["ts"].to_numpy(), host_code, events["devid"].to_numpy()))
        dev = events["devid"].to_numpy()[order]
        host = host_code[order]
        ts = events["ts"].to_numpy(float)[order]
        same = np.zeros(len(ts), bool)
        same[1:] = (dev[1:] == dev[:-1]) & (host[1:] == host[:-1]) & (ts[1:] - ts[:-1] <= self.min_gap)
        if self.keep_which == "first":
            keep_sorted = ~same
        else:
            keep_sorted = np.ones(len(ts), bool)
            keep_sorted[:-1] = ~same[1:]
        out = np.empty(len(ts), bool)
        out[order] = keep_sorted
        return out


__all__ = [
    "BeaconFilter", "BlocklistFilter", "EventFilter", "PeriodicityFilter", "RepeatFilter",
    "UserFlagFilter", "apply_filters", "bundled_hosts", "load_host_lists", "parse_host_list",
]
