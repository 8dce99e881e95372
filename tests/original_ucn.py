"""The original UCN study database, built from its documented DDL (reference section 1).

`create_original(url, tables)` writes canonical content the way the original code stored it:
`httpreqs2` (and an empty ORM `httpreqs`), users without timezone, `devices.addresses` arrays,
integer ids and counters, DNS rows as the response travelled (server -> device) with
`ans_addr` holding only the A/AAAA answers ([''] for none), deviceapptraffic stamped with the
window end, flow ids without separators (bug 8), no query_ts, no ground-truth tables.
`lost_in_original(tables)` is the canonical content minus what that layout cannot carry.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta

import psycopg
import pyarrow as pa

DDL = """
CREATE TABLE users (
  id SERIAL PRIMARY KEY, username VARCHAR(64) NOT NULL UNIQUE, familyname VARCHAR(64) NOT NULL,
  starttime TIMESTAMP NOT NULL, country VARCHAR(4) NOT NULL);
CREATE TABLE devices (
  id SERIAL PRIMARY KEY, name VARCHAR(64) NOT NULL, login VARCHAR(64) NOT NULL UNIQUE,
  platform VARCHAR(64) NOT NULL, devtype VARCHAR(64), os VARCHAR(64), shared BOOLEAN NOT NULL,
  addresses VARCHAR(64)[] NOT NULL, androidappid VARCHAR(64) UNIQUE,
  hostviewdata VARCHAR(256) UNIQUE, netdata VARCHAR(256) UNIQUE);
CREATE INDEX ix_devices_login ON devices (login);
CREATE TABLE user_devices (
  user_id INTEGER REFERENCES users (id), device_id INTEGER REFERENCES devices (id),
  PRIMARY KEY (user_id, device_id));
CREATE TABLE devicetraffic (
  id SERIAL PRIMARY KEY, devid INTEGER NOT NULL REFERENCES devices (id), ts TIMESTAMP NOT NULL,
  packets_in INTEGER, bytes_in INTEGER, packets_out INTEGER, bytes_out INTEGER);
CREATE INDEX ix_devicetraffic_ts ON devicetraffic (ts);
CREATE TABLE deviceapptraffic (
  id SERIAL PRIMARY KEY, devid INTEGER NOT NULL REFERENCES devices (id), ts TIMESTAMP NOT NULL,
  srcip VARCHAR(128) NOT NULL, dstip VARCHAR(128) NOT NULL, proto INTEGER NOT NULL,
  srcport INTEGER NOT NULL, dstport INTEGER NOT NULL, flowid VARCHAR(64) NOT NULL,
  packets_in INTEGER, bytes_in INTEGER, packets_out INTEGER, bytes_out INTEGER,
  service VARCHAR(512), appname VARCHAR(512));
CREATE TABLE flows (
  id SERIAL PRIMARY KEY, devid INTEGER NOT NULL REFERENCES devices (id),
  startts TIMESTAMP NOT NULL, endts TIMESTAMP NOT NULL, srcip VARCHAR(128) NOT NULL,
  dstip VARCHAR(128) NOT NULL, proto INTEGER NOT NULL, srcport INTEGER NOT NULL,
  dstport INTEGER NOT NULL, flowid VARCHAR(64) NOT NULL, packets_in INTEGER, bytes_in INTEGER,
  packets_out INTEGER, bytes_out INTEGER, service VARCHAR(512), appname VARCHAR(512));
CREATE TABLE httpreqs2 (
  id SERIAL PRIMARY KEY, devid INTEGER NOT NULL REFERENCES devices (id),
  source VARCHAR(64) NOT NULL, ts TIMESTAMP NOT NULL, req_method VARCHAR(8) NOT NULL,
  req_version VARCHAR(32), req_url VARCHAR(8192) NOT NULL, req_url_scheme VARCHAR(8),
  req_url_port INTEGER, req_url_host VARCHAR(256), req_url_domain VARCHAR(256),
  req_url_tld VARCHAR(8), req_url_origin VARCHAR(512), req_url_path VARCHAR(8192),
  req_ua VARCHAR(1024), req_referer VARCHAR(8192), res_status_code INTEGER, res_size BIGINT,
  res_mimetype VARCHAR(512), srcip VARCHAR(128), dstip VARCHAR(128), proto INTEGER,
  srcport INTEGER, dstport INTEGER, flowid VARCHAR(64), matches_easylist BOOLEAN,
  matches_easyprivacy BOOLEAN, matches_ctypefilter BOOLEAN, matches_urlblacklist BOOLEAN,
  user_url BOOLEAN);
