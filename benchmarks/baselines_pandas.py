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

from ucnstudy.analyses.activity_qoe import COLUMNS as ACTIVITY_QOE_COLUMNS

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


def without_recurring(ev: pd.DataFrame, share: float, min_hours: int) -> pd.DataFrame:
    """ev without the events of each device's recurring domains (polls): those seen in at least
    `min_hours` distinct clock hours and in at least `share` of the device's hours with events."""
    hour = ev["ts"].dt.floor("h")
    device_hours = hour.groupby(ev["devid"]).nunique()
    domain_hours = hour.groupby([ev["devid"], ev["domain"]]).nunique()  # NaN domains left out
    needed = device_hours.reindex(domain_hours.index.get_level_values("devid")).to_numpy() * share
    recurring = domain_hours.index[(domain_hours >= min_hours) & (domain_hours.to_numpy() >= needed)]
    return ev[~pd.MultiIndex.from_frame(ev[["devid", "domain"]]).isin(recurring)]


def tagged(folder: str, recurring_share: float = 0.0, recurring_hours: int = 6) -> pd.DataFrame:
    """User events sorted per user, with their activity number (gap > 600 s starts one);
    without the recurring domains' events when recurring_share > 0."""
    ev = user_events(folder)
    if recurring_share > 0:
        ev = without_recurring(ev, recurring_share, recurring_hours)
    ev = ev.sort_values(["user_id", "ts"], kind="stable")
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


# activity-qoe's defaults (ActivityQoeParams, NetworkRules; docs/analyses.md#activity-qoe)
QOE_RECURRING = (0.5, 6)  # recurring share and hours: activities without the polls
NET_WINDOW = pd.Timedelta(seconds=1800)
CELLULAR_AS = ("mobile", "cellular", "freem", "ee limited", "vodafone", "telefonica", "hutchison",
               "three", "t-mobile", "bouygtel", "sfr", "orange")
WORK_AS = ("renater", "janet", "university", "universite", "college", "research", "geant")
HOME_LABELS = ("home", "maison", "domicile")
WORK_LABELS = ("work", "office", "bureau", "travail", "university")
FIXED_DEVTYPES = ("pc",)
PHONE_PLATFORMS = ("iphone", "android-phone")
MOVING_SPEED, MIN_MOVE_M = 1.0, 200.0
QOE_COLUMNS = ACTIVITY_QOE_COLUMNS  # the output's column names, not its logic


def contains_any(text: pd.Series, parts: tuple[str, ...]) -> pd.Series:
    low = text.fillna("").str.lower()
    return np.logical_or.reduce([low.str.contains(p, regex=False) for p in parts])


def within(left: pd.DataFrame, right: pd.DataFrame, lo: str, hi: str, ts: str) -> pd.DataFrame:
    """Every pair of a left row and a right row of the same device with lo <= right[ts] <= hi.
    pandas has no range join, and merging on devid then filtering would build every pair of a
    device's activities and flows (about 100M rows here): per device, each left row's rows are
    found by binary search in the right rows sorted by ts."""
    left = left.reset_index(drop=True)
    right = right.sort_values(["devid", ts], kind="stable").reset_index(drop=True)
    times = right[ts].to_numpy()
    spans = right.groupby("devid").indices  # contiguous positions after the sort
    li, ri = [np.empty(0, dtype=np.int64)], [np.empty(0, dtype=np.int64)]
    for devid, rows in left.groupby("devid").indices.items():
        if devid not in spans:
            continue
        base = spans[devid][0]
        mine = times[spans[devid]]
        first = base + np.searchsorted(mine, left[lo].to_numpy()[rows], "left")
        n = np.maximum(base + np.searchsorted(mine, left[hi].to_numpy()[rows], "right") - first, 0)
        li.append(np.repeat(rows, n))
        ri.append(np.repeat(first - (np.cumsum(n) - n), n) + np.arange(n.sum()))
    pairs = left.iloc[np.concatenate(li)].reset_index(drop=True)
    theirs = right.drop(columns="devid").iloc[np.concatenate(ri)].reset_index(drop=True)
    return pd.concat([pairs, theirs], axis=1)


def overlapping(devs: pd.DataFrame, periods: pd.DataFrame, lo: str, hi: str) -> pd.DataFrame:
    """(activity device, period) pairs of one device whose intervals meet; NaT bounds are open.
    A plain merge: a device has tens of location rows, not thousands."""
    j = devs.merge(periods, on="devid")
    return j[(j[lo].isna() | (j[lo] <= j["end"])) & (j[hi].isna() | (j[hi] >= j["start"]))]


