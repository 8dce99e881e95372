"""The original notebook's algorithms (exploration1.ipynb), ported to Python 3 for benchmarks.

Benchmarks only: these reproduce what the 2016 notebook did, bugs included, so that ucnstudy's
analyses can be timed against them in the same run. Changes from the notebook: Python 3 syntax,
rows passed in as lists instead of fetched through SQLAlchemy, and the notebook's undefined
`activitylim` read as `inactivitylim` (the variable it defined).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime


def activities(rows_by_user: dict[str, list[tuple[datetime, datetime | None]]],
               inactivitylim: float = 600, minduration: float = 1.0, minevents: int = 2
               ) -> dict[str, list[tuple[datetime, datetime, float, int]]]:
    """The notebook's activity loop over `SELECT ts, lag(ts) OVER (ORDER BY ts)` rows per user.

    Kept as written: the first activity counts one event too few (the first row `continue`s
    before counting), an activity ends at the previous row's time.
    """
    out: dict[str, list] = defaultdict(list)
    for uname, rows in rows_by_user.items():
        start = None
        last = None
        ecnt = 0
        for row in rows:
            if row[1] is None:
                start = row[0]
                last = start
                continue
            dur = (row[1] - start).total_seconds()
            if (row[0] - row[1]).total_seconds() > inactivitylim:
                if dur >= minduration and ecnt > minevents:
                    out[uname].append((start, row[1], dur, ecnt))
                start = row[0]
                ecnt = 0
            last = row[0]
            ecnt += 1
        if start is None:
            continue
        dur = (last - start).total_seconds()
        if dur >= minduration and ecnt > minevents:
            out[uname].append((start, last, dur, ecnt))
    return out


def dns_to_first_http(devices: list[tuple[list[tuple], list[tuple]]]) -> dict[int, float]:
    """The notebook's DNS -> first HTTP merge walk, per device.

    `devices`: per device, (dnsreqs sorted by (query, ts) as (id, ts, query, ttls),
    httpreqs sorted by (host, ts) as (ts, host)). Returns DNS id -> delay in seconds, or -1.
    Kept as written: `list.pop(0)` (linear per pop), requests consumed one-to-one, and the
    host checked only before rewinding by time, so a response can be paired with the next
    host's request.
    """
    dnstofirsthttp: dict[int, float] = {}
    for dnsreqs, httpreqs in devices:
        httpreqs = list(httpreqs)
        if len(dnsreqs) == 0:
            continue
        for reqid, ts, domain, ttls in dnsreqs:
            dnstofirsthttp[reqid] = -1
            # rewind to the matching domain in the sorted http reqs
            while len(httpreqs) > 0 and httpreqs[0][1] < domain:
                httpreqs.pop(0)
            # find the matching http req
            if len(httpreqs) > 0 and httpreqs[0][1] == domain:
                # rewind to the next possible http req
                while len(httpreqs) > 0 and httpreqs[0][0] < ts:
                    httpreqs.pop(0)
                if len(httpreqs) > 0:
                    delay = (httpreqs[0][0] - ts).total_seconds()
                    if ttls is None or len(ttls) == 0 or delay <= ttls[0]:
                        dnstofirsthttp[reqid] = delay
                        httpreqs.pop(0)
    return dnstofirsthttp
