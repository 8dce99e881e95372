"""Each analysis written as a researcher would in plain pandas, from the Parquet extracts.

Every function takes the extracts' folder and returns the same DataFrame as the analysis with
its default parameters (docs/analyses.md has the definitions); `bench_baselines` checks it.
Straightforward on purpose: read the columns needed, filter, merge, sort, group.
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
from ua_parser import parse

US = pd.Timedelta(microseconds=1)
ISO = "%Y-%m-%dT%H:%M:%S.%fZ"
ZONES = {"fr": "Europe/Paris", "uk": "Europe/London"}  # the demo's countries
DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def read(folder: str, table: str, columns: list[str] | None = None) -> pd.DataFrame:
    return pd.read_parquet(os.path.join(folder, f"{table}.parquet"), columns=columns)


def user_devices(folder: str, include_shared: bool = False) -> pd.DataFrame:
    """username, user_id, devid, login, platform, devtype, shared."""
    users = read(folder, "users", ["id", "username"]).rename(columns={"id": "user_id"})
    links = read(folder, "user_devices")
    devices = read(folder, "devices").rename(columns={"id": "devid"})
    n_users = links.groupby("device_id")["user_id"].nunique()
    devices["shared"] = devices["shared"].fillna(devices["devid"].map(n_users).fillna(0) > 1)
    j = users.merge(links, on="user_id").merge(devices, left_on="device_id", right_on="devid")
    return j if include_shared else j[~j["shared"].astype(bool)]


def user_events(folder: str) -> pd.DataFrame:
    """user_id, username, devid, login, ts, host, domain of the user-initiated DNS and HTTP."""
    dns = read(folder, "dnsreqs", ["devid", "ts", "query", "query_domain", "user_req"])
    http = read(folder, "httpreqs", ["devid", "ts", "req_url_host", "req_url_domain", "user_url"])
    dns = dns[dns["user_req"].fillna(False).astype(bool)]
    http = http[http["user_url"].fillna(False).astype(bool)]
    ev = pd.concat([
        pd.DataFrame({"devid": dns["devid"], "ts": dns["ts"], "host": dns["query"],
                      "domain": dns["query_domain"].fillna(dns["query"])}),
        pd.DataFrame({"devid": http["devid"], "ts": http["ts"], "host": http["req_url_host"],
                      "domain": http["req_url_domain"].fillna(http["req_url_host"])})])
    devs = user_devices(folder)[["user_id", "username", "devid", "login"]]
    return ev.merge(devs, on="devid")


def local_times(folder: str, t: pd.DataFrame) -> pd.Series:
    """Local wall-clock time of t.ts in the zone of t.username."""
    users = read(folder, "users", ["username", "country", "timezone"])
    tz = users["timezone"].replace("", None).fillna(users["country"].str.lower().map(ZONES))
    zone = t["username"].map(dict(zip(users["username"], tz.fillna("UTC"), strict=True)))
    out = pd.Series(pd.NaT, index=t.index, dtype="datetime64[us]")
    for name in zone.unique():
        rows = zone == name
        out[rows] = t.loc[rows, "ts"].dt.tz_localize("UTC").dt.tz_convert(name).dt.tz_localize(None)
    return out


def tagged(folder: str) -> pd.DataFrame:
    """User events sorted per user, with their activity number (gap > 600 s starts one)."""
    ev = user_events(folder).sort_values(["user_id", "ts"], kind="stable")
    new = (ev["user_id"] != ev["user_id"].shift()) | (ev["ts"].diff() > pd.Timedelta(seconds=600))
    ev["activity"] = new.cumsum()
    return ev


def activity_frame(ev: pd.DataFrame) -> pd.DataFrame:
    acts = ev.groupby("activity").agg(username=("username", "first"), start=("ts", "min"),
                                      end=("ts", "max"), events=("ts", "size"))
    duration_us = (acts["end"] - acts["start"]) // US
    acts = acts[(duration_us >= 1_000_000) & (acts["events"] >= 3)].copy()
    acts["duration_s"] = duration_us[acts.index] / 1e6
    logins = ev[ev["activity"].isin(acts.index)].drop_duplicates(["activity", "login"])
    acts["devices"] = logins.sort_values("login").groupby("activity")["login"].agg("+".join)
    return acts.sort_values(["username", "start"])


def activities(folder: str) -> pd.DataFrame:
    acts = activity_frame(tagged(folder))
    acts["start"] = acts["start"].dt.strftime(ISO)
    acts["end"] = acts["end"].dt.strftime(ISO)
    return acts[["username", "start", "end", "duration_s", "events", "devices"]].reset_index(drop=True)


def inter_event(folder: str) -> pd.DataFrame:
    ev = user_events(folder)[["username", "ts"]].sort_values(["username", "ts"])
    iat = (ev.groupby("username")["ts"].diff() // US).rename("iat_us")
    gaps = pd.DataFrame({"username": ev["username"], "iat_us": iat}).dropna()
    counts = gaps.groupby(["username", "iat_us"]).size().rename("count").reset_index()
    per_user = counts.groupby("username")["count"]
    counts["ecdf"] = per_user.cumsum() / per_user.transform("sum")
    counts["iat_s"] = counts["iat_us"] / 1e6
    return counts[["username", "iat_s", "count", "ecdf"]]


def dns_http(folder: str) -> pd.DataFrame:
    dns = read(folder, "dnsreqs", ["devid", "ts", "query", "ans_ttl"])
    http = read(folder, "httpreqs", ["devid", "ts", "req_url_host"]).dropna(subset=["req_url_host"])
    ttl_s = dns["ans_ttl"].map(lambda a: a[0] if a is not None and len(a) else None)
    dns["ttl_us"] = pd.to_numeric(ttl_s) * 1_000_000
    inst = (dns.dropna(subset=["query"])[["devid", "query", "ts"]].drop_duplicates()
            .rename(columns={"query": "host", "ts": "dns_ts"}).sort_values("dns_ts"))
    reqs = http.rename(columns={"req_url_host": "host"}).sort_values("ts")
    att = pd.merge_asof(reqs, inst, left_on="ts", right_on="dns_ts", by=["devid", "host"])
    first = att.dropna(subset=["dns_ts"]).groupby(["devid", "host", "dns_ts"])["ts"].min()
    first = first.rename("http_ts").reset_index().rename(columns={"host": "query", "dns_ts": "ts"})
    pairs = dns.merge(first, on=["devid", "query", "ts"], how="left")
    delay_us = (pairs["http_ts"] - pairs["ts"]) // US
    ok = pairs["http_ts"].notna() & (pairs["ttl_us"].isna() | (delay_us <= pairs["ttl_us"]))
    out = pd.DataFrame({"devid": pairs["devid"], "dns_ts": pairs["ts"], "query": pairs["query"],
                        "http_ts": pairs["http_ts"].where(ok), "delay_s": (delay_us / 1e6).where(ok)})
    return out.sort_values(["devid", "dns_ts", "query"]).reset_index(drop=True)


def heatmap(folder: str) -> pd.DataFrame:
    """The week view of bytes in bins of 120 minutes."""
    devs = user_devices(folder)[["devid", "username"]]
    t = read(folder, "deviceapptraffic", ["devid", "ts", "bytes_in", "bytes_out"]).merge(devs, on="devid")
    t["w"] = t["bytes_in"].fillna(0) + t["bytes_out"].fillna(0)
    local = local_times(folder, t)
    t["bin"] = (local.dt.dayofweek * 1440 + local.dt.hour * 60 + local.dt.minute) // 120
    values = t.groupby(["username", "bin"])["w"].sum()
    totals = t.groupby("username")["w"].sum()
    names = read(folder, "users", ["username"])["username"]
    grid = pd.MultiIndex.from_product([names, range(84)], names=["username", "bin"])
    g = values.reindex(grid, fill_value=0).astype("float64").rename("value").reset_index()
    g["days"] = "all"
    g["label"] = [f"{DAY_NAMES[b * 120 // 1440]} {b * 120 % 1440 // 60:02d}:00" for b in g["bin"]]
    g["total_bytes"] = g["username"].map(totals).fillna(0).astype("int64")
    split = g.groupby("username")["value"].transform("sum")
    g["share_pct"] = (g["value"] * 100.0 / split).where(split > 0, 0.0)
    g = g.sort_values(["total_bytes", "username", "bin"], ascending=[False, True, True])
    return g[["username", "days", "bin", "label", "value", "share_pct", "total_bytes"]]


def timeline(folder: str) -> pd.DataFrame:
    devs = user_devices(folder)[["devid", "username", "login", "platform"]]
    http = read(folder, "httpreqs", ["devid", "ts", "user_url"])
    parts = {"traffic": read(folder, "devicetraffic", ["devid", "ts"]),
             "dns": read(folder, "dnsreqs", ["devid", "ts"]), "http": http[["devid", "ts"]],
             "user_http": http[http["user_url"].fillna(False).astype(bool)][["devid", "ts"]]}
    ev = pd.concat([p.assign(kind=k) for k, p in parts.items()]).merge(devs, on="devid")
    seconds = ev[ev["kind"] == "traffic"].groupby("username").size()
    ev = ev[ev["username"].isin(seconds[seconds >= 300].index)]
    local = local_times(folder, ev)
    ev = ev.assign(local_date=local.dt.floor("D"), hour=local.dt.hour.astype("int32"),
                   minute=local.dt.minute.astype("int32"))
    keys = ["username", "login", "platform", "kind", "local_date", "hour", "minute"]
    out = ev.groupby(keys).size().rename("events").reset_index()
    out["local_date"] = out["local_date"].dt.date
    return out.sort_values(["username", "login", "kind", "local_date", "hour", "minute"])


def user_summary(folder: str) -> pd.DataFrame:
    links = user_devices(folder, include_shared=True)
    counts = links.groupby("username")["shared"].agg(devices_shared="sum", devices_all="size")
    counts["devices_personal"] = counts.pop("devices_all") - counts["devices_shared"]
    dt = read(folder, "devicetraffic")
    per = dt.groupby("devid").agg(seconds=("ts", "size"), first=("ts", "min"), last=("ts", "max"),
                                  packets_in=("packets_in", "sum"), packets_out=("packets_out", "sum"),
                                  bytes_in=("bytes_in", "sum"), bytes_out=("bytes_out", "sum"))
    per["dns"] = read(folder, "dnsreqs", ["devid"]).groupby("devid").size()
    per["http"] = read(folder, "httpreqs", ["devid"]).groupby("devid").size()
    j = links[~links["shared"].astype(bool)].merge(per, left_on="devid", right_index=True)
    agg = j.groupby("username").agg(seconds=("seconds", "sum"), first=("first", "min"),
                                    last=("last", "max"), packets_in=("packets_in", "sum"),
                                    packets_out=("packets_out", "sum"), bytes_in=("bytes_in", "sum"),
                                    bytes_out=("bytes_out", "sum"), dns=("dns", "sum"),
                                    http=("http", "sum"))
    u = read(folder, "users", ["username", "country"]).set_index("username").join(counts).join(agg)
    u["observed_days"] = observed_days(folder, links[~links["shared"].astype(bool)], dt)
    out = pd.DataFrame({
        "country": u["country"],
        "devices_personal": u["devices_personal"].fillna(0).astype("int64"),
        "devices_shared": u["devices_shared"].fillna(0).astype("int64"),
        "total_days": ((u["last"] - u["first"]) // US / 86_400e6).fillna(0.0),
        "active_min": (u["seconds"] / 60.0).fillna(0.0),
        "packets_in": u["packets_in"].fillna(0).astype("int64"),
        "packets_out": u["packets_out"].fillna(0).astype("int64"),
        "mib_in": (u["bytes_in"] / 2**20).fillna(0.0), "mib_out": (u["bytes_out"] / 2**20).fillna(0.0),
        "dns": u["dns"].fillna(0).astype("int64"), "http": u["http"].fillna(0).astype("int64"),
        "observed_days": u["observed_days"].fillna(0).astype("int64")})
    days = out["observed_days"]
    for col in ("active_min", "mib_in", "mib_out", "dns", "http"):
        # a rate per observed day; 0.0 for a user never observed
        out[f"{col}_per_day"] = (out[col] / days).where(days > 0, 0.0)
    return out.sort_index().reset_index()


def observed_days(folder: str, counted: pd.DataFrame, traffic: pd.DataFrame) -> pd.Series:
    """Per username, the local days on which a counted device has a row in devicetraffic
    (`traffic`, already read), dnsreqs or httpreqs; each row reduced to its UTC hour first."""
    parts = [traffic[["devid", "ts"]], read(folder, "dnsreqs", ["devid", "ts"]),
             read(folder, "httpreqs", ["devid", "ts"])]
    hours = pd.concat([p.assign(ts=p["ts"].dt.floor("h")).drop_duplicates() for p in parts])
    j = hours.drop_duplicates().merge(counted[["username", "devid"]], on="devid")
    j["day"] = local_times(folder, j).dt.normalize()
    return j.drop_duplicates(["username", "day"]).groupby("username").size()


def select_users(folder: str) -> pd.DataFrame:
    """The top 7 users in France and 10 elsewhere by active minutes."""
    s = user_summary(folder).sort_values(["country", "active_min", "username"],
                                         ascending=[True, False, True])
    s.insert(1, "rank", s.groupby("country").cumcount() + 1)
    limit = s["country"].str.lower().map({"fr": 7, "uk": 10}).fillna(10)
    s = s[s["rank"] <= limit]
    return s[["country", "rank", *[c for c in s.columns if c not in ("country", "rank")]]]


def traffic_by_port(folder: str) -> pd.DataFrame:
    t = read(folder, "deviceapptraffic", ["dstport", "service", "bytes_in", "bytes_out", "packets_in",
                                          "packets_out"])
    g = t.groupby(["dstport", "service"], dropna=False).sum().reset_index()
    g["bytes"] = g["bytes_in"] + g["bytes_out"]
    g["packets"] = g["packets_in"] + g["packets_out"]
    g["bytes_pct"] = g["bytes"] * 100.0 / g["bytes"].sum()
    g["packets_pct"] = g["packets"] * 100.0 / g["packets"].sum()
    g = g[g["packets"] > 10].sort_values(["bytes", "dstport", "service"], ascending=[False, True, True])
    return g.reset_index(drop=True)


def user_agents(folder: str) -> pd.DataFrame:
    ua = read(folder, "httpreqs", ["req_ua"])["req_ua"]
    counts = ua.value_counts(dropna=False).rename("requests").rename_axis("req_ua").reset_index()
    counts = counts.sort_values(["requests", "req_ua"], ascending=[False, True])
    parsed = [parse(u) if isinstance(u, str) else None for u in counts["req_ua"]]
    counts["req_ua"] = counts["req_ua"].astype(object).where(counts["req_ua"].notna(), None)
    for col, part in (("browser", "user_agent"), ("os", "os"), ("device", "device")):
        counts[col] = [None if r is None else getattr(r, part).family if getattr(r, part) else "Other"
                       for r in parsed]
    counts["requests_pct"] = 100.0 * counts["requests"] / counts["requests"].sum()
    return counts[["req_ua", "browser", "os", "device", "requests", "requests_pct"]]


def activity_context(folder: str) -> pd.DataFrame:
    ev = tagged(folder)
    acts = activity_frame(ev).reset_index()
    kept = ev.merge(acts[["activity"]], on="activity")
    devices = kept[["activity", "devid"]].drop_duplicates()
    mine = user_devices(folder, include_shared=True)
    phones = mine[(mine["devtype"] == "phone") | mine["platform"].isin(["iphone", "android-phone"])]
    carried = acts[["activity", "username"]].merge(phones[["username", "devid"]], on="username")
    devices = pd.concat([devices, carried[["activity", "devid"]]]).drop_duplicates()
    loc = read(folder, "locations")
    cand = devices.merge(acts[["activity", "start", "end"]], on="activity").merge(loc, on="devid")
    cand = cand[(cand["entertime"] <= cand["end"]) & (cand["exittime"] >= cand["start"])]
    cand = cand.assign(place=cand["name"].fillna(cand["loc_name"]))

    def joined(column: str, sep: str) -> pd.Series:
        vals = cand.dropna(subset=[column]).drop_duplicates(["activity", column])
        return vals.sort_values(column).groupby("activity")[column].agg(sep.join)

    counts = kept.dropna(subset=["domain"]).groupby(["activity", "domain"]).size().rename("n")
    counts = counts.reset_index().sort_values(["activity", "n", "domain"], ascending=[True, False, True])
    top = counts.groupby("activity").head(5)
    labels = (top["domain"] + " (" + top["n"].astype(str) + ")").groupby(top["activity"]).agg(", ".join)
    acts = acts.set_index("activity")
    acts["locations"] = joined("place", "; ")
    acts["networks"] = joined("net_asname", "; ")
    acts["top_domains"] = labels
    acts[["locations", "networks", "top_domains"]] = acts[["locations", "networks", "top_domains"]].fillna("")
    acts["start"] = acts["start"].dt.strftime(ISO)
    acts["end"] = acts["end"].dt.strftime(ISO)
    return acts.reset_index(drop=True)[["username", "start", "end", "duration_s", "events", "devices",
                                        "locations", "networks", "top_domains"]]


def sort_floor_input(folder: str) -> np.ndarray:
    """The user events' timestamps (µs), the input of the numpy-sort floor."""
    return user_events(folder)["ts"].to_numpy().astype("int64")
