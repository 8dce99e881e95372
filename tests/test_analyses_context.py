"""activity-context: devices, overlapping locations (with the user's phones), networks and top
domains per activity, against a plain-Python reading of the definition."""

from __future__ import annotations

from collections import Counter

from analyses_builders import Builder, at
from analyses_reference import activities as reference_activities
from analyses_reference import events as reference_events
from ucnstudy.analyses.activity_context import ActivityContextParams, activity_context


def study(duck) -> Builder:
    b = Builder()
    b.user("neena", "uk")
    b.device("neena.mac", "neena")
    b.device("neena.workpc", "neena", platform="windows-pc", devtype="pc")
    b.device("neena.iphone", "neena", platform="iphone", devtype="phone")
    # activity 1 on the mac at home; activity 2 on the work pc
    for t, host, dom in ((0, "www.bbc.co.uk", "bbc.co.uk"), (60, "news.bbc.co.uk", "bbc.co.uk"),
                         (120, "a.twimg.com", "twimg.com"), (180, "www.bbc.co.uk", "bbc.co.uk")):
        b.dns("neena.mac", at(t), host, query_domain=dom)
    for t in (5000, 5010, 5020):
        b.http("neena.workpc", at(t), "intranet", req_url_domain=None)
    def place(login: str, start: float, end: float, name: str, asname: str | None) -> None:
        b.add("locations", devid=b.dev(login), source="test", entertime=at(start),
              exittime=at(end), name=name, net_asname=asname)
    place("neena.iphone", -1000, 100, "Faraday Road, Nottingham", None)  # the phone: overlaps 1
    place("neena.mac", 180, 900, "Home", "AS5089 Virgin Media")        # touches the end of 1
    place("neena.mac", 181, 900, "Later", "AS1")                       # after activity 1
    place("neena.workpc", 4000, 5005, "Work", "JANET - Jisc Services Limited")
    b.load(duck)
    return b


def test_activity_context(duck):
    b = study(duck)
    got = activity_context(duck, ActivityContextParams(top_domains=2))
    acts = reference_activities(b.rows)
    assert list(got.events) == [a[4] for a in acts] == [4, 3]
    first, second = got.iloc[0], got.iloc[1]
    assert first.devices == "neena.mac"
    assert first.locations == "Faraday Road, Nottingham; Home"
    assert first.networks == "AS5089 Virgin Media"
    evs = reference_events(b.rows)["neena"][:4]
    domains = Counter(h.split(".", 1)[1] if h.startswith(("www.", "news.", "a.")) else h
                      for _, _, _, h in evs)
    assert first.top_domains == ", ".join(f"{d} ({n})" for d, n in domains.most_common(2))
    assert (second.devices, second.locations, second.networks, second.top_domains) == (
        "neena.workpc", "Work", "JANET - Jisc Services Limited", "intranet (3)")
    without_phone = activity_context(duck, ActivityContextParams(with_phones=False))
    assert without_phone.iloc[0].locations == "Home"