def overlap_us(lo: pd.Series, hi: pd.Series, start: pd.Series, end: pd.Series) -> pd.Series:
    return (hi.where(hi < end, end) - lo.where(lo > start, start)) // US


def network_periods(folder: str, loc: pd.DataFrame, devtype: pd.Series) -> pd.DataFrame:
    """Declared networks and the locations naming a network, each with its network type by
    the rule of docs/analyses.md ("Network type"): label, home address, AS name."""
    obs = loc[loc["net_asname"].notna() | loc["net_public_ip"].notna()]
    links = read(folder, "user_devices")
    # a user's home address: the non-work public address where their devices spent most time
    cand = obs[obs["net_public_ip"].notna() & ~contains_any(obs["net_asname"], WORK_AS)]
    cand = cand.merge(links, left_on="devid", right_on="device_id")
    spent = ((cand["exittime"] - cand["entertime"]) // US).groupby(
        [cand["user_id"], cand["net_public_ip"]]).sum().rename("us").reset_index()
    top = spent.sort_values(["user_id", "us", "net_public_ip"], ascending=[True, False, True])
    homes = (top.drop_duplicates("user_id").merge(links, on="user_id")[["device_id", "net_public_ip"]]
             .drop_duplicates().set_axis(["devid", "home_ip"], axis=1))
    j = obs.merge(homes, how="left", left_on=["devid", "net_public_ip"], right_on=["devid", "home_ip"])
    label = j["loc_name"].str.strip().str.lower()
    by_label = label.isin(HOME_LABELS) | label.isin(WORK_LABELS)
    home = j["home_ip"].notna()
    kind = np.select([label.isin(HOME_LABELS), label.isin(WORK_LABELS), home,
                      contains_any(j["net_asname"], CELLULAR_AS), contains_any(j["net_asname"], WORK_AS)],
                     ["home", "work", "home", "cellular", "work"], "public")
    derived = pd.DataFrame({
        "devid": j["devid"], "valid_from": j["entertime"], "valid_to": j["exittime"],
        "network_type": kind, "access_type": None,
        "network_source": np.select([by_label, home], ["label", "home-address"], "asname"),
        "network": j["net_asname"].fillna(j["net_public_ip"]), "precedence": 1})
    net = read(folder, "networks")
    declared = pd.DataFrame({
        "devid": net["devid"], "valid_from": net["valid_from"], "valid_to": net["valid_to"],
        "network_type": net["network_type"], "access_type": net["access_type"],
        "network_source": "declared", "network": net["name"], "precedence": 0})
    periods = pd.concat([declared, derived], ignore_index=True)
    access = np.select([periods["network_type"] == "cellular",
                        periods["devid"].map(devtype).isin(FIXED_DEVTYPES)], ["cellular", "fixed"], "wifi")
    periods["access_type"] = periods["access_type"].fillna(pd.Series(access, index=periods.index))
    return periods


def haversine_m(lat1: pd.Series, lon1: pd.Series, lat2: pd.Series, lon2: pd.Series) -> pd.Series:
    dlat, dlon = np.radians(lat2 - lat1) / 2, np.radians(lon2 - lon1) / 2
    a = np.sin(dlat) ** 2 + np.cos(np.radians(lat1)) * np.cos(np.radians(lat2)) * np.sin(dlon) ** 2
    return 2 * 6_371_000.0 * np.arcsin(np.sqrt(a))


def travel_periods(loc: pd.DataFrame) -> pd.DataFrame:
    """`move` rows, and the gaps between a device's consecutive fixes covered faster than
    MOVING_SPEED over more than MIN_MOVE_M."""
    fixes = loc[loc["lat"].notna() & loc["lon"].notna()].sort_values(["devid", "entertime", "exittime"])
    prev = fixes.groupby("devid")[["lat", "lon", "exittime"]].shift()
    hop = fixes.assign(plat=prev["lat"], plon=prev["lon"], pexit=prev["exittime"])
    hop = hop[hop["pexit"].notna() & (hop["entertime"] > hop["pexit"])]
    metres = haversine_m(hop["plat"], hop["plon"], hop["lat"], hop["lon"])
    seconds = (hop["entertime"] - hop["pexit"]) // US / 1e6
    fast = hop[(metres > MIN_MOVE_M) & (metres > MOVING_SPEED * seconds)]
    hops = pd.DataFrame({"devid": fast["devid"], "entertime": fast["pexit"], "exittime": fast["entertime"]})
    return pd.concat([loc.loc[loc["kind"] == "move", ["devid", "entertime", "exittime"]], hops])


