"""Helpers of the anonymisation tests: a fixed test key, mapping pseudonyms back, and a scanner
that looks for original identifiers in every value and every byte of an export."""

from __future__ import annotations

import ipaddress
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ucnstudy import Study
from ucnstudy.privacy.addresses import Addresses
from ucnstudy.privacy.keys import Pseudonyms, StudyKey
from ucnstudy.schema import TABLES
from ucnstudy.store.fetch import to_arrow

KEY = StudyKey(b"test key of the anonymisation suite, 32+ bytes long")
OTHER_KEY = StudyKey(b"another key, as long, for the unlinkability checks!")


def pseudonym_map(study: Study, key: StudyKey = KEY) -> dict[str, str]:
    """pseudonym -> original for the usernames, family names, logins and device names."""
    p = Pseudonyms(key)
    users = to_arrow(study.table("users")).to_pylist()
    devices = to_arrow(study.table("devices")).to_pylist()
    out = {p("user", u["username"]): u["username"] for u in users}
    out |= {p("family", u["familyname"]): u["familyname"] for u in users if u["familyname"]}
    out |= {p("login", d["login"]): d["login"] for d in devices}
    out |= {p("device", d["name"]): d["name"] for d in devices if d["name"]}
    pan = Addresses(key.derive("cryptopan"))
    for address in _addresses(study):  # addresses and reverse-DNS names, as whole values
        anon = ipaddress.ip_address(pan.address(address))
        out[str(anon)] = address
        out[anon.reverse_pointer] = ipaddress.ip_address(address).reverse_pointer
    return out


PSEUDONYM = re.compile(r"\b(?:user|family|login|device)-[0-9a-f]{12}\b")


def _unmask_text(value: str, mapping: dict[str, str]) -> str:
    """A value with its pseudonyms mapped back; a sorted 'a+b' list is sorted again."""
    if value in mapping:
        return mapping[value]
    parts = value.split("+")
    if len(parts) > 1 and all(PSEUDONYM.fullmatch(p) for p in parts):
        return "+".join(sorted(mapping.get(p, p) for p in parts))
    return PSEUDONYM.sub(lambda m: mapping.get(m.group(), m.group()), value)


def unmask(table: pa.Table, mapping: dict[str, str]) -> pa.Table:
    """`table` with every pseudonym in a string column (also inside 'a+b' lists) replaced by
    its original."""
    columns = []
    for column in table.columns:
        if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
            values = [_unmask_text(v, mapping) if v is not None else None
                      for v in column.to_pylist()]
            column = pa.array(values, column.type)
        columns.append(column)
    return pa.table(columns, names=table.column_names)


@dataclass
class Secrets:
    """What must not appear in an export: names, addresses (text, reverse-DNS, packed IPv6,
    IPv4 as an integer) and URL query parameters."""

    names: set[str] = field(default_factory=set)
    addresses: set[str] = field(default_factory=set)
    queries: set[str] = field(default_factory=set)
    packed: set[bytes] = field(default_factory=set)
    ipv4: set[int] = field(default_factory=set)


def study_secrets(study: Study) -> Secrets:
    """Usernames, logins, streets, cities, ground-truth app names (the schema keeps no window
    title), every IP address and URL query parameter (k=v) of the source study."""
    s = Secrets()
    s.names |= _values(study, "users", "username") | _values(study, "devices", "login")
    s.names |= _values(study, "locations", "street")
    s.names |= _values(study, "gt_foreground", "appname") | _values(study, "gt_io", "appname")
    # a city that names a time zone in use (Europe/Paris) is kept by design, in users.timezone
    zones = {part for zone in _values(study, "users", "timezone") for part in zone.split("/")}
    s.names |= _values(study, "locations", "city") - zones
    for url in _values(study, "httpreqs", "req_url") | _values(study, "httpreqs", "req_referer"):
        s.queries |= {pair for pair in urlsplit(url).query.split("&") if len(pair) >= 4}
    for address in _addresses(study):
        ip = ipaddress.ip_address(address)
        s.addresses |= {str(ip), ip.exploded, ip.reverse_pointer}
        if ip.version == 6:
            s.packed.add(ip.packed)
        else:
            s.ipv4.add(int(ip))
    return s


