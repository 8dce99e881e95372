"""Network events of every device as one pandas frame: the input of filters and detectors.

An event is a DNS response (dnsreqs) or an HTTP request (httpreqs). Columns:

| column | meaning |
|---|---|
| devid | device id |
| ts | event time, float seconds since the epoch (UTC) |
| kind | "dns" or "http" |
| host | DNS query or HTTP host, lower case ("" when missing) |
| size | HTTP response size in bytes (NaN for DNS and when unknown) |
| referer | the HTTP request carried a Referer header |
| mimetype | HTTP response MIME type ("" when unknown) |
| user_flag | enrichment's user_req / user_url (NA when not computed) |
| listed | enrichment's matches_blacklist / matches_urlblacklist (NA when not computed) |

Rows are sorted by (devid, ts). Only the columns needed are read from the study.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ucnstudy.store import Study

EVENT_COLUMNS = ("devid", "ts", "kind", "host", "size", "referer", "mimetype", "user_flag", "listed")


def empty_events() -> pd.DataFrame:
    return normalise_events(pd.DataFrame({c: [] for c in EVENT_COLUMNS}))


def normalise_events(df: pd.DataFrame) -> pd.DataFrame:
    """Fill optional columns, fix dtypes and sort: accepts hand-made frames too."""
    out = pd.DataFrame({
        "devid": df["devid"].astype("int64"),
        "ts": df["ts"].astype("float64"),
        "kind": df.get("kind", pd.Series("dns", index=df.index)).astype(str),
        "host": df.get("host", pd.Series("", index=df.index)).fillna("").astype(str).str.lower(),
        "size": pd.to_numeric(df.get("size", pd.Series(np.nan, index=df.index)), errors="coerce")
        .astype("float64"),
        "referer": df.get("referer", pd.Series(False, index=df.index)).fillna(False).astype(bool),
        "mimetype": df.get("mimetype", pd.Series("", index=df.index)).fillna("").astype(str),
        "user_flag": df.get("user_flag", pd.Series(pd.NA, index=df.index)).astype("boolean"),
        "listed": df.get("listed", pd.Series(pd.NA, index=df.index)).astype("boolean"),
    })
    return out.sort_values(["devid", "ts"], kind="stable").reset_index(drop=True)


def _epoch_seconds(col: pd.Series) -> pd.Series:
    ts = pd.to_datetime(col)
    return (ts - pd.Timestamp("1970-01-01")) / pd.Timedelta(seconds=1)


def load_events(study: Study, devices: list[int] | None = None) -> pd.DataFrame:
    """DNS responses and HTTP requests of the study (optionally some devices) as events."""
    frames = []
    if study.has_table("dnsreqs"):
        t = study.table("dnsreqs")
        if devices is not None:
            t = t.filter(t.devid.isin(devices))
        d = t.select("devid", "ts", "query", "user_req", "matches_blacklist").to_pandas()
        frames.append(pd.DataFrame({
            "devid": d["devid"], "ts": _epoch_seconds(d["ts"]), "kind": "dns", "host": d["query"],
            "user_flag": d["user_req"], "listed": d["matches_blacklist"],
        }))
    if study.has_table("httpreqs"):
        t = study.table("httpreqs")
        if devices is not None:
            t = t.filter(t.devid.isin(devices))
        h = t.select("devid", "ts", "req_url_host", "res_size", "req_referer", "res_mimetype",
                     "user_url", "matches_urlblacklist").to_pandas()
        frames.append(pd.DataFrame({
            "devid": h["devid"], "ts": _epoch_seconds(h["ts"]), "kind": "http",
            "host": h["req_url_host"], "size": h["res_size"],
            "referer": h["req_referer"].fillna("").astype(str).str.len() > 0,
            "mimetype": h["res_mimetype"], "user_flag": h["user_url"],
            "listed": h["matches_urlblacklist"],
        }))
    frames = [f for f in frames if len(f)]
    if not frames:
        return empty_events()
    return normalise_events(pd.concat(frames, ignore_index=True))


def load_devices(study: Study) -> pd.DataFrame:
    """devid, login, devtype, shared and the owner's time zone (first linked user)."""
    dev = study.table("devices").select("id", "login", "devtype", "shared").to_pandas()
    dev = dev.rename(columns={"id": "devid"})
    tz = pd.Series("UTC", index=dev.index)
    if study.has_table("user_devices") and study.has_table("users"):
        from ucnstudy.schema import timezone_of

        ud = study.table("user_devices").to_pandas()
        users = study.table("users").select("id", "country", "timezone").to_pandas()
        users["tz"] = [timezone_of(c if isinstance(c, str) else None, z if isinstance(z, str) else None)
                       for c, z in zip(users["country"], users["timezone"], strict=True)]
        link = ud.merge(users, left_on="user_id", right_on="id").sort_values("user_id")
        first = link.drop_duplicates("device_id").set_index("device_id")["tz"]
        tz = pd.Series([first.get(d, "UTC") for d in dev["devid"]], index=dev.index)
    dev["tz"] = tz
    return dev.sort_values("devid").reset_index(drop=True)
