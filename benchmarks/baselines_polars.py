"""Each analysis in polars (lazy scans of the Parquet extracts), to the same pandas DataFrame.

The polars counterpart of `baselines_pandas`: one lazy query per analysis, collected once and
converted to pandas (the conversion is part of the timing, as ucnstudy's is).
"""

from __future__ import annotations

import os

import pandas as pd
import polars as pl
from ua_parser import parse

from benchmarks import baselines_pandas as pdb

ZONES = {"fr": "Europe/Paris", "uk": "Europe/London"}
DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
ISO = "%Y-%m-%dT%H:%M:%S.%6fZ"
c = pl.col


def scan(folder: str, table: str) -> pl.LazyFrame:
    return pl.scan_parquet(os.path.join(folder, f"{table}.parquet"))


def user_devices(folder: str, include_shared: bool = False) -> pl.LazyFrame:
    links = scan(folder, "user_devices")
    n_users = links.group_by("device_id").agg(n=c("user_id").n_unique())
    devices = scan(folder, "devices").join(n_users, left_on="id", right_on="device_id", how="left")
    devices = devices.with_columns(shared=c("shared").fill_null(c("n").fill_null(0) > 1))
    j = (scan(folder, "users").select(user_id="id", username="username").join(links, on="user_id")
         .join(devices, left_on="device_id", right_on="id").rename({"device_id": "devid"}))
    return j if include_shared else j.filter(~c("shared"))


def user_events(folder: str) -> pl.LazyFrame:
    dns = scan(folder, "dnsreqs").filter(c("user_req").fill_null(False)).select(
        "devid", "ts", host="query", domain=c("query_domain").fill_null(c("query")))
    http = scan(folder, "httpreqs").filter(c("user_url").fill_null(False)).select(
        "devid", "ts", host="req_url_host", domain=c("req_url_domain").fill_null(c("req_url_host")))
    devs = user_devices(folder).select("user_id", "username", "devid", "login")
    return pl.concat([dns, http]).join(devs, on="devid")


def with_local(folder: str, t: pl.LazyFrame) -> pl.LazyFrame:
    """t with `local`, the wall-clock time of ts in the user's zone."""
    users = scan(folder, "users").select(
        "username", tz=c("timezone").replace("", None).fill_null(
            c("country").str.to_lowercase().replace_strict(ZONES, default="UTC")))
    zones = users.select("tz").unique().collect()["tz"].to_list()
    t = t.join(users, on="username")
    local = pl.lit(None, pl.Datetime("us"))
    for zone in zones:
        conv = c("ts").dt.replace_time_zone("UTC").dt.convert_time_zone(zone).dt.replace_time_zone(None)
        local = pl.when(c("tz") == zone).then(conv).otherwise(local)
    return t.with_columns(local=local)


def without_recurring(ev: pl.LazyFrame, share: float, min_hours: int) -> pl.LazyFrame:
    """ev without each device's recurring domains (polls): seen in at least `min_hours` distinct
    clock hours and in at least `share` of the device's hours with events."""
    hour = c("ts").dt.truncate("1h")
    device = ev.group_by("devid").agg(device_hours=hour.n_unique())
    domain = ev.filter(c("domain").is_not_null()).group_by("devid", "domain").agg(n=hour.n_unique())
    rec = domain.join(device, on="devid").filter(
        (c("n") >= min_hours) & (c("n") >= c("device_hours") * share))
    return ev.join(rec, on=["devid", "domain"], how="anti")


def tagged(folder: str, recurring_share: float = 0.0, recurring_hours: int = 6) -> pl.LazyFrame:
    ev = user_events(folder)
    if recurring_share > 0:
        ev = without_recurring(ev, recurring_share, recurring_hours)
    ev = ev.sort("user_id", "ts")
    new = (c("user_id") != c("user_id").shift()).fill_null(True) | (
        c("ts").diff() > pl.duration(seconds=600)).fill_null(False)
    return ev.with_columns(activity=new.cast(pl.Int64).cum_sum())


