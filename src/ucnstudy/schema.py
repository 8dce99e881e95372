"""The canonical study schema: one definition that drives DDL, Arrow schemas and docs.

Names follow the original UCN study database so that an existing database opens as it is.
Every timestamp is a naive UTC instant with microsecond precision (timestamp[us]).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING

from ucnstudy.errors import StudyError
from ucnstudy.lazy import ibis  # the schema is read by `ucn --help`; Ibis loads on first use

if TYPE_CHECKING:
    import ibis.expr.datatypes as dt
    import pyarrow as pa

TS = "timestamp(6)"


@cache
def _arrow_types() -> dict[str, Callable[[], pa.DataType]]:
    """The Arrow type of each Ibis type string the schema uses (as Ibis maps it)."""
    import pyarrow as pa

    return {"string": pa.string, "boolean": pa.bool_, "int32": pa.int32, "int64": pa.int64,
            "float64": pa.float64, TS: lambda: pa.timestamp("us"),
            "array<int32>": lambda: pa.list_(pa.int32()),
            "array<string>": lambda: pa.list_(pa.string())}


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # an Ibis type string; portable types only (no unsigned, no ns timestamps)
    doc: str
    nullable: bool = True

    @property
    def dtype(self) -> dt.DataType:
        return ibis.dtype(self.type).copy(nullable=self.nullable)


@dataclass(frozen=True)
class Table:
    name: str
    doc: str
    columns: tuple[Column, ...]
    indexes: tuple[tuple[str, ...], ...] = field(default=())

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(f"table {self.name} has no column {name!r}")

    def ibis_schema(self) -> ibis.Schema:
        return ibis.schema({c.name: c.dtype for c in self.columns})

    def arrow_schema(self) -> pa.Schema:
        """The Arrow schema, built without Ibis for the schema's own types (an import needs it
        before anything else would load Ibis); equal to `ibis_schema().to_pyarrow()` (tested)."""
        import pyarrow as pa

        types = _arrow_types()
        if not all(c.type in types for c in self.columns):
            return self.ibis_schema().to_pyarrow()
        return pa.schema([pa.field(c.name, types[c.type](), nullable=c.nullable)
                          for c in self.columns])


def C(name: str, type: str, doc: str, nullable: bool = True) -> Column:
    return Column(name, type, doc, nullable)


_TUPLE = (
    C("srcip", "string", "device-side IP address (IPv4 or IPv6 text form)"),
    C("dstip", "string", "remote IP address"),
    C("proto", "int32", "IP protocol number (6 TCP, 17 UDP)"),
    C("srcport", "int32", "device-side port"),
    C("dstport", "int32", "remote port"),
    C("flowid", "string", "SHA-224 hex of the device-oriented 5-tuple with '|' separators"),
)
_COUNTERS = (
    C("packets_in", "int64", "packets received by the device"),
    C("bytes_in", "int64", "bytes received by the device (sum of IP total length)"),
    C("packets_out", "int64", "packets sent by the device"),
    C("bytes_out", "int64", "bytes sent by the device (sum of IP total length)"),
)

def _per_direction(name: str, type: str, doc: str) -> tuple[Column, ...]:
    return (
        C(f"{name}_out", type, f"{doc}, device to server (TCP only)"),
        C(f"{name}_in", type, f"{doc}, server to device (TCP only)"),
    )


def _rtt_samples(side: str, where: str) -> tuple[Column, ...]:
    what = f"RTT samples {where} (data segment to the ACK covering it, Karn's rule)"
    return (
        C(f"rtt_{side}_n", "int32", f"number of {what}"),
        C(f"rtt_{side}_min_ms", "float64", f"minimum of the {what}, ms"),
        C(f"rtt_{side}_mean_ms", "float64", f"mean of the {what}, ms"),
        C(f"rtt_{side}_max_ms", "float64", f"maximum of the {what}, ms"),
    )


# TCP performance of a flow, measured at the capture point (docs/inputs/pcap.md). "internet"
# is the path capture point <-> server, "access" the path capture point <-> device.
_TCP_PERFORMANCE = (
    C("hs_rtt_internet_ms", "float64", "handshake time on the internet side, ms: SYN to SYN/ACK "
      "when the device connected (NULL: not seen)"),
    C("hs_rtt_access_ms", "float64", "handshake time on the access side, ms: SYN/ACK to the "
      "handshake's ACK when the device connected (NULL: not seen)"),
    *_rtt_samples("internet", "capture point to server (device data, server ACKs)"),
    *_rtt_samples("access", "capture point to device (server data, device ACKs)"),
    *_per_direction("retrans_pkts", "int64", "retransmitted segments (tshark's retransmission "
                    "flag; Zeek: lower bound from history t/T)"),
    *_per_direction("retrans_bytes", "int64", "retransmitted payload bytes"),
    *_per_direction("dupacks", "int64", "duplicate ACKs sent"),
    *_per_direction("ooo_pkts", "int64", "out-of-order segments"),
    *_per_direction("zerowin", "int64", "zero-window advertisements sent (Zeek: lower bound "
                    "from history w/W)"),
    *_per_direction("bulk_secs", "float64", "seconds in bulk transfer periods (gaps of at most "
                    "one RTT after a full-size segment)"),
    *_per_direction("applimited_secs", "float64", "seconds in application-limited periods (the "
                    "other gaps between data segments)"),
    *_per_direction("bulk_bytes", "int64", "payload bytes sent in bulk transfer periods"),
)


TABLES: dict[str, Table] = {
    t.name: t
    for t in (
        Table(
            "users",
            "Study participants.",
            (
                C("id", "int64", "user id", False),
                C("username", "string", "login in lower case, unique", False),
                C("familyname", "string", "household name; members of a household share it"),
                C("starttime", TS, "registration time (UTC)"),
                C("country", "string", "ISO 3166 alpha-2 code in lower case (fr, uk, ...)"),
                C(
                    "timezone",
                    "string",
                    "IANA time zone; when empty it derives from country (fr -> Europe/Paris, "
                    "uk -> Europe/London)",
                ),
            ),
            (("username",),),
        ),
        Table(
            "devices",
            "Devices of the participants.",
            (
                C("id", "int64", "device id", False),
                C("name", "string", "registration name"),
                C("login", "string", "<username>.<devicename>, unique", False),
                C(
                    "platform",
                    "string",
                    "iphone, ipad, android-phone, android-tablet, macbook, windows-laptop, "
                    "windows-pc",
                ),
                C("devtype", "string", "phone, tablet, laptop or pc"),
                C("os", "string", "ios, android, darwin or windows"),
                C("shared", "boolean", "true when more than one user uses the device"),
            ),
            (("login",),),
        ),
        Table(
            "device_addresses",
            "Address leases: which device held an IP address when (replaces devices.addresses).",
            (
                C("devid", "int64", "device id", False),
                C("address", "string", "IP address (VPN or LAN)", False),
                C("valid_from", TS, "lease start (UTC); NULL means since ever"),
                C("valid_to", TS, "lease end, exclusive (UTC); NULL means until now"),
            ),
            (("address",),),
        ),
        Table(
            "user_devices",
            "Which user uses which device (many-to-many).",
            (
                C("user_id", "int64", "users.id", False),
                C("device_id", "int64", "devices.id", False),
            ),
        ),
        Table(
            "devicetraffic",
            "Total IP traffic of a device per second; a row exists only for a second with at "
            "least one packet, so count(*) is the number of active seconds.",
            (
                C("devid", "int64", "device id", False),
                C("ts", TS, "start of the 1-second interval (UTC)", False),
                *_COUNTERS,
            ),
            (("devid", "ts"),),
        ),
        Table(
            "deviceapptraffic",
            "Traffic per device-oriented 5-tuple per window (start aligned to floor(ts/W)*W, "
            "W = 10 s by default).",
            (
                C("devid", "int64", "device id", False),
                C("ts", TS, "window start (UTC)", False),
                *_TUPLE,
                *_COUNTERS,
                C("service", "string", "IANA service name of (dstport, proto)"),
                C("appname", "string", "application owning the socket, when known"),
            ),
            (("devid", "ts"), ("dstport",)),
        ),
        Table(
            "flows",
            "Flows of a device: packets of one 5-tuple until an idle gap of 300 s (total "
            "seconds).",
            (
                C("devid", "int64", "device id", False),
                C("startts", TS, "first packet (UTC)", False),
                C("endts", TS, "last packet (UTC)", False),
                *_TUPLE,
                *_COUNTERS,
                C("service", "string", "IANA service name of (dstport, proto)"),
                C("server_name", "string", "TLS SNI, HTTP Host, or the DNS name that resolved dstip"),
                C("appname", "string", "application owning the socket, when known"),
                *_TCP_PERFORMANCE,
            ),
            (("devid", "startts"),),
        ),
        Table(
            "dnsreqs",
            "DNS responses seen by a device, one row per response; answer arrays are aligned "
            "(one entry per resource record).",
            (
                C("devid", "int64", "device id", False),
                C("ts", TS, "response time (UTC)", False),
                C("query_ts", TS, "time of the matching query, when seen (UTC)"),
                *_TUPLE,
                C("query", "string", "queried name, lower case, no trailing dot"),
                C("query_type", "int32", "query type (1 A, 28 AAAA, 5 CNAME, 65 HTTPS, ...)"),
                C("query_domain", "string", "registrable domain of query (Public Suffix List)"),
                C("query_tld", "string", "public suffix of query"),
                C("ans_type", "array<int32>", "type of each answer record"),
                C("ans_name", "array<string>", "owner name of each answer record"),
                C(
                    "ans_addr",
                    "array<string>",
                    "address (A/AAAA) or target (CNAME...) of each answer record",
                ),
                C("ans_ttl", "array<int32>", "TTL in seconds of each answer record"),
                C("user_req", "boolean", "user-initiated: no background/tracker flag matched"),
                C("duplicate", "boolean", "an HTTP request for the same host follows within 60 s"),
                C("matches_blacklist", "boolean", "query matches the known background host list"),
                C("matches_easylist", "boolean", "query blocked by a user-supplied Adblock list"),
            ),
            (("devid", "ts"), ("devid", "query", "ts")),
        ),
        Table(
            "httpreqs",
            "HTTP requests of a device (proxy, capture or end-host agent). The original "
            "database's httpreqs2 is read as this table.",
            (
                C("devid", "int64", "device id", False),
                C("source", "string", "squid, pcap, zeek, hostview or demo"),
                C("ts", TS, "request time (UTC)", False),
                C("req_method", "string", "GET, POST, CONNECT, ..."),
                C("req_url", "string", "full URL"),
                C("req_url_host", "string", "host of the URL, lower case"),
                C("req_url_domain", "string", "registrable domain of the host (Public Suffix List)"),
                C("req_url_path", "string", "path of the URL"),
                C("req_ua", "string", "User-Agent header"),
                C("req_referer", "string", "Referer header"),
                C("res_status_code", "int32", "HTTP status code of the response"),
                C("res_size", "int64", "response size in bytes"),
                C("res_mimetype", "string", "response MIME type, type/subtype"),
                *_TUPLE,
                C("user_url", "boolean", "user-initiated: no static/background/tracker flag matched"),
                C("matches_ctypefilter", "boolean", "static content (scripts, styles, images, media)"),
                C("matches_urlblacklist", "boolean", "host on the known background host list"),
                C("matches_easylist", "boolean", "URL blocked by a user-supplied Adblock list"),
            ),
            (("devid", "ts"), ("devid", "req_url_host", "ts")),
        ),
        Table(
            "locations",
            "Places and networks where a device was, as intervals.",
            (
                C("devid", "int64", "device id", False),
                C("source", "string", "moves, takeout, timeline, gpx, vpn, hostview or demo"),
                C("entertime", TS, "interval start (UTC)", False),
                C("exittime", TS, "interval end (UTC)", False),
                C("name", "string", "most specific label available"),
                C("loc_id", "string", "place id of the location source"),
                C("loc_name", "string", "place name (home, work, ...)"),
                C("lat", "float64", "latitude, degrees WGS84"),
                C("lon", "float64", "longitude, degrees WGS84"),
                C("net_public_ip", "string", "public IP address of the network"),
                C("net_asnumber", "int64", "autonomous system number of the network"),
                C("net_asname", "string", "autonomous system name of the network"),
                C("street", "string", "street"),
                C("city", "string", "city"),
                C("country", "string", "country"),
                C("kind", "string", "place, move or waypoint (NULL means place)"),
            ),
            (("devid", "entertime"),),
        ),
        Table(
            "networks",
            "Networks declared by the study (manifest): they override the derived network type "
            "(docs/analyses.md, network type).",
            (
                C("devid", "int64", "device id", False),
                C("valid_from", TS, "declared from (UTC); NULL means since ever"),
                C("valid_to", TS, "declared until, exclusive (UTC); NULL means until now"),
                C("network_type", "string", "cellular, home, work, public or unknown", False),
                C("access_type", "string", "cellular, wifi or fixed (NULL: from the device type)"),
                C("name", "string", "the network's name (SSID, operator, ...)"),
            ),
            (("devid",),),
        ),
        Table(
            "sockets",
            "Sockets mapped to applications by an end-host agent.",
            (
                C("devid", "int64", "device id", False),
                C("ts", TS, "sample time (UTC)", False),
                C("appname", "string", "process name, lower case"),
                C("pid", "int64", "process id"),
                *_TUPLE,
            ),
        ),
        Table(
            "runningapps",
            "Running applications sampled by an end-host agent.",
            (
                C("devid", "int64", "device id", False),
                C("ts", TS, "sample time (UTC)", False),
                C("appname", "string", "process name, lower case"),
                C("pid", "int64", "process id"),
                C("memory", "int64", "resident memory in bytes"),
                C("cpu", "float64", "CPU use in percent"),
                C("is_foreground", "boolean", "the app had the focus at ts"),
                C("is_fullscreen", "boolean", "the app was fullscreen at ts"),
                C("has_io", "boolean", "an IO event of this pid since its previous sample"),
            ),
        ),
        Table(
            "gt_foreground",
            "Ground truth: foreground application intervals from an end-host agent.",
            (
                C("devid", "int64", "device id", False),
                C("starttime", TS, "focus gained (UTC)", False),
                C("endtime", TS, "focus lost (UTC)", False),
                C("appname", "string", "application name"),
                C("fullscreen", "boolean", "the window was fullscreen"),
                C("idle", "boolean", "the user was idle (no input) during the interval"),
            ),
            (("devid", "starttime"),),
        ),
        Table(
            "gt_io",
            "Ground truth: user input/output events (keyboard, mouse, ...) from an end-host "
            "agent.",
            (
                C("devid", "int64", "device id", False),
                C("ts", TS, "event time (UTC)", False),
                C(
                    "io_device",
                    "string",
                    "camera, keyboard, microphone, mouse or speaker (HostView codes 0-4)",
                ),
                C("appname", "string", "process owning the IO"),
            ),
            (("devid", "ts"),),
        ),
        Table(
            "imports",
            "What was loaded, for idempotency: one row per imported file.",
            (
                C("id", "int64", "import id", False),
                C("source_kind", "string", "importer: table, pcap, squid, zeek, demo, ...", False),
                C("path", "string", "file path as given"),
                C("sha256", "string", "SHA-256 hex of the file content (decompressed: gzip, zip)", False),
                C("rows", "int64", "rows added by this import"),
                C("imported_at", TS, "when the import committed (UTC)"),
                C("parser_version", "string", "ucnstudy version that parsed the file"),
                C("options", "string", "JSON object: the importer options of this import"),
                C("table_rows", "string", "JSON object: rows added per table"),
            ),
            (("sha256",),),
        ),
        Table(
            "study_tasks",
            "Work that committed imports left unfinished: one row per pending task, written in the "
            "import's own transaction and deleted in the transaction that does the task (`enrich`: "
            "derived columns of the new rows; `zeek-names`: server names of Zeek flows; `ucn enrich` "
            "or the next import of that kind does it).",
            (
                C("task", "string", "what is pending: enrich, zeek-names", False),
                C("source_kind", "string", "importer whose rows need it"),
                C("since", TS, "when the import that left it committed (UTC)"),
            ),
        ),
        Table(
            "schema_versions",
            "The schema versions the study was written with: one row per creation or upgrade "
            "(the study's version is the largest; no row means version 1).",
            (
                C("version", "int32", "schema version (ucnstudy.schema.SCHEMA_VERSION)", False),
                C("applied_at", TS, "when the study was created or upgraded to it (UTC)"),
                C("ucnstudy_version", "string", "ucnstudy version that wrote it"),
            ),
        ),
    )
}

# Schema version of the study files this code writes; bump it (and add a step to
# store/migrate.py MIGRATIONS) whenever a table or column is added.
SCHEMA_VERSION = 2

# Tables that describe the study itself rather than loaded rows: they carry no import_id.
BOOKKEEPING = ("imports", "schema_versions", "study_tasks")
IMPORT_ID = C("import_id", "int64", "imports.id of the import that loaded the row (NULL: loaded "
                                    "before import tracing)")


def _traced(t: Table) -> Table:
    """`t` with the import_id column every loaded table carries (rows trace to their import).

    No index: removing an import is rare, and a scan of one int64 column is cheap on every
    engine (DuckDB prunes row groups by min/max, imports being loaded in order)."""
    if t.name in BOOKKEEPING or IMPORT_ID.name in t.column_names:
        return t
    return Table(t.name, t.doc, (*t.columns, IMPORT_ID), t.indexes)


TABLES = {name: _traced(t) for name, t in TABLES.items()}
TRACED: tuple[str, ...] = tuple(n for n in TABLES if n not in BOOKKEEPING)

# Tables whose rows are events in time: (table, time column) for `ucn info` spans.
TIME_COLUMNS: dict[str, str] = {
    "devicetraffic": "ts",
    "deviceapptraffic": "ts",
    "flows": "startts",
    "dnsreqs": "ts",
    "httpreqs": "ts",
    "locations": "entertime",
    "sockets": "ts",
    "runningapps": "ts",
    "gt_foreground": "starttime",
    "gt_io": "ts",
}

COUNTRY_TIMEZONES: dict[str, str] = {
    "fr": "Europe/Paris",
    "uk": "Europe/London",
    "gb": "Europe/London",
    "ie": "Europe/Dublin",
    "de": "Europe/Berlin",
    "it": "Europe/Rome",
    "es": "Europe/Madrid",
    "pt": "Europe/Lisbon",
    "nl": "Europe/Amsterdam",
    "be": "Europe/Brussels",
    "ch": "Europe/Zurich",
    "fi": "Europe/Helsinki",
    "se": "Europe/Stockholm",
    "us": "America/New_York",
    "au": "Australia/Sydney",
    "br": "America/Sao_Paulo",
    "jp": "Asia/Tokyo",
}


def timezone_of(country: str | None, timezone: str | None) -> str:
    """A user's IANA time zone: the explicit one, else the country's, else UTC."""
    if timezone:
        return timezone
    return COUNTRY_TIMEZONES.get((country or "").lower(), "UTC")


def table(name: str) -> Table:
    try:
        return TABLES[name]
    except KeyError:
        raise StudyError(
            f"unknown table {name!r}; canonical tables are: {', '.join(TABLES)}"
        ) from None