CREATE INDEX ix_httpreqs2_ts ON httpreqs2 (ts);
CREATE TABLE httpreqs (LIKE httpreqs2 INCLUDING ALL);
CREATE TABLE dnsreqs (
  id SERIAL PRIMARY KEY, devid INTEGER NOT NULL REFERENCES devices (id), ts TIMESTAMP NOT NULL,
  srcip VARCHAR(128) NOT NULL, dstip VARCHAR(128) NOT NULL, proto INTEGER NOT NULL,
  srcport INTEGER NOT NULL, dstport INTEGER NOT NULL, flowid VARCHAR(64) NOT NULL,
  query VARCHAR(512), query_type INTEGER, query_tld VARCHAR(8), query_domain VARCHAR(256),
  ans_type INTEGER[], ans_addr VARCHAR(128)[], ans_name VARCHAR(512)[], ans_ttl INTEGER[],
  matches_easylist BOOLEAN, matches_easyprivacy BOOLEAN, matches_blacklist BOOLEAN,
  user_req BOOLEAN, duplicate BOOLEAN);
CREATE INDEX ix_dnsreqs_ts ON dnsreqs (ts);
CREATE TABLE locations (
  id SERIAL PRIMARY KEY, devid INTEGER NOT NULL REFERENCES devices (id),
  source VARCHAR(16) NOT NULL, entertime TIMESTAMP NOT NULL, exittime TIMESTAMP NOT NULL,
  name VARCHAR(512) NOT NULL, loc_id BIGINT, loc_name VARCHAR(256), net_public_ip VARCHAR(128),
  net_reverse_dns VARCHAR(1024), net_asnumber INTEGER, net_asname VARCHAR(256),
  lat FLOAT NOT NULL, lon FLOAT NOT NULL, street VARCHAR(256), city VARCHAR(32),
  country VARCHAR(32), overlap BOOLEAN);
CREATE TABLE sockets (
  id SERIAL PRIMARY KEY, devid INTEGER NOT NULL REFERENCES devices (id), ts TIMESTAMP NOT NULL,
  appname VARCHAR(512) NOT NULL, pid INTEGER, description VARCHAR(512), is_foreground BOOLEAN,
  has_io BOOLEAN, is_fullscreen BOOLEAN, srcip VARCHAR(128), srcport INTEGER,
  dstip VARCHAR(128), dstport INTEGER, proto INTEGER, flowid VARCHAR(64));
CREATE TABLE runningapps (
  id SERIAL PRIMARY KEY, devid INTEGER NOT NULL REFERENCES devices (id), ts TIMESTAMP NOT NULL,
  appname VARCHAR(512) NOT NULL, description VARCHAR(512), pid INTEGER, memory INTEGER,
  cpu FLOAT, is_foreground BOOLEAN, has_io BOOLEAN, is_fullscreen BOOLEAN);
