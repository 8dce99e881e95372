"""A small, deterministic, realistic study in canonical form, for the engine tests.

Three users (one in France, a UK household of two sharing a tablet), four devices, two days.
Each device has bursts of user activity: DNS responses (with CNAME chains, aligned answers)
followed within seconds by HTTP requests for the same host, per-second device traffic and
10 s app-traffic windows consistent with them, flows, locations, sockets, running apps and
ground-truth foreground intervals and IO events. Background polling adds non-user events.
Timestamps carry microseconds so that engines are compared to the microsecond.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

import pyarrow as pa

from ucnstudy import Study
from ucnstudy.schema import BOOKKEEPING, TABLES
from ucnstudy.sources.flowid import flowid

START = datetime(2015, 10, 24, 6, 0, 0)  # spans the end of summer time (25 October 2015)
USERS = [
    (1, "alice", "martin", "fr", "Europe/Paris"),
    (2, "bob.husband", "smith", "uk", "Europe/London"),
    (3, "carol.wife", "smith", "uk", "Europe/London"),
]
DEVICES = [  # id, name, login, platform, devtype, os, shared, users, address
    (10, "phone", "alice.phone", "android-phone", "phone", "android", False, [1], "10.8.0.10"),
    (11, "laptop", "alice.laptop", "macbook", "laptop", "darwin", False, [1], "10.8.0.11"),
    (20, "phone", "bob.husband.phone", "iphone", "phone", "ios", False, [2], "10.8.0.20"),
    (21, "tablet", "smith.tablet", "ipad", "tablet", "ios", True, [2, 3], "10.8.0.21"),
]
USER_HOSTS = ["www.lemonde.fr", "www.bbc.co.uk", "en.wikipedia.org", "www.youtube.com",
              "mail.google.com", "www.amazon.co.uk", "www.leboncoin.fr", "news.ycombinator.com"]
BACKGROUND_HOSTS = ["gsp1.apple.com", "ad.doubleclick.net", "settings-win.data.microsoft.com"]
RESOLVER = "192.0.2.53"


def _server(host: str) -> str:
    return f"203.0.113.{sum(map(ord, host)) % 250 + 1}"


class _Builder:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.rows: dict[str, list[dict]] = {name: [] for name in TABLES}

    def micro(self, t: datetime) -> datetime:
        return t + timedelta(microseconds=self.rng.randrange(1_000_000))

    def dns(self, dev: tuple, t: datetime, host: str, user: bool) -> None:
        sport = self.rng.randrange(30000, 60000)
        cname = host.startswith("www.") and self.rng.random() < 0.5
        types, names, addrs, ttls = [], [], [], []
        if cname:
            target = f"{host[4:]}.cdn.example.net"
            types += [5]
            names += [host]
            addrs += [target]
            ttls += [self.rng.choice([60, 300])]
            host_a = target
        else:
            host_a = host
        types += [1]
        names += [host_a]
        addrs += [_server(host)]
        ttls += [self.rng.choice([20, 60, 300, 3600])]
        self.rows["dnsreqs"].append({
            "devid": dev[0], "ts": t, "query_ts": t - timedelta(microseconds=23_456),
            "srcip": dev[8], "dstip": RESOLVER, "proto": 17, "srcport": sport, "dstport": 53,
            "flowid": flowid(dev[8], RESOLVER, 17, sport, 53), "query": host, "query_type": 1,
            "query_domain": ".".join(host.split(".")[-2:]), "query_tld": host.split(".")[-1],
            "ans_type": types, "ans_name": names, "ans_addr": addrs, "ans_ttl": ttls,
            "user_req": user, "duplicate": False, "matches_blacklist": not user,
            "matches_easylist": False,
        })

    def http(self, dev: tuple, t: datetime, host: str, user: bool, referer: str | None) -> None:
        sport = self.rng.randrange(30000, 60000)
        path = f"/p/{self.rng.randrange(1000)}"
        self.rows["httpreqs"].append({
            "devid": dev[0], "source": "squid", "ts": t, "req_method": "GET",
            "req_url": f"http://{host}{path}", "req_url_host": host,
            "req_url_domain": ".".join(host.split(".")[-2:]), "req_url_path": path,
            "req_ua": "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_10_5) Safari/600.8.9"
            if dev[5] == "darwin" else None,
            "req_referer": referer, "res_status_code": self.rng.choice([200, 200, 200, 304, 404]),
            "res_size": self.rng.randrange(200, 2_000_000), "res_mimetype": "text/html",
            "srcip": dev[8], "dstip": _server(host), "proto": 6, "srcport": sport, "dstport": 80,
            "flowid": flowid(dev[8], _server(host), 6, sport, 80), "user_url": user,
            "matches_ctypefilter": False, "matches_urlblacklist": not user,
            "matches_easylist": False,
        })

    def traffic(self, dev: tuple, t: datetime, seconds: int) -> None:
        base = t.replace(microsecond=0)
        for s in range(seconds):
            if self.rng.random() < 0.3:
                continue
            p_in, p_out = self.rng.randrange(1, 80), self.rng.randrange(1, 40)
            self.rows["devicetraffic"].append({
                "devid": dev[0], "ts": base + timedelta(seconds=s), "packets_in": p_in,
                "bytes_in": p_in * self.rng.randrange(60, 1500), "packets_out": p_out,
                "bytes_out": p_out * self.rng.randrange(60, 600),
            })

    def app_window(self, dev: tuple, t: datetime, host: str, port: int) -> None:
        epoch = int((t - datetime(1970, 1, 1)).total_seconds())
        start = datetime(1970, 1, 1) + timedelta(seconds=epoch - epoch % 10)
        sport = self.rng.randrange(30000, 60000)
        proto = 6
        counters = {k: self.rng.randrange(1, 5000) for k in
                    ("packets_in", "bytes_in", "packets_out", "bytes_out")}
        tup = {"srcip": dev[8], "dstip": _server(host), "proto": proto, "srcport": sport,
               "dstport": port, "flowid": flowid(dev[8], _server(host), proto, sport, port)}
        service = {80: "http", 443: "https"}[port]
        self.rows["deviceapptraffic"].append(
            {"devid": dev[0], "ts": start, **tup, **counters, "service": service, "appname": None})
        self.rows["flows"].append({
            "devid": dev[0], "startts": t, "endts": t + timedelta(seconds=self.rng.randrange(1, 90),
                                                                  microseconds=250_000),
            **tup, **counters, "service": service, "server_name": host, "appname": None})
        self.rows["sockets"].append({"devid": dev[0], "ts": t, "appname": "safari", "pid": 412,
                                     **tup})

    def session(self, dev: tuple, t: datetime) -> datetime:
        """One burst of user activity on `dev` starting at `t`; returns its end."""
        n = self.rng.randrange(3, 9)
        referer = None
        for _ in range(n):
            host = self.rng.choice(USER_HOSTS)
            self.dns(dev, t, host, True)
            h_ts = self.micro(t + timedelta(seconds=self.rng.choice([0, 1, 2, 5, 30, 400])))
            self.http(dev, h_ts, host, True, referer)
            referer = f"http://{host}/"
            self.traffic(dev, t, 12)
            self.app_window(dev, t, host, self.rng.choice([80, 443, 443]))
            t = self.micro(t + timedelta(seconds=self.rng.randrange(5, 400)))
        return t

    def device_day(self, dev: tuple, day: datetime) -> None:
        t = day + timedelta(hours=self.rng.randrange(1, 4))
        for _ in range(self.rng.randrange(2, 5)):
            start = self.micro(t)
            end = self.session(dev, start)
            self.rows["gt_foreground"].append({
                "devid": dev[0], "starttime": start, "endtime": end, "appname": "browser",
                "fullscreen": False, "idle": False})
            self.rows["gt_io"].append({"devid": dev[0], "ts": start, "io_device": "keyboard",
                                       "appname": "browser"})
            t = end + timedelta(minutes=self.rng.randrange(20, 240))
        poll = day
        while poll < day + timedelta(hours=16):  # background polling, user or not
            host = self.rng.choice(BACKGROUND_HOSTS)
            self.dns(dev, self.micro(poll), host, False)
            self.http(dev, self.micro(poll + timedelta(seconds=1)), host, False, None)
            poll += timedelta(minutes=self.rng.randrange(40, 120))


def canonical_tables(seed: int = 7, days: int = 2) -> dict[str, pa.Table]:
    """Every canonical table of the hand-made study as an Arrow table (imports excluded)."""
    b = _Builder(seed)
    for uid, username, family, country, tz in USERS:
        b.rows["users"].append({"id": uid, "username": username, "familyname": family,
                                "starttime": START - timedelta(days=3), "country": country,
                                "timezone": tz})
    for dev in DEVICES:
        did, name, login, platform, devtype, os_, shared, users, address = dev
        b.rows["devices"].append({"id": did, "name": name, "login": login, "platform": platform,
                                  "devtype": devtype, "os": os_, "shared": shared})
        b.rows["device_addresses"].append({"devid": did, "address": address})
        for uid in users:
            b.rows["user_devices"].append({"user_id": uid, "device_id": did})
        for d in range(days):
            day = START + timedelta(days=d)
            b.device_day(dev, day)
            b.rows["locations"].append({
                "devid": did, "source": "moves", "entertime": day, "exittime": day + timedelta(hours=9),
                "name": "home, Paris" if did < 20 else "home, London", "loc_id": f"{did}01",
                "loc_name": "home", "lat": 48.85 if did < 20 else 51.5, "lon": 2.35 if did < 20 else -0.12,
                "net_public_ip": "198.51.100.7", "net_asnumber": 3215, "net_asname": "Orange S.A.",
                "street": None, "city": "Paris" if did < 20 else "London",
                "country": "France" if did < 20 else "United Kingdom"})
            b.rows["runningapps"].append({"devid": did, "ts": day, "appname": "browser", "pid": 412,
                                          "memory": 123456789, "cpu": 2.5, "is_foreground": True,
                                          "is_fullscreen": False})
    out = {}
    for name, rows in b.rows.items():
        if name in BOOKKEEPING:
            continue
        schema = TABLES[name].arrow_schema()
        cols = {f.name: [r.get(f.name) for r in rows] for f in schema}
        if "import_id" in cols:  # `load` is the first import of a fresh study
            cols["import_id"] = [1] * len(rows)
        out[name] = pa.Table.from_pydict(cols, schema=schema)
    return out


def load(study: Study, tables: dict[str, pa.Table] | None = None) -> Study:
    """Load the hand-made study into `study` (one atomic import)."""
    tables = tables if tables is not None else canonical_tables()
    study.import_rows("table", "handmade", list(tables.items()), sha256="handmade-study")
    return study