def rate(num: pd.Series, den: pd.Series) -> pd.Series:
    """sum(num) / sum(den) per activity; NaN without values or for a zero denominator."""
    top, bottom = num.sum(min_count=1), den.sum(min_count=1)
    return top / bottom.where(bottom != 0)


def activity_qoe_frame(folder: str) -> pd.DataFrame:
    """activity-qoe's rows indexed by the global activity number, start and end as timestamps."""
    ev = tagged(folder, *QOE_RECURRING)
    ev["number"] = ev["activity"] - ev.groupby("user_id")["activity"].transform("min") + 1
    acts = activity_frame(ev)
    kept = ev[ev["activity"].isin(acts.index)]
    acts["activity"] = kept.groupby("activity")["number"].first()
    # one row per (activity, device); the main device has most events, then the first login
    per = kept.groupby(["activity", "devid", "login"]).size().rename("device_events").reset_index()
    per = per.sort_values(["activity", "device_events", "login"], ascending=[True, False, True])
    per["primary"] = ~per.duplicated("activity")
    devs = per.merge(acts[["username", "start", "end"]], left_on="activity", right_index=True)
    acts["devices"] = devs.groupby("activity").size()
    mine = user_devices(folder, include_shared=True)
    info = mine.drop_duplicates("devid").set_index("devid")
    main = devs[devs["primary"]].set_index("activity")["devid"]
    acts["device_type"] = main.map(info["devtype"])
    acts["shared"] = main.map(info["shared"]).astype(bool)

    loc = read(folder, "locations")
    nets = overlapping(devs, network_periods(folder, loc, info["devtype"]), "valid_from", "valid_to")
    nets = nets.assign(ov=overlap_us(nets["valid_from"].fillna(nets["start"]),
                                     nets["valid_to"].fillna(nets["end"]), nets["start"], nets["end"]))
    best = nets.sort_values(["activity", "precedence", "primary", "ov", "network_type", "access_type"],
                            ascending=[True, True, False, False, True, True]).drop_duplicates("activity")
    best = best.set_index("activity")
    for col in ("network_type", "access_type", "network_source", "network"):
        acts[col] = best[col]

    # place and mobility also from the user's phones: users carry them
    phones = mine[(mine["devtype"] == "phone") | mine["platform"].isin(PHONE_PLATFORMS)]
    carried = acts[["username", "start", "end"]].reset_index().merge(phones[["username", "devid"]])
    carried = pd.concat([devs[["activity", "devid", "start", "end"]],
                         carried[["activity", "devid", "start", "end"]]]).drop_duplicates()
    places = loc[(loc["kind"].isna() | (loc["kind"] == "place"))
                 & (loc["loc_name"].notna() | loc["name"].notna())]
    at = overlapping(carried, places, "entertime", "exittime")
    at = at.assign(ov=overlap_us(at["entertime"], at["exittime"], at["start"], at["end"]),
                   unlabelled=at["loc_name"].isna())
    at = at.sort_values(["activity", "unlabelled", "ov", "entertime"],
                        ascending=[True, True, False, True]).drop_duplicates("activity").set_index("activity")
    acts["place"] = at["loc_name"].fillna(at["name"])
    known = pd.concat([loc[["devid", "entertime", "exittime"]].assign(travel=0),
                       travel_periods(loc).assign(travel=1)])
    moved = overlapping(carried, known, "entertime", "exittime").groupby("activity")["travel"].max()
    acts["moving"] = (moved == 1).astype(object).reindex(acts.index).where(lambda m: m.notna(), None)

    local = local_times(folder, acts[["username", "start"]].rename(columns={"start": "ts"}))
    acts["local_hour"], acts["weekday"] = local.dt.hour, local.dt.dayofweek

    # multitasking: devices and domains per minute of the activity, user agents during it
    k = kept.merge(acts[["start"]], left_on="activity", right_index=True)
    k["minute"] = (k["ts"] - k["start"]) // pd.Timedelta(minutes=1)
    per_minute = k.groupby(["activity", "minute"]).agg(d=("devid", "nunique"), s=("domain", "nunique"))
    acts["domains"] = kept.groupby("activity")["domain"].nunique()
    acts["parallel_devices"] = per_minute.groupby("activity")["d"].max()
    acts["parallel_domains"] = per_minute.groupby("activity")["s"].max()
    http = read(folder, "httpreqs", ["devid", "ts", "user_url", "req_ua"])
    http = http[http["user_url"].fillna(False).astype(bool) & http["req_ua"].notna()]
    acts["user_agents"] = within(devs, http, "start", "end", "ts").groupby("activity")["req_ua"].nunique()

    # QoS of the flows starting within the activity on its devices
    flows = read(folder, "flows")
    f = within(devs, flows, "start", "end", "startts")
    tcp = f["retrans_pkts_out"].notna()
    g = f.assign(bytes=(f["bytes_in"].fillna(0) + f["bytes_out"].fillna(0)).astype("float64"),
                 tcp_packets=(f["packets_in"] + f["packets_out"]).where(tcp, 0),
                 rtt_access=f["rtt_access_mean_ms"].fillna(f["hs_rtt_access_ms"]),
                 rtt_internet=f["rtt_internet_mean_ms"].fillna(f["hs_rtt_internet_ms"]),
                 tcp_out=f["packets_out"].where(tcp), tcp_in=f["packets_in"].where(tcp),
                 bits_in=f["bulk_bytes_in"] * 8, bits_out=f["bulk_bytes_out"] * 8,
                 us_in=f["bulk_secs_in"] * 1e6, us_out=f["bulk_secs_out"] * 1e6).groupby("activity")
    acts["flows"] = g.size()
    acts["bytes"] = g["bytes"].sum()
    acts["tcp_packets"] = g["tcp_packets"].sum()
    acts["rtt_access_ms"] = g["rtt_access"].median()
    acts["rtt_internet_ms"] = g["rtt_internet"].median()
    acts["retrans_rate_out"] = rate(g["retrans_pkts_out"], g["tcp_out"])
    acts["retrans_rate_in"] = rate(g["retrans_pkts_in"], g["tcp_in"])
    acts["bulk_mbps_in"] = rate(g["bits_in"], g["us_in"])
    acts["bulk_mbps_out"] = rate(g["bits_out"], g["us_out"])

    # the network around the start: its devices' TCP flows within NET_WINDOW of it
    around = devs.assign(lo=devs["start"] - NET_WINDOW, hi=devs["start"] + NET_WINDOW)
    n = within(around, flows[flows["retrans_pkts_out"].notna()], "lo", "hi", "startts")
    n = n.assign(packets=n["packets_in"] + n["packets_out"],
                 retrans=n["retrans_pkts_out"] + n["retrans_pkts_in"].fillna(0),
                 rtt_access=n["rtt_access_mean_ms"].fillna(n["hs_rtt_access_ms"])).groupby("activity")
    acts["net_tcp_packets"] = n["packets"].sum()
    acts["net_rtt_access_ms"] = n["rtt_access"].median()
    acts["net_retrans_rate"] = rate(n["retrans"], n["packets"])

    filled = {"network_type": "unknown", "access_type": "unknown", "network_source": "none",
              "domains": 0, "parallel_devices": 1, "parallel_domains": 0, "user_agents": 0,
              "flows": 0, "tcp_packets": 0, "net_tcp_packets": 0}
    acts = acts.fillna(filled)
    acts["multitasking"] = (acts["parallel_devices"] > 1) | (acts["user_agents"] > 1)
    return acts.sort_values(["username", "start"])


