"""docs/schema.md, generated from the schema so the two never drift: `python -m ucnstudy.schema_markdown`."""

from __future__ import annotations

from ucnstudy.schema import COUNTRY_TIMEZONES, TABLES

HEADER = """# Canonical schema

Generated from `src/ucnstudy/schema.py` by `python -m ucnstudy.schema_markdown > docs/schema.md`
(a test fails when this file and the schema differ). One definition drives the DDL on every engine,
the Arrow schemas of every importer, and this page.

Conventions:
- Every timestamp is a **naive UTC instant** with microsecond precision (`timestamp(6)`); local
  time is derived at analysis time from `users.timezone` (IANA name, DST-correct).
- Byte counts are the IP total length (header included), packet counts are IP packets.
- `flowid` = SHA-224 hex of `srcip|dstip|proto|srcport|dstport` with the device as source, the
  same in every table (the original concatenated without separators and oriented each table
  differently: bugs 8, 9).
- Table and column names follow the original UCN database; differences are fixes of its bugs
  (reference section 6): one HTTP table (`httpreqs`; the original `httpreqs2` is read as it),
  aligned DNS answer arrays, address leases with validity periods instead of `devices.addresses`,
  `users.timezone`, `dnsreqs.query_ts`, `flows.server_name`, and ground-truth tables `gt_*`.
- A NULL flag (`user_url`, `user_req`, `matches_*`, `duplicate`) means *not evaluated*;
  enrichment sets every flag it evaluates to TRUE or FALSE (see docs/enrichment.md).
- "Indexes" lists each table's indexes as PostgreSQL holds them (B-tree). A DuckDB study holds
  them on the lookup tables only (users, devices, device_addresses, networks, imports): its event
  tables are scanned with zone maps, and an ART index would only slow every insert and commit
  (docs/performance.md). DuckDB studies created before 2026-12-04 keep theirs; they change no
  result.
"""


def render_markdown() -> str:
    parts = [HEADER]
    for table in TABLES.values():
        parts.append(f"\n## `{table.name}`\n\n{table.doc}\n\n| column | type | null | meaning |\n"
                     "|---|---|---|---|\n")
        for c in table.columns:
            parts.append(f"| `{c.name}` | {c.type} | {'yes' if c.nullable else 'no'} | {c.doc} |\n")
        if table.indexes:
            idx = "; ".join("(" + ", ".join(cols) + ")" for cols in table.indexes)
            parts.append(f"\nIndexes: {idx}.\n")
    zones = ", ".join(f"{cc} → {tz}" for cc, tz in COUNTRY_TIMEZONES.items())
    parts.append(f"\n## Time zone from country\n\nWhen `users.timezone` is empty: {zones}; "
                 "any other country: UTC.\n")
    return "".join(parts)


if __name__ == "__main__":
    print(render_markdown(), end="")