def activity_frame(ev: pl.LazyFrame) -> pl.LazyFrame:
    acts = ev.group_by("activity").agg(
        username=c("username").first(), start=c("ts").min(), end=c("ts").max(), events=pl.len(),
        devices=c("login").unique().sort().str.join("+"))
    acts = acts.with_columns(duration_us=(c("end") - c("start")).dt.total_microseconds())
    acts = acts.filter((c("duration_us") >= 1_000_000) & (c("events") >= 3))
    return acts.with_columns(duration_s=c("duration_us") / 1e6, events=c("events").cast(pl.Int64))


def activities(folder: str) -> pd.DataFrame:
    acts = activity_frame(tagged(folder)).sort("username", "start").select(
        "username", c("start").dt.strftime(ISO), c("end").dt.strftime(ISO), "duration_s", "events",
        "devices")
    return acts.collect().to_pandas()


def inter_event(folder: str) -> pd.DataFrame:
    ev = user_events(folder).select("username", "ts").sort("username", "ts")
    gaps = ev.select("username", iat_us=c("ts").diff().over("username").dt.total_microseconds())
    counts = gaps.drop_nulls().group_by("username", "iat_us").agg(count=pl.len()).sort("username", "iat_us")
    counts = counts.with_columns(
        ecdf=c("count").cum_sum().over("username") / c("count").sum().over("username"))
    out = counts.select("username", iat_s=c("iat_us") / 1e6, count="count", ecdf="ecdf")
    return out.collect().to_pandas()


def dns_http(folder: str) -> pd.DataFrame:
    dns = scan(folder, "dnsreqs").select(
        "devid", "ts", "query", ttl_us=c("ans_ttl").list.get(0, null_on_oob=True).cast(pl.Int64) * 1_000_000)
    inst = (dns.filter(c("query").is_not_null()).select("devid", host="query", dns_ts="ts").unique()
            .sort("dns_ts"))
    reqs = (scan(folder, "httpreqs").filter(c("req_url_host").is_not_null())
            .select("devid", "ts", host="req_url_host").sort("ts"))
    att = reqs.join_asof(inst, left_on="ts", right_on="dns_ts", by=["devid", "host"], strategy="backward")
    first = (att.filter(c("dns_ts").is_not_null()).group_by("devid", "host", "dns_ts")
             .agg(http_ts=c("ts").min()))
    pairs = dns.join(first, left_on=["devid", "query", "ts"], right_on=["devid", "host", "dns_ts"],
                     how="left")
    delay = (c("http_ts") - c("ts")).dt.total_microseconds()
    ok = c("http_ts").is_not_null() & (c("ttl_us").is_null() | (delay <= c("ttl_us")))
    out = pairs.select("devid", dns_ts="ts", query="query",
                       http_ts=pl.when(ok).then(c("http_ts")), delay_s=pl.when(ok).then(delay / 1e6))
    return out.sort("devid", "dns_ts", "query").collect().to_pandas()