def activity_qoe(folder: str) -> pd.DataFrame:
    acts = activity_qoe_frame(folder)
    acts["start"] = acts["start"].dt.strftime(ISO)
    acts["end"] = acts["end"].dt.strftime(ISO)
    return acts[QOE_COLUMNS].reset_index(drop=True)


EFFECT_COLUMNS = ["scope", "username", "factor", "level", "reference", "measure", "users", "n",
                  "n_ref", "median", "median_ref", "ratio", "effect", "test", "p_value", "note"]
MIN_ACTIVITIES, MIN_USERS, MIN_PACKETS = 10, 5, 50  # qoe-effects' defaults
BOUNDS = {"rtt_class": (20.0, 60.0), "loss_class": (0.01, 0.03)}  # where mid and high begin


def median_or_none(x: np.ndarray) -> float | None:
    return float(np.median(x)) if x.size else None


def qoe_effects(folder: str) -> pd.DataFrame:
    """Per user: Mann-Whitney U of each level against the reference; over users: Wilcoxon
    signed-rank of the per-user log ratios of medians (scipy, as ucnstudy)."""

    acts = activity_qoe_frame(folder).sort_values(["username", "start"], kind="stable")
    acts["rtt"] = acts["net_rtt_access_ms"]
    acts["loss"] = acts["net_retrans_rate"].where(acts["net_tcp_packets"] >= MIN_PACKETS)
    for value, cls in (("rtt", "rtt_class"), ("loss", "loss_class")):
        lo, hi = BOUNDS[cls]
        acts[cls] = pd.cut(acts[value].astype(float), [-np.inf, lo, hi, np.inf], right=False,
                           labels=["low", "mid", "high"]).astype(object).where(acts[value].notna(), None)
    strata = acts.groupby(["username", "device_type", "network_type"])
    for measure, rel in (("duration_s", "duration_rel"), ("bytes", "bytes_rel")):
        median = strata[measure].transform("median")
        acts[rel] = acts[measure] / median.where(median > 0)
    refs = {"rtt_class": "low", "loss_class": "low"}
    for factor in ("device_type", "network_type"):
        counts = acts.loc[acts[factor] != "unknown", factor].value_counts()
        refs[factor] = min(counts.index[counts == counts.max()]) if len(counts) else ""
    rows: list[dict[str, object]] = []
    for factor in ("device_type", "network_type", "rtt_class", "loss_class"):
        ref = refs[factor]
        measures = (["duration_rel", "bytes_rel"] if factor in BOUNDS else ["duration_s", "bytes"])
        for level in sorted(set(acts[factor].dropna()) - {ref, "unknown", ""}):
            for measure in measures:
                common = {"factor": factor, "level": level, "reference": ref, "measure": measure}
                cells = []
                for user, mine in acts.groupby("username"):
                    x = mine.loc[mine[factor] == level, measure].dropna().to_numpy(float)
                    y = mine.loc[mine[factor] == ref, measure].dropna().to_numpy(float)
                    cells.append((user, x, y))
                rows += effect_rows(common, cells)
    out = pd.DataFrame(rows).reindex(columns=EFFECT_COLUMNS)
    out[["test", "note"]] = out[["test", "note"]].fillna("")
    return out