"""
ADDRESS_TYPES = (1, 28)  # A, AAAA: the only answers the original kept in ans_addr
NOT_IN_ORIGINAL = {  # canonical columns the original schema never had (users.timezone derives)
    "dnsreqs": ("query_ts",), "flows": ("server_name",), "locations": ("kind",),
    "device_addresses": ("valid_from", "valid_to"),
}
_SAME = {  # canonical table -> original table whose columns are copied by name
    "user_devices": "user_devices", "devicetraffic": "devicetraffic", "flows": "flows",
    "httpreqs": "httpreqs2", "locations": "locations", "sockets": "sockets",
    "runningapps": "runningapps",
}


def old_flowid(src: str, dst: str, proto: int, sport: int, dport: int) -> str:
    """The original flow id: the tuple concatenated without separators (bug 8)."""
    return hashlib.sha224(f"{src}{dst}{proto}{sport}{dport}".encode()).hexdigest()


def original_rows(tables: dict[str, pa.Table]) -> dict[str, list[dict]]:
    """The canonical content as the original code stored it, per original table."""
    rows: dict[str, list[dict]] = {}
    addresses: dict[int, list[str]] = {}
    for r in tables["device_addresses"].to_pylist():
        addresses.setdefault(r["devid"], []).append(r["address"])
    rows["users"] = [{k: v for k, v in r.items() if k != "timezone"}
                     for r in tables["users"].to_pylist()]
    rows["devices"] = [{**r, "addresses": addresses.get(r["id"], [])}
                       for r in tables["devices"].to_pylist()]
    for canonical, original in _SAME.items():
        rows[original] = tables[canonical].to_pylist()
    for r in rows["flows"]:
        r["flowid"] = old_flowid(r["srcip"], r["dstip"], r["proto"], r["srcport"], r["dstport"])
    for r in rows["sockets"] + rows["httpreqs2"]:
        r["flowid"] = None  # never stored for sockets; squid rows had none
    for r in rows["locations"]:
        r["loc_id"] = int(r["loc_id"]) if r["loc_id"] is not None else None
    rows["deviceapptraffic"] = [_app_row(r) for r in tables["deviceapptraffic"].to_pylist()]
    rows["dnsreqs"] = [_dns_row(r) for r in tables["dnsreqs"].to_pylist()]
    return rows


def _app_row(r: dict) -> dict:
    return {**r, "ts": r["ts"] + timedelta(seconds=10),
            "flowid": old_flowid(r["srcip"], r["dstip"], r["proto"], r["srcport"], r["dstport"])}


def _dns_row(r: dict) -> dict:
    """As the response travelled: server -> device; only A/AAAA answers in ans_addr."""
    out = {k: v for k, v in r.items() if k != "query_ts"}
    out.update(srcip=r["dstip"], dstip=r["srcip"], srcport=r["dstport"], dstport=r["srcport"])
    out["flowid"] = old_flowid(out["srcip"], out["dstip"], r["proto"], out["srcport"], out["dstport"])
    if r["ans_type"] is not None:
        kept = [a for t, a in zip(r["ans_type"], r["ans_addr"], strict=True) if t in ADDRESS_TYPES]
        out["ans_addr"] = kept or [""]
    return out


def create_original(url: str, tables: dict[str, pa.Table]) -> None:
    """Create the original schema in the (empty) database at `url` and fill it; canonical
    columns the original never had are left out."""
    with psycopg.connect(url) as conn:
        conn.execute(DDL)
        for table, rows in original_rows(tables).items():
            if not rows:
                continue
            have = {r[0] for r in conn.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = %s",
                (table,)).fetchall()}
            cols = [c for c in rows[0] if c in have]
            stmt = (f"INSERT INTO {table} ({', '.join(cols)}) "
                    f"VALUES ({', '.join(['%s'] * len(cols))})")
            with conn.cursor() as cur:
                cur.executemany(stmt, [tuple(r[c] for c in cols) for r in rows])


def lost_in_original(tables: dict[str, pa.Table]) -> dict[str, pa.Table]:
    """The canonical content minus what the original layout cannot hold: the query time, the
    targets of non-address answers, address lease periods, and ground truth (which lived in
    another database)."""
    untraced = ("import_id",)  # the original never traced rows to their imports
    out = {name: _nulled(t, (*NOT_IN_ORIGINAL.get(name, ()), *untraced)) for name, t in tables.items()}
    dns = out["dnsreqs"]
    out["dnsreqs"] = dns.set_column(
        dns.schema.get_field_index("ans_addr"), "ans_addr", _addresses_only(dns))
    for name in ("gt_foreground", "gt_io"):
        out[name] = tables[name].schema.empty_table()
    return out


def _nulled(table: pa.Table, columns: tuple[str, ...]) -> pa.Table:
    for column in columns:
        i = table.schema.get_field_index(column)
        field = table.schema.field(i)
        table = table.set_column(i, field, pa.nulls(table.num_rows, field.type))
    return table


def _addresses_only(dns: pa.Table) -> pa.Array:
    values = []
    for types, addrs in zip(dns["ans_type"].to_pylist(), dns["ans_addr"].to_pylist(), strict=True):
        values.append(None if types is None else
                      [a if t in ADDRESS_TYPES else None for t, a in zip(types, addrs, strict=True)])
    return pa.array(values, pa.list_(pa.string()))


def sort_all(table: pa.Table) -> pa.Table:
    """Rows in a deterministic order (every sortable column), for value-by-value comparison."""
    keys = [(n, "ascending") for n, f in zip(table.column_names, table.schema, strict=True)
            if not pa.types.is_list(f.type)]
    return table.sort_by(keys)