def heatmap(folder: str) -> pd.DataFrame:
    devs = user_devices(folder).select("devid", "username")
    t = scan(folder, "deviceapptraffic").join(devs, on="devid").with_columns(
        w=c("bytes_in").fill_null(0) + c("bytes_out").fill_null(0))
    totals = t.group_by("username").agg(total_bytes=c("w").sum())
    local = c("local")
    binned = with_local(folder, t).with_columns(
        bin=((local.dt.weekday() - 1) * 1440 + local.dt.hour().cast(pl.Int64) * 60
             + local.dt.minute().cast(pl.Int64)) // 120)
    values = binned.group_by("username", "bin").agg(value=c("w").sum().cast(pl.Float64))
    labels = [f"{DAY_NAMES[b * 120 // 1440]} {b * 120 % 1440 // 60:02d}:00" for b in range(84)]
    bins = pl.LazyFrame({"bin": range(84), "label": labels}, schema={"bin": pl.Int64, "label": pl.String})
    g = (scan(folder, "users").select("username").join(bins, how="cross")
         .join(values, on=["username", "bin"], how="left").join(totals, on="username", how="left"))
    split = c("value").fill_null(0.0).sum().over("username")
    g = g.with_columns(days=pl.lit("all"), value=c("value").fill_null(0.0),
                       total_bytes=c("total_bytes").fill_null(0),
                       share_pct=pl.when(split > 0).then(c("value").fill_null(0.0) * 100.0 / split)
                       .otherwise(0.0))
    g = g.sort(["total_bytes", "username", "bin"], descending=[True, False, False])
    out = g.select("username", "days", "bin", "label", "value", "share_pct", "total_bytes")
    return out.collect().to_pandas()


def timeline(folder: str) -> pd.DataFrame:
    devs = user_devices(folder).select("devid", "username", "login", "platform")
    http = scan(folder, "httpreqs")
    parts = [scan(folder, "devicetraffic").select("devid", "ts", kind=pl.lit("traffic")),
             scan(folder, "dnsreqs").select("devid", "ts", kind=pl.lit("dns")),
             http.select("devid", "ts", kind=pl.lit("http")),
             http.filter(c("user_url").fill_null(False)).select("devid", "ts", kind=pl.lit("user_http"))]
    ev = pl.concat(parts).join(devs, on="devid")
    busy = (ev.filter(c("kind") == "traffic").group_by("username").agg(n=pl.len())
            .filter(c("n") >= 300).select("username"))
    ev = with_local(folder, ev.join(busy, on="username", how="semi"))
    keys = ["username", "login", "platform", "kind", "local_date", "hour", "minute"]
    ev = ev.with_columns(local_date=c("local").dt.date(), hour=c("local").dt.hour().cast(pl.Int32),
                         minute=c("local").dt.minute().cast(pl.Int32))
    out = ev.group_by(keys).agg(events=pl.len()).sort(
        "username", "login", "kind", "local_date", "hour", "minute")
    df = out.collect().to_pandas()
    df["local_date"] = df["local_date"].dt.date
    return df


def _summary(folder: str) -> pl.LazyFrame:
    links = user_devices(folder, include_shared=True)
    counts = links.group_by("username").agg(
        devices_personal=(~c("shared")).cast(pl.Int64).sum(), devices_shared=c("shared").cast(pl.Int64).sum())
    per = scan(folder, "devicetraffic").group_by("devid").agg(
        seconds=pl.len(), first=c("ts").min(), last=c("ts").max(), packets_in=c("packets_in").sum(),
        packets_out=c("packets_out").sum(), bytes_in=c("bytes_in").sum(), bytes_out=c("bytes_out").sum())
    for table, name in (("dnsreqs", "dns"), ("httpreqs", "http")):
        per = per.join(scan(folder, table).group_by("devid").agg(pl.len().alias(name)), on="devid",
                       how="full", coalesce=True)
    j = links.filter(~c("shared")).join(per, on="devid")
    agg = j.group_by("username").agg(
        c("seconds").sum(), c("first").min(), c("last").max(), c("packets_in").sum(),
        c("packets_out").sum(), c("bytes_in").sum(), c("bytes_out").sum(), c("dns").sum(), c("http").sum())
    u = scan(folder, "users").select("username", "country").join(counts, on="username", how="left")
    u = u.join(agg, on="username", how="left")
    u = u.join(observed_days(folder, links.filter(~c("shared"))), on="username", how="left")
    out = u.select(
        "username", "country", c("devices_personal").fill_null(0), c("devices_shared").fill_null(0),
        total_days=((c("last") - c("first")).dt.total_microseconds() / 86_400e6).fill_null(0.0),
        active_min=(c("seconds") / 60.0).fill_null(0.0), packets_in=c("packets_in").fill_null(0),
        packets_out=c("packets_out").fill_null(0), mib_in=(c("bytes_in") / 2**20).fill_null(0.0),
        mib_out=(c("bytes_out") / 2**20).fill_null(0.0), dns=c("dns").fill_null(0),
        http=c("http").fill_null(0), observed_days=c("observed_days").fill_null(0))
    # rates per observed day; 0.0 for a user never observed
    per_day = {f"{x}_per_day": pl.when(c("observed_days") > 0).then(c(x) / c("observed_days"))
               .otherwise(0.0) for x in ("active_min", "mib_in", "mib_out", "dns", "http")}
    return out.with_columns(**per_day).sort("username")


def observed_days(folder: str, counted: pl.LazyFrame) -> pl.LazyFrame:
    """username, observed_days: the local days on which a counted device has a row in
    devicetraffic, dnsreqs or httpreqs, each row reduced to its UTC hour first."""
    hours = pl.concat([scan(folder, t).select("devid", c("ts").dt.truncate("1h")).unique()
                       for t in ("devicetraffic", "dnsreqs", "httpreqs")]).unique()
    j = hours.join(counted.select("username", "devid"), on="devid")
    days = with_local(folder, j).select("username", day=c("local").dt.date()).unique()
    return days.group_by("username").agg(observed_days=pl.len().cast(pl.Int64))


def user_summary(folder: str) -> pd.DataFrame:
    return _summary(folder).collect().to_pandas()


def select_users(folder: str) -> pd.DataFrame:
    s = _summary(folder).sort(["country", "active_min", "username"], descending=[False, True, False])
    s = s.with_columns(rank=pl.int_range(1, pl.len() + 1).over("country"))
    limit = c("country").str.to_lowercase().replace_strict({"fr": 7, "uk": 10}, default=10)
    s = s.filter(c("rank") <= limit)
    cols = s.collect_schema().names()
    out = s.select("country", "rank", *[x for x in cols if x not in ("country", "rank")])
    return out.collect().to_pandas()


def traffic_by_port(folder: str) -> pd.DataFrame:
    g = scan(folder, "deviceapptraffic").group_by("dstport", "service").agg(
        c("bytes_in").sum(), c("bytes_out").sum(), c("packets_in").sum(), c("packets_out").sum())
    g = g.with_columns(bytes=c("bytes_in") + c("bytes_out"), packets=c("packets_in") + c("packets_out"))
    g = g.with_columns(bytes_pct=c("bytes") * 100.0 / c("bytes").sum(),
                       packets_pct=c("packets") * 100.0 / c("packets").sum())
    g = g.filter(c("packets") > 10).sort(["bytes", "dstport", "service"], descending=[True, False, False],
                                         nulls_last=True)
    return g.collect().to_pandas()


def user_agents(folder: str) -> pd.DataFrame:
    counts = (scan(folder, "httpreqs").group_by("req_ua").agg(requests=pl.len())
              .sort(["requests", "req_ua"], descending=[True, False], nulls_last=True).collect())
    parsed = [None if u is None else parse(u) for u in counts["req_ua"]]
    parts = (("browser", "user_agent"), ("os", "os"), ("device", "device"))
    fam = {col: [None if r is None else getattr(r, part).family if getattr(r, part) else "Other"
                 for r in parsed] for col, part in parts}
    out = counts.with_columns(**{k: pl.Series(v, dtype=pl.String) for k, v in fam.items()})
    out = out.with_columns(requests_pct=100.0 * c("requests") / c("requests").sum())
    df = out.select("req_ua", "browser", "os", "device", "requests", "requests_pct").to_pandas()
    df["req_ua"] = df["req_ua"].astype(object).where(df["req_ua"].notna(), None)
    return df


def activity_context(folder: str) -> pd.DataFrame:
    ev = tagged(folder)
    acts = activity_frame(ev)
    kept = ev.join(acts.select("activity"), on="activity", how="semi")
    mine = user_devices(folder, include_shared=True)
    phones = mine.filter((c("devtype") == "phone") | c("platform").is_in(["iphone", "android-phone"]))
    carried = acts.select("activity", "username").join(phones.select("username", "devid"), on="username")
    devices = pl.concat([kept.select("activity", "devid"), carried.select("activity", "devid")]).unique()
    cand = (devices.join(acts.select("activity", "start", "end"), on="activity")
            .join(scan(folder, "locations"), on="devid")
            .filter((c("entertime") <= c("end")) & (c("exittime") >= c("start")))
            .with_columns(place=c("name").fill_null(c("loc_name"))))

    def joined(column: str, sep: str, name: str) -> pl.LazyFrame:
        return (cand.filter(c(column).is_not_null()).group_by("activity")
                .agg(c(column).unique().sort().str.join(sep).alias(name)))

    counts = kept.filter(c("domain").is_not_null()).group_by("activity", "domain").agg(n=pl.len())
    top = (counts.sort(["activity", "n", "domain"], descending=[False, True, False])
           .group_by("activity", maintain_order=True).head(5)
           .group_by("activity", maintain_order=True)
           .agg(top_domains=(c("domain") + " (" + c("n").cast(pl.String) + ")").str.join(", ")))
    out = (acts.join(joined("place", "; ", "locations"), on="activity", how="left")
           .join(joined("net_asname", "; ", "networks"), on="activity", how="left")
           .join(top, on="activity", how="left").sort("username", "start"))
    texts = [c(x).fill_null("") for x in ("locations", "networks", "top_domains")]
    out = out.select("username", c("start").dt.strftime(ISO), c("end").dt.strftime(ISO), "duration_s",
                     "events", "devices", *texts)
    return out.collect().to_pandas()


def contains_any(text: pl.Expr, parts: tuple[str, ...]) -> pl.Expr:
    low = text.fill_null("").str.to_lowercase()
    return pl.any_horizontal([low.str.contains(p, literal=True) for p in parts])


def overlap_us(lo: pl.Expr, hi: pl.Expr) -> pl.Expr:
    return (pl.min_horizontal(hi, c("end")) - pl.max_horizontal(lo, c("start"))).dt.total_microseconds()


def meets(devs: pl.LazyFrame, periods: pl.LazyFrame, lo: str, hi: str) -> pl.LazyFrame:
    j = devs.join(periods, on="devid")
    return j.filter((c(lo).is_null() | (c(lo) <= c("end"))) & (c(hi).is_null() | (c(hi) >= c("start"))))


def in_window(left: pl.LazyFrame, right: pl.LazyFrame, lo: str, hi: str, ts: str) -> pl.LazyFrame:
    """Rows of right on a left row's device with lo <= ts <= hi (a range join)."""
    return left.join_where(right.rename({"devid": "devid_r"}), c("devid") == c("devid_r"),
                           c(ts) >= c(lo), c(ts) <= c(hi))


def network_periods(folder: str, devtype: pl.LazyFrame) -> pl.LazyFrame:
    obs = scan(folder, "locations").filter(c("net_asname").is_not_null() | c("net_public_ip").is_not_null())
    links = scan(folder, "user_devices")
    spent = (obs.filter(c("net_public_ip").is_not_null() & ~contains_any(c("net_asname"), pdb.WORK_AS))
             .join(links, left_on="devid", right_on="device_id")
             .group_by("user_id", "net_public_ip")
             .agg(us=(c("exittime") - c("entertime")).dt.total_microseconds().sum()))
    top = (spent.sort(["user_id", "us", "net_public_ip"], descending=[False, True, False])
           .group_by("user_id", maintain_order=True).first())
    homes = (top.join(links, on="user_id").select(devid="device_id", home_ip="net_public_ip").unique())
    j = obs.join(homes, left_on=["devid", "net_public_ip"], right_on=["devid", "home_ip"], how="left",
                 coalesce=False).drop("devid_right")
    label = c("loc_name").str.strip_chars().str.to_lowercase()
    home_l = label.is_in(pdb.HOME_LABELS).fill_null(False)
    work_l = label.is_in(pdb.WORK_LABELS).fill_null(False)
    home = c("home_ip").is_not_null()
    kind = (pl.when(home_l).then(pl.lit("home")).when(work_l).then(pl.lit("work"))
            .when(home).then(pl.lit("home")).when(contains_any(c("net_asname"), pdb.CELLULAR_AS))
            .then(pl.lit("cellular")).when(contains_any(c("net_asname"), pdb.WORK_AS)).then(pl.lit("work"))
            .otherwise(pl.lit("public")))
    source = (pl.when(home_l | work_l).then(pl.lit("label")).when(home).then(pl.lit("home-address"))
              .otherwise(pl.lit("asname")))
    derived = j.select("devid", valid_from="entertime", valid_to="exittime", network_type=kind,
                       access_type=pl.lit(None, pl.String), network_source=source,
                       network=c("net_asname").fill_null(c("net_public_ip")), precedence=pl.lit(1))
    declared = scan(folder, "networks").select(
        "devid", "valid_from", "valid_to", "network_type", "access_type",
        network_source=pl.lit("declared"), network="name", precedence=pl.lit(0))
    periods = pl.concat([declared, derived], how="vertical_relaxed").join(devtype, on="devid", how="left")
    access = (pl.when(c("network_type") == "cellular").then(pl.lit("cellular"))
              .when(c("devtype").is_in(pdb.FIXED_DEVTYPES)).then(pl.lit("fixed")).otherwise(pl.lit("wifi")))
    return periods.with_columns(access_type=c("access_type").fill_null(access)).drop("devtype")


def travel_periods(loc: pl.LazyFrame) -> pl.LazyFrame:
    fixes = loc.filter(c("lat").is_not_null() & c("lon").is_not_null()).sort("devid", "entertime", "exittime")
    hop = fixes.with_columns(plat=c("lat").shift().over("devid"), plon=c("lon").shift().over("devid"),
                             pexit=c("exittime").shift().over("devid"))
    hop = hop.filter(c("pexit").is_not_null() & (c("entertime") > c("pexit")))
    dlat, dlon = (c("lat") - c("plat")).radians() / 2, (c("lon") - c("plon")).radians() / 2
    a = dlat.sin() ** 2 + c("plat").radians().cos() * c("lat").radians().cos() * dlon.sin() ** 2
    metres = 2 * 6_371_000.0 * a.sqrt().arcsin()
    seconds = (c("entertime") - c("pexit")).dt.total_microseconds() / 1e6
    fast = hop.filter((metres > pdb.MIN_MOVE_M) & (metres > pdb.MOVING_SPEED * seconds))
    return pl.concat([loc.filter(c("kind") == "move").select("devid", "entertime", "exittime"),
                      fast.select("devid", entertime="pexit", exittime="entertime")])


def rate(num: pl.Expr, den: pl.Expr) -> pl.Expr:
    bottom = den.cast(pl.Float64).sum()
    return pl.when(den.count() > 0).then(num.cast(pl.Float64).sum()) / pl.when(bottom != 0).then(bottom)


def activity_qoe_frame(folder: str) -> pl.LazyFrame:
    ev = tagged(folder, *pdb.QOE_RECURRING).with_columns(
        number=c("activity") - c("activity").min().over("user_id") + 1)
    acts = activity_frame(ev)
    kept = ev.join(acts.select("activity"), on="activity", how="semi")
    acts = acts.drop("devices").join(kept.group_by("activity").agg(number=c("number").first()), on="activity")
    per = (kept.group_by("activity", "devid", "login").agg(device_events=pl.len())
           .sort(["activity", "device_events", "login"], descending=[False, True, False])
           .with_columns(primary=pl.int_range(pl.len()).over("activity") == 0))
    devs = per.join(acts.select("activity", "username", "start", "end"), on="activity")
    mine = user_devices(folder, include_shared=True)
    info = mine.select("devid", "devtype", "shared").unique("devid")
    main = devs.filter(c("primary")).join(info, on="devid").select("activity", device_type="devtype",
                                                                    shared="shared")
    nets = meets(devs, network_periods(folder, info.select("devid", "devtype")), "valid_from", "valid_to")
    nets = nets.with_columns(ov=overlap_us(c("valid_from").fill_null(c("start")),
                                           c("valid_to").fill_null(c("end"))))
    best = (nets.sort(["activity", "precedence", "primary", "ov", "network_type", "access_type"],
                      descending=[False, False, True, True, False, False])
            .group_by("activity", maintain_order=True).first()
            .select("activity", "network_type", "access_type", "network_source", "network"))
    phones = mine.filter((c("devtype") == "phone") | c("platform").is_in(pdb.PHONE_PLATFORMS))
    carried = pl.concat([devs.select("activity", "devid", "start", "end"),
                         acts.join(phones.select("username", "devid"), on="username")
                         .select("activity", "devid", "start", "end")]).unique()
    loc = scan(folder, "locations")
    places = loc.filter((c("kind").is_null() | (c("kind") == "place"))
                        & (c("loc_name").is_not_null() | c("name").is_not_null()))
    at = meets(carried, places, "entertime", "exittime").with_columns(
        ov=overlap_us(c("entertime"), c("exittime")), unlabelled=c("loc_name").is_null())
    place = (at.sort(["activity", "unlabelled", "ov", "entertime"], descending=[False, False, True, False])
             .group_by("activity", maintain_order=True).first()
             .select("activity", place=c("loc_name").fill_null(c("name"))))
    known = pl.concat([loc.select("devid", "entertime", "exittime", travel=pl.lit(0)),
                       travel_periods(loc).with_columns(travel=pl.lit(1))])
    moving = meets(carried, known, "entertime", "exittime").group_by("activity").agg(
        moving=c("travel").max() == 1)
    local = with_local(folder, acts.select("activity", "username", ts="start")).select(
        "activity", local_hour=c("local").dt.hour().cast(pl.Int64),
        weekday=(c("local").dt.weekday() - 1).cast(pl.Int64))
    k = kept.join(acts.select("activity", "start"), on="activity").with_columns(
        minute=(c("ts") - c("start")).dt.total_microseconds() // 60_000_000)
    par = (k.group_by("activity", "minute")
           .agg(d=c("devid").n_unique(), s=c("domain").drop_nulls().n_unique())
           .group_by("activity").agg(parallel_devices=c("d").max(), parallel_domains=c("s").max()))
    doms = kept.group_by("activity").agg(domains=c("domain").drop_nulls().n_unique())
    http = scan(folder, "httpreqs").filter(c("user_url").fill_null(False) & c("req_ua").is_not_null())
    uas = (in_window(devs, http.select("devid", "ts", "req_ua"), "start", "end", "ts")
           .group_by("activity").agg(user_agents=c("req_ua").n_unique()))
    flows = scan(folder, "flows")
    tcp = c("retrans_pkts_out").is_not_null()
    qos = in_window(devs, flows, "start", "end", "startts").group_by("activity").agg(
        flows=pl.len(),
        bytes=(c("bytes_in").fill_null(0) + c("bytes_out").fill_null(0)).cast(pl.Float64).sum(),
        tcp_packets=pl.when(tcp).then(c("packets_in") + c("packets_out")).otherwise(0).sum(),
        rtt_access_ms=c("rtt_access_mean_ms").fill_null(c("hs_rtt_access_ms")).median(),
        rtt_internet_ms=c("rtt_internet_mean_ms").fill_null(c("hs_rtt_internet_ms")).median(),
        retrans_rate_out=rate(c("retrans_pkts_out"), pl.when(tcp).then(c("packets_out"))),
        retrans_rate_in=rate(c("retrans_pkts_in"), pl.when(tcp).then(c("packets_in"))),
        bulk_mbps_in=rate(c("bulk_bytes_in") * 8, c("bulk_secs_in") * 1e6),
        bulk_mbps_out=rate(c("bulk_bytes_out") * 8, c("bulk_secs_out") * 1e6))
    w = pl.duration(seconds=1800)
    around = devs.with_columns(lo=c("start") - w, hi=c("start") + w)
    packets = c("packets_in") + c("packets_out")
    net = in_window(around, flows.filter(tcp), "lo", "hi", "startts").group_by("activity").agg(
        net_tcp_packets=packets.sum(),
        net_rtt_access_ms=c("rtt_access_mean_ms").fill_null(c("hs_rtt_access_ms")).median(),
        net_retrans_rate=rate(c("retrans_pkts_out") + c("retrans_pkts_in").fill_null(0), packets))
    n_dev = devs.group_by("activity").agg(devices=pl.len())
    out = acts
    for extra in (n_dev, main, best, place, moving, local, doms, par, uas, qos, net):
        out = out.join(extra, on="activity", how="left")
    out = out.with_columns(
        c("network_type", "access_type").fill_null("unknown"), c("network_source").fill_null("none"),
        c("domains", "parallel_domains", "user_agents", "flows", "tcp_packets",
          "net_tcp_packets").fill_null(0),
        c("parallel_devices").fill_null(1))
    out = out.with_columns(multitasking=(c("parallel_devices") > 1) | (c("user_agents") > 1))
    return out.drop("activity").rename({"number": "activity"}).sort("username", "start")


def activity_qoe(folder: str) -> pd.DataFrame:
    out = activity_qoe_frame(folder).with_columns(c("start").dt.strftime(ISO), c("end").dt.strftime(ISO))
    df = out.select(pdb.QOE_COLUMNS).collect().to_pandas()
    df["moving"] = df["moving"].astype(object).where(df["moving"].notna(), None)
    return df


def qoe_effects(folder: str) -> pd.DataFrame:
    """Classes and stratum-relative measures in polars; per user Mann-Whitney U, over users
    Wilcoxon signed-rank of the log ratios of medians (scipy, as ucnstudy)."""

    def classed(value: pl.Expr, lo: float, hi: float) -> pl.Expr:
        return (pl.when(value.is_null()).then(pl.lit(None, pl.String)).when(value < lo).then(pl.lit("low"))
                .when(value < hi).then(pl.lit("mid")).otherwise(pl.lit("high")))

    strata = ["username", "device_type", "network_type"]
    loss = pl.when(c("net_tcp_packets") >= pdb.MIN_PACKETS).then(c("net_retrans_rate"))
    acts = activity_qoe_frame(folder).with_columns(
        rtt_class=classed(c("net_rtt_access_ms"), *pdb.BOUNDS["rtt_class"]),
        loss_class=classed(loss, *pdb.BOUNDS["loss_class"]),
        **{rel: c(m) / pl.when(c(m).median().over(strata) > 0).then(c(m).median().over(strata))
           for m, rel in (("duration_s", "duration_rel"), ("bytes", "bytes_rel"))}).collect()
    refs = {"rtt_class": "low", "loss_class": "low"}
    for factor in ("device_type", "network_type"):
        counts = (acts.filter(c(factor) != "unknown").group_by(factor).agg(n=pl.len())
                  .sort(["n", factor], descending=[True, False]))
        refs[factor] = counts[factor][0] if counts.height else ""
    by_user = acts.sort("username").partition_by("username", as_dict=True, maintain_order=True)
    rows: list[dict[str, object]] = []
    for factor in ("device_type", "network_type", "rtt_class", "loss_class"):
        ref = refs[factor]
        measures = ["duration_rel", "bytes_rel"] if factor in pdb.BOUNDS else ["duration_s", "bytes"]
        for level in sorted(set(acts[factor].drop_nulls()) - {ref, "unknown", ""}):
            for measure in measures:
                common = {"factor": factor, "level": level, "reference": ref, "measure": measure}
                cells = []
                for (user,), mine in by_user.items():
                    x = mine.filter(c(factor) == level)[measure].drop_nulls().drop_nans().to_numpy()
                    y = mine.filter(c(factor) == ref)[measure].drop_nulls().drop_nans().to_numpy()
                    cells.append((user, x, y))
                rows += pdb.effect_rows(common, cells)
    out = pd.DataFrame(rows).reindex(columns=pdb.EFFECT_COLUMNS)
    out[["test", "note"]] = out[["test", "note"]].fillna("")
    return out
