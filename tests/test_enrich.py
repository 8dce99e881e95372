"""Enrichment: each derived column against a plain-Python reference of its definition."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ucnstudy import Study
from ucnstudy.cli import main
from ucnstudy.enrich import EnrichOptions, enrich_study
from ucnstudy.enrich import run as enrich_run
from ucnstudy.enrich.domains import psl_version, split_host
from ucnstudy.enrich.duplicate import flag_duplicates
from ucnstudy.enrich.flags import BackgroundHosts, combine_user_flag, matches_ctype
from ucnstudy.enrich.services import service_name, service_names
from ucnstudy.enrich.session import transaction
from ucnstudy.errors import InputError

T0 = dt.datetime(2024, 3, 1, 12, 0, 0)
ORIGINAL_PATTERNS = ("gsp1.apple.com", "init-p01st.push.apple.com", "doubleclick.net", "smartadserver.com",
                     "pixel.quantserve.com", "static.ess.apple.com", "go.microsoft.com/fwlink",
                     "dmd.metaservices.microsoft.com", "windowsupdate.com")


def at(seconds: float) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)


# -- domains and services ---------------------------------------------------------------------

@pytest.mark.parametrize(("host", "expected"), [
    ("www.bbc.co.uk", ("bbc.co.uk", "co.uk")),
    ("news.example.com.au", ("example.com.au", "com.au")),
    ("a.b.c.example.co.jp", ("example.co.jp", "co.jp")),
    ("WWW.Example.COM.", ("example.com", "com")),
    ("co.uk", (None, "co.uk")),
    ("localhost", (None, None)),
    ("printer.local", (None, None)),
    ("192.168.0.1", (None, None)),
    ("2001:db8::1", (None, None)),
    ("", (None, None)),
    (None, (None, None)),
])
def test_split_host_uses_the_public_suffix_list(host: str | None, expected: tuple) -> None:
    assert split_host(host) == expected


def test_bundled_psl_is_dated() -> None:
    assert psl_version().startswith("20")


@given(st.text(max_size=60))
def test_split_host_never_fails_and_nests(host: str) -> None:
    domain, suffix = split_host(host)
    if domain is not None:
        assert suffix is not None and domain.endswith("." + suffix)
        assert host.strip().strip("[]").rstrip(".").lower().endswith(domain)


def test_service_names_from_the_bundled_snapshot() -> None:
    assert service_name(443, 6) == "https"
    assert service_name(443, "udp") == "https"
    assert service_name(53, 17) == "domain"
    assert service_name(80, "tcp") == "http"
    assert service_name(1900, 17) == "ssdp"
    assert service_name(40000, 6) is None
    assert service_name(80, "icmp") is None
    assert service_name(None, 6) is None


@given(st.lists(st.tuples(st.one_of(st.none(), st.integers(0, 70000)),
                          st.one_of(st.none(), st.sampled_from([1, 6, 17, 132]))), max_size=40))
def test_vectorised_service_names_equal_scalar_lookups(pairs: list[tuple[int | None, int | None]]) -> None:
    ports = [p for p, _ in pairs]
    protos = [q for _, q in pairs]
    expected = [service_name(p, q) for p, q in pairs]
    assert service_names(pa.array(ports, pa.int32()), pa.array(protos, pa.int32())).to_pylist() == expected


# -- flags ------------------------------------------------------------------------------------

def test_bundled_list_has_the_original_patterns() -> None:
    patterns = {p.host + (p.path_prefix or "") for p in BackgroundHosts.bundled().patterns}
    assert set(ORIGINAL_PATTERNS) <= patterns


@pytest.mark.parametrize(("host", "path", "listed"), [
    ("ad.doubleclick.net", "/x", True),
    ("doubleclick.net", "/", True),
    ("notdoubleclick.net", "/", False),
    ("windowsupdate.com.example", "/", False),  # bug 18: the original's regex was unanchored
    ("go.microsoft.com", "/fwlink/?LinkId=1", True),
    ("go.microsoft.com", "/download", False),
    ("www.wikipedia.org", "/", False),
])
def test_background_hosts_match_on_label_boundaries(host: str, path: str, listed: bool) -> None:
    assert BackgroundHosts.bundled().url_matches(host, path) is listed


labels = st.text("abcxyz-0", min_size=1, max_size=4)
names = st.lists(labels, min_size=1, max_size=4).map(".".join)


@given(st.lists(names, min_size=1, max_size=5), names)
def test_host_match_equals_the_label_suffix_definition(patterns: list[str], host: str) -> None:
    hosts = BackgroundHosts.parse(patterns)
    expected = any(host == p or host.endswith("." + p) for p in patterns)
    assert hosts.host_matches(host) is expected


@given(st.lists(st.text(max_size=30), max_size=8))
def test_background_list_parser_accepts_or_names_the_line(lines: list[str]) -> None:
    try:
        hosts = BackgroundHosts.parse(lines, "list.txt")
    except InputError as exc:
        assert str(exc).startswith("list.txt, line ")
        return
    host_only = [p.host for p in hosts.patterns if p.path_prefix is None]
    for pattern in hosts.patterns:
        assert hosts.host_matches(pattern.host) is any(
            pattern.host == h or pattern.host.endswith("." + h) for h in host_only)


def test_background_list_errors_name_the_line(tmp_path: Path) -> None:
    bad = tmp_path / "hosts.txt"
    bad.write_text("# ok\nexample.com\n*.bad.com\n")
    with pytest.raises(InputError, match=r"hosts.txt, line 3"):
        BackgroundHosts.from_file(bad)


def test_ctype_and_user_flag_semantics() -> None:
    assert matches_ctype("http://a.com/x.JS") is True
    assert matches_ctype("http://a.com/lib.js?v=2", "/lib.js") is True
    assert matches_ctype("http://a.com/page", "/page", "image/png") is True
    assert matches_ctype("http://a.com/page", "/page", "text/html") is False
    assert matches_ctype(None, None, None) is None
    assert combine_user_flag(None, False) is True
    assert combine_user_flag(None, True) is False
    assert combine_user_flag(None, None) is None


# -- enrich_study on every engine -------------------------------------------------------------

DNS = [  # devid, seconds, query
    (1, 0, "www.bbc.co.uk"), (1, 10, "ad.doubleclick.net"), (1, 20, "x.example.com"),
    (2, 0, "www.bbc.co.uk"), (1, 30, None), (1, 500, "www.bbc.co.uk"), (1, 1000, "cdn.example.com"),
]
HTTP = [  # devid, seconds, host, path, mimetype, referer
    (1, 60, "www.bbc.co.uk", "/news", "text/html", None),         # 60 s after DNS at 0: duplicate
    (1, 10, "ad.doubleclick.net", "/pixel", None, "http://www.bbc.co.uk/news"),
    (1, 561, "www.bbc.co.uk", "/sport", "text/html", None),       # 61 s after 500: not duplicate
    (1, 1000, "cdn.example.com", "/app.css", "text/css", None),   # same instant: duplicate
    (1, 20, "go.microsoft.com", "/fwlink/", None, None),
    (2, 70, "static.example.org", "/img", "image/png", None),
    (1, 90, None, None, None, None),
]


def load_events(study: Study) -> None:
    dns = pa.table({"devid": [d for d, _, _ in DNS], "ts": [at(s) for _, s, _ in DNS],
                    "query": [q for _, _, q in DNS]})
    http = pa.table({
        "devid": [r[0] for r in HTTP], "ts": [at(r[1]) for r in HTTP],
        "req_url": [f"http://{r[2]}{r[3]}" if r[2] else None for r in HTTP],
        "req_url_host": [r[2] for r in HTTP], "req_url_path": [r[3] for r in HTTP],
        "res_mimetype": [r[4] for r in HTTP], "req_referer": [r[5] for r in HTTP],
    })
    flows = pa.table({"devid": [1, 1, 1], "startts": [T0] * 3, "endts": [T0] * 3,
                      "dstport": [443, 53, 40000], "proto": [6, 17, 6], "service": ["bogus", None, "bogus"]})
    study.import_rows("test", "events", [("dnsreqs", dns), ("httpreqs", http), ("flows", flows)],
                      sha256="events")


def expected_dns(adblocked: set[str]) -> list[dict]:
    hosts = BackgroundHosts.bundled()
    rows = []
    for devid, sec, query in DNS:
        dup = query is not None and any(d == devid and h == query and sec <= s <= sec + 60
                                        for d, s, h, *_ in HTTP)
        blacklist = hosts.host_matches(query)
        easylist = None if query is None or not adblocked else any(
            query == a or query.endswith("." + a) for a in adblocked)
        domain, suffix = split_host(query)
        rows.append({"devid": devid, "ts": at(sec), "query": query, "query_domain": domain,
                     "query_tld": suffix, "matches_blacklist": blacklist, "matches_easylist": easylist,
                     "user_req": combine_user_flag(blacklist, easylist), "duplicate": dup})
    return rows


def sorted_rows(study: Study, table: str, columns: list[str]) -> list[dict]:
    rows = study.table(table).select(*columns).to_pyarrow().to_pylist()
    return sorted(rows, key=lambda r: tuple(str(r[c]) for c in columns))


def test_enrich_matches_reference_on_every_engine(any_study: Study) -> None:
    load_events(any_study)
    enrich_study(any_study)
    columns = list(expected_dns(set())[0])
    assert sorted_rows(any_study, "dnsreqs", columns) == sorted(
        expected_dns(set()), key=lambda r: tuple(str(r[c]) for c in columns))
    hosts = BackgroundHosts.bundled()
    expected_http = []
    for devid, sec, host, path, mime, _ in HTTP:
        url = f"http://{host}{path}" if host else None
        ctype, listed = matches_ctype(url, path, mime), hosts.url_matches(host, path)
        expected_http.append({"devid": devid, "ts": at(sec), "req_url_domain": split_host(host)[0],
                              "matches_ctypefilter": ctype, "matches_urlblacklist": listed,
                              "matches_easylist": None, "user_url": combine_user_flag(ctype, listed)})
    http_columns = list(expected_http[0])
    assert sorted_rows(any_study, "httpreqs", http_columns) == sorted(
        expected_http, key=lambda r: tuple(str(r[c]) for c in http_columns))
    services = any_study.table("flows").order_by("dstport").service.to_pyarrow().to_pylist()
    assert services == ["domain", "https", None]


def test_adblock_lists_are_optional_and_kept(any_study: Study, tmp_path: Path) -> None:
    easylist = tmp_path / "easylist.txt"
    easylist.write_text("[Adblock Plus 2.0]\n! a comment\n||example.com^\n")
    load_events(any_study)
    enrich_study(any_study, [easylist])
    columns = list(expected_dns(set())[0])
    key = lambda r: tuple(str(r[c]) for c in columns)  # noqa: E731
    assert sorted_rows(any_study, "dnsreqs", columns) == sorted(expected_dns({"example.com"}), key=key)
    http = {(r["req_url_host"], r["matches_easylist"], r["user_url"]) for r in
            sorted_rows(any_study, "httpreqs", ["req_url_host", "matches_easylist", "user_url"])}
    assert ("cdn.example.com", True, False) in http and ("www.bbc.co.uk", False, True) in http
    enrich_study(any_study)  # without lists the earlier verdicts stay
    assert sorted_rows(any_study, "dnsreqs", columns) == sorted(expected_dns({"example.com"}), key=key)
    enrich_study(any_study, options=EnrichOptions(clear_adblock=True))
    assert sorted_rows(any_study, "dnsreqs", columns) == sorted(expected_dns(set()), key=key)


def test_rerun_changes_nothing_and_failure_changes_nothing(duck: Study, monkeypatch: pytest.MonkeyPatch
                                                           ) -> None:
    load_events(duck)
    enrich_study(duck)
    before = duck.table("dnsreqs").to_pyarrow()
    again = enrich_study(duck)
    path_rows = sum(1 for r in HTTP if r[2] == "go.microsoft.com")  # host/path rows are rewritten
    assert sum(again.changed.values()) == path_rows
    duck.engine.raw.execute("UPDATE dnsreqs SET duplicate = NULL, user_req = NULL")

    def fail(*_args: object) -> int:
        raise RuntimeError("disk full")

    monkeypatch.setattr(enrich_run, "flag_duplicates", fail)
    with pytest.raises(RuntimeError):
        enrich_study(duck)
    nulls = duck.table("dnsreqs").filter(lambda t: t.user_req.isnull()).count().execute()
    assert nulls == len(DNS)  # the rewritten user_req of the failed run was rolled back
    monkeypatch.undo()
    enrich_study(duck)
    assert duck.table("dnsreqs").to_pyarrow().sort_by("ts").equals(before.sort_by("ts"))


events = st.lists(st.tuples(st.integers(1, 2), st.integers(0, 200),
                            st.sampled_from(["a.com", "b.org", None])),
                  max_size=25)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(dns=events, http=events, window=st.sampled_from([0, 1, 60]))
def test_duplicate_equals_brute_force(duck: Study, dns: list, http: list, window: int) -> None:
    duck.reset()
    duck.import_rows("test", "x", [
        ("dnsreqs", pa.table({"devid": [d for d, _, _ in dns], "ts": [at(s) for _, s, _ in dns],
                              "query": [q for _, _, q in dns]},
                             schema=pa.schema([("devid", pa.int64()), ("ts", pa.timestamp("us")),
                                               ("query", pa.string())]))),
        ("httpreqs", pa.table({"devid": [d for d, _, _ in http], "ts": [at(s) for _, s, _ in http],
                               "req_url_host": [h for _, _, h in http]},
                              schema=pa.schema([("devid", pa.int64()), ("ts", pa.timestamp("us")),
                                                ("req_url_host", pa.string())]))),
    ], sha256="x")
    enrich_study(duck, options=EnrichOptions(duplicate_window_s=window))
    got = sorted((r["devid"], r["ts"], str(r["query"]), r["duplicate"]) for r in
                 duck.table("dnsreqs").to_pyarrow().to_pylist())
    expected = sorted((d, at(s), str(q), q is not None and any(
        hd == d and hh == q and s <= hs <= s + window for hd, hs, hh in http)) for d, s, q in dns)
    assert got == expected


def test_cli_enrich(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = str(tmp_path / "cli.duckdb")
    easylist = tmp_path / "list.txt"
    easylist.write_text("||doubleclick.net^\n")
    assert main(["--db", db, "enrich", "--adblock", str(easylist)]) == 0
    assert "Public Suffix List" in capsys.readouterr().out


flags = st.sampled_from([None, True, False])


near = st.lists(st.tuples(st.integers(1, 2), st.integers(0, 12), st.sampled_from(["a.com", "b.org", None])),
                max_size=25)  # close times: ties and window edges are common


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(dns=st.lists(st.tuples(st.integers(1, 2), st.integers(0, 12),
                              st.sampled_from(["a.com", "b.org", None]), flags), max_size=25),
       http=near, window=st.sampled_from([0, 0.5, 1, 5]))
def test_duckdb_asof_duplicates_equal_the_exists_definition(duck: Study, dns: list, http: list,
                                                             window: float) -> None:
    """The ASOF join DuckDB runs flags the rows the portable EXISTS statements flag, and counts
    the same changes, from any earlier flags."""
    duck.reset()
    duck.import_rows("test", "x", [
        ("dnsreqs", pa.table({"devid": [d for d, *_ in dns], "ts": [at(s) for _, s, _, _ in dns],
                              "query": [q for _, _, q, _ in dns], "duplicate": [f for *_, f in dns]},
                             schema=pa.schema([("devid", pa.int64()), ("ts", pa.timestamp("us")),
                                               ("query", pa.string()), ("duplicate", pa.bool_())]))),
        ("httpreqs", pa.table({"devid": [d for d, _, _ in http],
                               "ts": [at(s + 0.5 * (s % 2)) for _, s, _ in http],  # on and between seconds
                               "req_url_host": [h for _, _, h in http]},
                              schema=pa.schema([("devid", pa.int64()), ("ts", pa.timestamp("us")),
                                                ("req_url_host", pa.string())]))),
    ], sha256="x")
    schema = pa.schema([("devid", pa.int64()), ("ts", pa.timestamp("us")), ("query", pa.string()),
                        ("duplicate", pa.bool_())])

    def flagged(portable: bool) -> tuple[int, list[dict]]:
        """Changes and flags of one way, in a transaction rolled back (both start alike)."""
        try:
            with transaction(duck) as session:
                changed = flag_duplicates(session, window, portable=portable)
                rows = session.fetch_arrow("SELECT devid, ts, query, duplicate FROM dnsreqs ORDER BY ALL",
                                           schema)
                raise _Outcome(changed, rows.to_pylist())
        except _Outcome as outcome:
            return outcome.args
        raise AssertionError("unreachable")

    assert flagged(portable=False) == flagged(portable=True)


class _Outcome(Exception):
    """Carries a result out of a transaction that it rolls back."""