def effect_rows(common: dict[str, object], cells: list[tuple[str, np.ndarray, np.ndarray]]
                ) -> list[dict[str, object]]:
    """One row per user with a cell (level values x, reference values y: Mann-Whitney U when
    both have MIN_ACTIVITIES), then the all-users row (Wilcoxon signed-rank on the log ratios)."""
    from scipy import stats

    users, tested_cells = [], {}
    for user, x, y in cells:
        if not (x.size or y.size):
            continue
        row = {"scope": "user", "username": user, **common, "users": 1, "n": x.size,
               "n_ref": y.size, "median": median_or_none(x), "median_ref": median_or_none(y)}
        if x.size and y.size and row["median_ref"]:
            row["ratio"] = row["median"] / row["median_ref"]
        if min(x.size, y.size) < MIN_ACTIVITIES:
            row["note"] = f"too few activities for a test (fewer than {MIN_ACTIVITIES} in a cell)"
        else:
            u = stats.mannwhitneyu(x, y, alternative="two-sided")
            row |= {"effect": 2 * u.statistic / (x.size * y.size) - 1,
                    "test": "mann-whitney-u", "p_value": u.pvalue}
            tested_cells[user] = (x, y)
        users.append(row)
    tested = [r for r in users if r["username"] in tested_cells and r.get("ratio")]
    x = np.concatenate([tested_cells[r["username"]][0] for r in tested] or [np.empty(0)])
    y = np.concatenate([tested_cells[r["username"]][1] for r in tested] or [np.empty(0)])
    logs = np.log([r["ratio"] for r in tested])
    total = {"scope": "all", "username": "(all users)", **common, "users": len(tested),
             "n": x.size, "n_ref": y.size, "median": median_or_none(x),
             "median_ref": median_or_none(y),
             "ratio": float(np.exp(np.median(logs))) if logs.size else None}
    if len(tested) < MIN_USERS:
        total["note"] = f"too few users for a test (fewer than {MIN_USERS} with both cells tested)"
    else:
        total |= {"effect": float(np.median(logs)), "test": "wilcoxon-signed-rank",
                  "p_value": stats.wilcoxon(logs).pvalue}
    return [*users, total]


def sort_floor_input(folder: str) -> np.ndarray:
    """The user events' timestamps (µs), the input of the numpy-sort floor."""
    return user_events(folder)["ts"].to_numpy().astype("int64")
