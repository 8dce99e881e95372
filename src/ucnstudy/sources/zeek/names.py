"""flows.server_name from Zeek ssl (TLS SNI), http (Host) and dns (the name that resolved dstip).

A SNI or Host name applies to the flow of the same device and flowid whose [startts, endts]
contains the name's record time (1 s of slack for the rounding of Zeek's durations). SNI wins;
the Host header fills flows that have no name yet; then a flow still without a name takes the
query of the device's most recent DNS answer for its dstip in the hour before the flow started.
Set-based, in one transaction, which also deletes the NAMES_TASK entry of study_tasks that each
Zeek import leaves until this pass has run over its flows (see sources.zeek.name_flows).
"""

from __future__ import annotations

import pyarrow as pa

from ucnstudy.enrich.session import transaction
from ucnstudy.store import Study

NAMES_TASK = "zeek-names"  # study_tasks: flows of recorded Zeek imports still lack their names
SLACK = "INTERVAL '1 second'"
RESOLVED_WITHIN = "INTERVAL '1 hour'"


def _update(priority: int, only_unnamed: bool) -> str:
    condition = "flows.server_name IS NULL" if only_unnamed else "flows.server_name IS DISTINCT FROM n.name"
    return (
        "UPDATE flows SET server_name = n.name FROM _ucn_names AS n "
        "WHERE flows.devid = n.devid AND flows.flowid = n.flowid "
        f"AND n.ts >= flows.startts - {SLACK} AND n.ts <= flows.endts + {SLACK} "
        f"AND n.priority = {int(priority)} AND {condition}"
    )


_RESOLVED = (
    "SELECT r.name FROM _ucn_resolved AS r WHERE r.devid = flows.devid AND r.address = flows.dstip "
    f"AND r.ts <= flows.startts AND r.ts >= flows.startts - {RESOLVED_WITHIN}"
)
_BY_DNS = (
    f"UPDATE flows SET server_name = ({_RESOLVED} ORDER BY r.ts DESC LIMIT 1) "
    f"WHERE flows.server_name IS NULL AND EXISTS ({_RESOLVED})"
)


def apply_server_names(study: Study, names: pa.Table, resolved: pa.Table) -> int:
    """Name flows from `names` (devid, flowid, ts, name, priority) and `resolved` (devid, address,
    ts, name); the number of rows changed."""
    with transaction(study) as session:
        session.put("_ucn_names", names)
        session.put("_ucn_resolved", resolved)
        changed = max(session.execute(_update(0, only_unnamed=False)), 0)
        changed += max(session.execute(_update(1, only_unnamed=True)), 0)
        changed += max(session.execute(_BY_DNS), 0)
        session.execute("DELETE FROM study_tasks WHERE task = ?", [NAMES_TASK])  # commits with them
        return changed