# Candidates found in any text, then looked up in the secret sets (fast on large files).
_CANDIDATES = (
    ("addresses", r"(?<![0-9a-f.])[0-9a-f.]+\.(?:in-addr|ip6)\.arpa"
                  r"|(?<![\d.])\d{1,3}(?:\.\d{1,3}){3}(?![\d.])"
                  r"|(?<![0-9a-f:])[0-9a-f]*:[0-9a-f]*:[0-9a-f:]*(?![0-9a-f:])"),
    ("queries", r"(?<![^\s?&#\"'/=])[^\s?&#\"'/=]+=[^\s&#\"'<>]*"),
)
_PRINTABLE = re.compile(rb"[\x20-\x7e]{4,}")


def _values(study: Study, table: str, column: str) -> set[str]:
    t = study.table(table)
    got = to_arrow(t.select(t[column]).distinct())[column].to_pylist()
    return {v for v in got if v}


def _addresses(study: Study) -> set[str]:
    found: set[str] = set()
    for name, table in TABLES.items():
        for column in ("srcip", "dstip", "address", "net_public_ip", "ans_addr"):
            if column in table.column_names:
                t = study.table(name)
                data = to_arrow(t.select(t[column]).distinct())[column]
                if pa.types.is_list(data.type):
                    data = pc.list_flatten(data)
                for v in data.to_pylist():
                    if v and _is_ip(v):
                        found.add(v)
    return found


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def scan(root: Path, secrets: Secrets) -> list[str]:
    """Every place in `root` (a Parquet study directory or a DuckDB file) where a secret shows:
    in any decoded value of any table (the manifest too) and in the raw bytes of every file."""
    found = []
    for name, table in _decoded_tables(root).items():
        for column in table.column_names:
            found += [f"{name}.{column}: {m}" for m in _scan_column(table[column], secrets)]
    files = [root] if root.is_file() else [p for p in root.rglob("*") if p.is_file()]
    for path in files:
        data = path.read_bytes()
        text = "\n".join(m.decode() for m in _PRINTABLE.findall(data))
        found += [f"{path.name}: bytes {m}" for m in _scan_text(text, secrets)]
        found += [f"{path.name}: packed {ipaddress.ip_address(b)}" for b in secrets.packed if b in data]
    return found


def _scan_text(text: str, secrets: Secrets) -> set[str]:
    hits = set()
    for kind, pattern in _CANDIDATES:
        hits |= set(re.findall(pattern, text, re.IGNORECASE)) & getattr(secrets, kind)
    if secrets.names:
        names = "|".join(re.escape(n) for n in sorted(secrets.names, key=len, reverse=True))
        hits |= set(re.findall(rf"(?<![\w.])(?:{names})(?![\w])", text))
    return hits


def _scan_column(column: pa.ChunkedArray, secrets: Secrets) -> list[str]:
    t = column.type
    if pa.types.is_list(t):
        return _scan_column(pc.list_flatten(column), secrets)
    if pa.types.is_integer(t):
        return [str(v) for v in set(column.to_pylist()) & secrets.ipv4]
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        text = "\n".join(v for v in set(column.to_pylist()) if v)
        return sorted(_scan_text(text, secrets))
    return []


def _decoded_tables(root: Path) -> dict[str, pa.Table]:
    if root.is_file():
        con = duckdb.connect(str(root), read_only=True)
        try:
            names = [r[0] for r in con.execute("SELECT table_name FROM information_schema.tables")
                     .fetchall()]
            return {n: con.execute(f'SELECT * FROM "{n}"').to_arrow_table() for n in names}
        finally:
            con.close()
    tables = {p.name: pq.read_table(p) for p in root.iterdir() if p.is_dir()}
    for path in root.glob("*.json"):
        tables[path.name] = pa.table({"text": [json.dumps(json.loads(path.read_text()))]})
    return tables
