"""flows.server_name from the names that Zeek ssl (TLS SNI) and http (Host) logs carry.

A name applies to the flow of the same device and flowid whose [startts, endts] contains the
name's record time (1 s of slack for the rounding of Zeek's durations). SNI wins over the Host
header, which only fills flows that have no name yet. Set-based, in one transaction.
"""

from __future__ import annotations

import pyarrow as pa

from ucnstudy.enrich.session import transaction
from ucnstudy.store import Study

SLACK = "INTERVAL '1 second'"


def _update(priority: int, only_unnamed: bool) -> str:
    condition = "flows.server_name IS NULL" if only_unnamed else "flows.server_name IS DISTINCT FROM n.name"
    return (
        "UPDATE flows SET server_name = n.name FROM _ucn_names AS n "
        "WHERE flows.devid = n.devid AND flows.flowid = n.flowid "
        f"AND n.ts >= flows.startts - {SLACK} AND n.ts <= flows.endts + {SLACK} "
        f"AND n.priority = {int(priority)} AND {condition}"
    )


def apply_server_names(study: Study, names: pa.Table) -> int:
    """Give flows the names of `names` (devid, flowid, ts, name, priority); rows changed."""
    with transaction(study) as session:
        session.put("_ucn_names", names)
        return max(session.execute(_update(0, only_unnamed=False)), 0) + max(
            session.execute(_update(1, only_unnamed=True)), 0)
