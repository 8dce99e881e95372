"""What an anonymised export does with every column of every canonical table.

`policy(levels)` maps table -> column -> Rule. It must name every column of schema.TABLES: the
export refuses a column without a rule (a new column is never passed through silently), and
tests/privacy/test_policy.py fails until the new column gets one. Actions:

kept           the value as it is (counts, times, ports, flags, categories of device)
pseudonymised  a keyed HMAC pseudonym: equal values stay equal, nothing else is learnt
anonymised     an IP address through prefix-preserving Crypto-PAn
coarsened      cut to a level (URLs, DNS names, user agents, app names, coordinates)
shifted        moved by the owner's secret whole number of weeks (level shift=weeks)
removed        every value NULL
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pyarrow as pa

from ucnstudy.errors import StudyError
from ucnstudy.privacy.arrays import nulls
from ucnstudy.privacy.levels import Levels
from ucnstudy.privacy.places import snap
from ucnstudy.privacy.transformer import Transformer
from ucnstudy.schema import IMPORT_ID, TABLES, TRACED

Apply = Callable[[Transformer, pa.RecordBatch, str], pa.Array]


@dataclass(frozen=True)
class Rule:
    action: str
    detail: str
    apply: Apply | None = None  # None: kept as is

    def describe(self) -> dict[str, str]:
        return {"action": self.action, "detail": self.detail}


KEEP = Rule("kept", "as is")
REMOVE = Rule("removed", "every value NULL", lambda tx, b, c: nulls(b[c]))


SCRUBBED = "; usernames, logins and family names in it pseudonymised"


def _map(action: str, detail: str, mapper: str) -> Rule:
    return Rule(action, detail, lambda tx, b, c: getattr(tx, mapper)(b[c]))


def _pseudonym(what: str, mapper: str) -> Rule:
    return _map("pseudonymised", f"keyed HMAC-SHA256 pseudonym of the {what}", mapper)


ADDRESS = _map("anonymised", "Crypto-PAn, prefix-preserving (IPv4 and IPv6)", "address")
FLOWID = _map("pseudonymised", "keyed HMAC-SHA256 of the flow id (joins across tables kept)",
              "flowid")
_TUPLE = {"srcip": ADDRESS, "dstip": ADDRESS, "proto": KEEP, "srcport": KEEP, "dstport": KEEP,
          "flowid": FLOWID}
_COUNTERS = dict.fromkeys(("packets_in", "bytes_in", "packets_out", "bytes_out"), KEEP)
_TCP = dict.fromkeys(
    ["hs_rtt_internet_ms", "hs_rtt_access_ms"]
    + [f"rtt_{side}_{s}" for side in ("internet", "access") for s in ("n", "min_ms", "mean_ms", "max_ms")]
    + [f"{m}_{d}" for m in ("retrans_pkts", "retrans_bytes", "dupacks", "ooo_pkts", "zerowin",
                            "bulk_secs", "applimited_secs", "bulk_bytes") for d in ("out", "in")],
    KEEP,
)


def _time(levels: Levels, owner_column: str, owner: str = "device") -> Rule:
    if levels.shift == "off":
        return KEEP
    return Rule("shifted", f"moved by the {owner}'s secret whole number of weeks, local time",
                lambda tx, b, c: tx.shifts.apply(b[c], b[owner_column], owner))


def _urls(levels: Levels) -> dict[str, Rule]:
    lv = levels.urls
    if lv == "none":
        return dict.fromkeys(("req_url", "req_url_host", "req_url_domain", "req_url_path",
                              "req_referer"), REMOVE)
    url = _map("coarsened", f"level urls={lv}: " + {
        "domain": "scheme://registrable-domain/", "host": "scheme://host:port/",
        "path": "scheme://host:port/path, no query string, fragment or user info"}[lv] + SCRUBBED,
        "url")
    host = KEEP if lv != "domain" else _map("coarsened", "registrable domain", "url_host")
    return {
        "req_url": url, "req_referer": url,
        "req_url_host": _map(host.action, host.detail + "; IP literals Crypto-PAn" + SCRUBBED,
                             "url_host"),
        "req_url_domain": _map("kept", "as is; IP literals Crypto-PAn" + SCRUBBED, "url_domain"),
        "req_url_path": REMOVE if lv != "path" else _map("coarsened", "no query string" + SCRUBBED,
                                                         "url_path"),
    }


def _dns(levels: Levels) -> Rule:
    if levels.dns == "full":
        return _map("kept", "as is; IP literals and reverse-DNS names Crypto-PAn" + SCRUBBED,
                    "dns_name")
    return _map("coarsened", "level dns=domain: registrable domain; reverse-DNS names Crypto-PAn"
                + SCRUBBED, "dns_name")


def _tables(levels: Levels) -> dict[str, dict[str, Rule]]:
    t = lambda: _time(levels, "devid")  # noqa: E731
    app = _map("coarsened", "category (browser, mail, office, media, chat, social, game, system, "
               "other)", "app")
    dns = _dns(levels)
    domain = _map("kept", "as is; reverse-DNS names Crypto-PAn" + SCRUBBED, "domain_name")
    return {
        "users": {"id": KEEP, "username": _pseudonym("username", "user"),
                  "familyname": _pseudonym("family name (households stay together)", "family"),
                  "starttime": _time(levels, "id", "user"), "country": KEEP, "timezone": KEEP},
        "devices": {"id": KEEP, "name": _pseudonym("device name", "device"),
                    "login": _pseudonym("login", "login"), "platform": KEEP, "devtype": KEEP,
                    "os": KEEP, "shared": KEEP},
        "device_addresses": {"devid": KEEP, "address": ADDRESS, "valid_from": t(), "valid_to": t()},
        "user_devices": {"user_id": KEEP, "device_id": KEEP},
        "devicetraffic": {"devid": KEEP, "ts": t(), **_COUNTERS},
        "deviceapptraffic": {"devid": KEEP, "ts": t(), **_TUPLE, **_COUNTERS, "service": KEEP,
                             "appname": app},
        "flows": {"devid": KEEP, "startts": t(), "endts": t(), **_TUPLE, **_COUNTERS,
                  "service": KEEP, "server_name": dns, "appname": app, **_TCP},
        "dnsreqs": {"devid": KEEP, "ts": t(), "query_ts": t(), **_TUPLE, "query": dns,
                    "query_type": KEEP, "query_domain": domain, "query_tld": KEEP,
                    "ans_type": KEEP, "ans_name": dns,
                    "ans_addr": _map(dns.action, "addresses Crypto-PAn; names as query", "answer"),
                    "ans_ttl": KEEP, "user_req": KEEP, "duplicate": KEEP, "matches_blacklist": KEEP,
                    "matches_easylist": KEEP},
        "httpreqs": {"devid": KEEP, "source": KEEP, "ts": t(), "req_method": KEEP, **_urls(levels),
                     "req_ua": _map("coarsened", "browser and OS family and major version "
                                    "(ua-parser)", "user_agent"),
                     "res_status_code": KEEP, "res_size": KEEP, "res_mimetype": KEEP, **_TUPLE,
                     "user_url": KEEP, "matches_ctypefilter": KEEP, "matches_urlblacklist": KEEP,
                     "matches_easylist": KEEP},
        "locations": _locations(levels),
        "sockets": {"devid": KEEP, "ts": t(), "appname": app, "pid": KEEP, **_TUPLE},
        "runningapps": {"devid": KEEP, "ts": t(), "appname": app, "pid": KEEP, "memory": KEEP,
                        "cpu": KEEP, "is_foreground": KEEP, "is_fullscreen": KEEP, "has_io": KEEP},
        "gt_foreground": {"devid": KEEP, "starttime": t(), "endtime": t(), "appname": app,
                          "fullscreen": KEEP, "idle": KEEP},
        "gt_io": {"devid": KEEP, "ts": t(), "io_device": KEEP, "appname": app},
        "imports": {"id": KEEP, "source_kind": KEEP,
                    "path": Rule("removed", "file paths name people and places", REMOVE.apply),
                    "sha256": _map("pseudonymised", "keyed HMAC-SHA256 of the digest", "digest"),
                    "rows": KEEP,
                    "imported_at": _dated(levels),
                    "parser_version": KEEP,
                    "options": Rule("removed", "options name devices and files", REMOVE.apply),
                    "table_rows": KEEP},
        "networks": {"devid": KEEP, "valid_from": t(), "valid_to": t(), "network_type": KEEP,
                     "access_type": KEEP,
                     "name": _pseudonym("network name (SSID, operator)", "network_name")},
        "schema_versions": {"version": KEEP, "applied_at": _dated(levels), "ucnstudy_version": KEEP},
        "study_tasks": {"task": KEEP, "source_kind": KEEP, "since": _dated(levels)},
    }


def _traced(tables: dict[str, dict[str, Rule]]) -> dict[str, dict[str, Rule]]:
    """The import id every loaded table carries: a small counter, kept."""
    return {name: {**rules, IMPORT_ID.name: KEEP} if name in TRACED else rules
            for name, rules in tables.items()}


def _dated(levels: Levels) -> Rule:
    """When the study itself was written: kept, unless it would date a shifted study."""
    return KEEP if levels.shift == "off" else Rule("removed", "would date the shifted study",
                                                   REMOVE.apply)


def _locations(levels: Levels) -> dict[str, Rule]:
    t = _time(levels, "devid")
    grid = Rule("coarsened", f"snapped to the centre of a {levels.grid_m:g} m grid cell",
                lambda tx, b, c: snap(b[c], levels.grid_m))
    label = _map("coarsened", "kind-of-place label (home, work, ...) kept, other names "
                 "pseudonymised", "place_name")
    return {"devid": KEEP, "source": KEEP, "entertime": t, "exittime": t, "name": label,
            "loc_id": _pseudonym("place id", "loc_id"), "loc_name": label, "lat": grid,
            "lon": grid, "net_public_ip": ADDRESS, "net_asnumber": KEEP, "net_asname": KEEP,
            "street": REMOVE, "city": REMOVE, "country": KEEP, "kind": KEEP}


def policy(levels: Levels) -> dict[str, dict[str, Rule]]:
    return _traced(_tables(levels))


def rules_for(rules: dict[str, dict[str, Rule]], table: str) -> dict[str, Rule]:
    """The rules of one table, refusing a table or column that has none."""
    columns = TABLES[table].column_names
    mine = rules.get(table, {})
    missing = [c for c in columns if c not in mine]
    if missing:
        raise StudyError(f"no anonymisation rule for {', '.join(f'{table}.{c}' for c in missing)}: "
                         f"add one to ucnstudy/privacy/policy.py before exporting")
    return {c: mine[c] for c in columns}
