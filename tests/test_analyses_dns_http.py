"""dns-http against plain-Python references of the corrected attribution and of the original's
walk: edge cases, random event sets (hypothesis) and the summary."""

from __future__ import annotations

from datetime import datetime

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analyses_builders import Builder, at, scratch
from analyses_reference import dns_http as reference
from analyses_reference import original_pairing as original_reference
from ucnstudy.analyses.dns_http import DnsHttpParams, dns_http


def as_rows(df: pd.DataFrame) -> list[tuple]:
    out = []
    for r in df.itertuples(index=False):
        http = None if pd.isna(r.http_ts) else r.http_ts.to_pydatetime()
        query = None if pd.isna(r.query) else r.query
        out.append((int(r.devid), r.dns_ts.to_pydatetime(), query, http))
    return sorted(out, key=lambda r: (r[0], r[1], r[2] or "", r[3] or datetime.min))


def device() -> Builder:
    b = Builder()
    b.user("alice")
    b.device("alice.mac", "alice")
    b.device("alice.phone", "alice")
    return b


def test_newer_resolution_takes_the_request(duck):
    b = device()
    b.dns("alice.mac", at(0), "a.com", ttl=[300])
    b.dns("alice.mac", at(5), "a.com", ttl=[300])   # newer resolution between DNS and HTTP
    b.http("alice.mac", at(8), "a.com")
    b.load(duck)
    got = dns_http(duck, DnsHttpParams())
    assert as_rows(got) == reference(b.rows)
    assert got["http_ts"].isna().tolist() == [True, False]
    assert got["delay_s"].tolist()[1] == 3.0
    # the original walk paired the older response with it, and the newer with nothing
    orig = dns_http(duck, DnsHttpParams(match="original"))
    assert as_rows(orig) == original_reference(b.rows)
    assert orig["delay_s"].tolist()[0] == 8.0 and orig["http_ts"].isna().tolist()[1]


def test_ttl_rules(duck):
    b = device()
    b.dns("alice.mac", at(0), "nottl.com")                      # no answers: always accepted
    b.http("alice.mac", at(5000), "nottl.com")
    b.dns("alice.mac", at(0), "empty.com", ttl=[])              # empty list: accepted
    b.http("alice.mac", at(4000), "empty.com")
    b.dns("alice.mac", at(0), "exact.com", ttl=[10, 1])         # the FIRST ttl, delay == ttl
    b.http("alice.mac", at(10), "exact.com")
    b.dns("alice.mac", at(0), "late.com", ttl=[10])             # 1 µs too late
    b.http("alice.mac", at(10.000001), "late.com")
    b.dns("alice.mac", at(0), None)                             # no query: unmatched
    b.http("alice.mac", at(1), None)
    b.load(duck)
    got = dns_http(duck, DnsHttpParams())
    assert as_rows(got) == reference(b.rows)
    by_query = dict(zip(got["query"].astype(object).where(got["query"].notna(), None),
                        got["delay_s"], strict=True))
    assert by_query["nottl.com"] == 5000.0 and by_query["empty.com"] == 4000.0
    assert by_query["exact.com"] == 10.0
    assert pd.isna(by_query["late.com"]) and pd.isna(by_query[None])


def test_devices_hosts_ties_and_requests_before_dns(duck):
    b = device()
    b.http("alice.mac", at(0), "a.com")                # before any response: attributed to none
    b.dns("alice.mac", at(1), "a.com", ttl=[60])
    b.dns("alice.mac", at(1), "a.com", ttl=[60])       # same instant: one resolution, shared
    b.http("alice.mac", at(1), "a.com")                # at the very instant: at or before
    b.dns("alice.phone", at(1), "a.com", ttl=[60])     # other device: its own requests only
    b.http("alice.phone", at(2), "b.com")              # other host
    b.load(duck)
    got = dns_http(duck, DnsHttpParams())
    assert as_rows(got) == reference(b.rows)
    assert got["delay_s"].tolist()[:2] == [0.0, 0.0] and pd.isna(got["delay_s"].tolist()[2])


def test_summary_counts_and_shares(duck):
    b = device()
    for i in range(4):
        b.dns("alice.mac", at(i * 100), "a.com", ttl=[60])
    b.http("alice.mac", at(1), "a.com")
    b.dns("alice.phone", at(0), "b.com", ttl=[60])
    b.http("alice.phone", at(2), "b.com")
    b.load(duck)
    s = dns_http(duck, DnsHttpParams(summary=True)).set_index("login")
    assert s.loc["alice.mac", ["responses", "matched", "unmatched"]].tolist() == [4, 1, 3]
    assert s.loc["all", ["responses", "matched", "unmatched"]].tolist() == [5, 2, 3]
    assert s.loc["all", "matched_pct"] == 40.0 and s.loc["alice.mac", "unmatched_pct"] == 75.0


events = st.lists(st.tuples(st.integers(0, 60), st.sampled_from(["alice.mac", "alice.phone"]),
                            st.sampled_from(["a.com", "b.com"]), st.booleans(),
                            st.one_of(st.none(), st.integers(0, 20))), max_size=20)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(events=events)
def test_random_event_sets_match_both_references(events):
    b = device()
    for t, login, host, is_dns, ttl in events:
        if is_dns:
            b.dns(login, at(t / 2), host, ttl=None if ttl is None else [ttl])
        else:
            b.http(login, at(t / 2), host)
    study = scratch()
    b.reload(study)
    latest = as_rows(dns_http(study, DnsHttpParams()))
    original = as_rows(dns_http(study, DnsHttpParams(match="original")))
    assert latest == reference(b.rows)
    assert original == original_reference(b.rows)
