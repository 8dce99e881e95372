"""The pieces of the anonymised export, each against an independent definition: Crypto-PAn's
prefix preservation, URL and name levels, the local-time shift, keys, and the policy's cover."""

from __future__ import annotations

import ipaddress
from dataclasses import replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from privacy_helpers import KEY, OTHER_KEY
from ucnstudy.errors import StudyError, UcnError
from ucnstudy.privacy import KeyFileError, StudyKey, levels, load_key
from ucnstudy.privacy.addresses import Addresses
from ucnstudy.privacy.levels import PRESETS, Levels
from ucnstudy.privacy.places import place_label, snap
from ucnstudy.privacy.policy import policy, rules_for
from ucnstudy.privacy.text import app_category, cut_url, user_agent_family
from ucnstudy.privacy.times import Shifts
from ucnstudy.schema import TABLES, Column, Table

PAN = Addresses(KEY.derive("cryptopan"))


def common_prefix(a: int, b: int, width: int) -> int:
    """Number of leading bits two `width`-bit numbers share (plain definition)."""
    for k in range(width):
        bit = width - 1 - k
        if (a >> bit) & 1 != (b >> bit) & 1:
            return k
    return width


def anon_int(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> int:
    return int(ipaddress.ip_address(PAN.address(str(ip))))


@settings(max_examples=150, deadline=None)
@given(a=st.ip_addresses(v=4), b=st.ip_addresses(v=4))
def test_ipv4_prefixes_are_preserved_exactly(a, b) -> None:
    assert common_prefix(anon_int(a), anon_int(b), 32) == common_prefix(int(a), int(b), 32)


@settings(max_examples=60, deadline=None)
@given(a=st.ip_addresses(v=6), k=st.integers(0, 128), flip=st.integers(0, 2**128 - 1))
def test_ipv6_prefixes_are_preserved_exactly(a, k, flip) -> None:
    """b shares exactly k leading bits with a (or all 128)."""
    if k < 128:
        low = (flip | (1 << (127 - k))) & ((1 << (128 - k)) - 1)
        b = ipaddress.IPv6Address(int(a) ^ low)
    else:
        b = a
    assert common_prefix(int(b), int(a), 128) == k
    assert common_prefix(anon_int(a), anon_int(b), 128) == k


@settings(max_examples=40, deadline=None)
@given(ip=st.ip_addresses())
def test_reverse_dns_names_carry_the_same_anonymised_address(ip) -> None:
    anon = ipaddress.ip_address(PAN.address(str(ip)))
    assert PAN.reverse_name(ip.reverse_pointer) == anon.reverse_pointer
    if ip.version == 4:  # a partial name (a /16 zone) is the prefix of the anonymised address
        partial = ".".join(str(ip).split(".")[:2][::-1]) + ".in-addr.arpa"
        assert PAN.reverse_name(partial) == ".".join(str(anon).split(".")[:2][::-1]) + ".in-addr.arpa"


def test_addresses_are_stable_for_a_key_and_differ_with_another() -> None:
    other = Addresses(OTHER_KEY.derive("cryptopan"))
    again = Addresses(KEY.derive("cryptopan"))
    for text in ("10.8.0.3", "192.168.1.20", "2001:db8::1", "fe80::1"):
        assert PAN.address(text) == again.address(text) != text
        assert other.address(text) != PAN.address(text)
    assert PAN.address("not an address") is None
    assert PAN.reverse_name("www.example.com") is None


URL = "https://bob:secret@www.Example.co.uk:8443/search/q?name=alice&x=1#frag"


@pytest.mark.parametrize(("level", "want"), [
    ("none", None),
    ("domain", "https://example.co.uk/"),
    ("host", "https://www.example.co.uk:8443/"),
    ("path", "https://www.example.co.uk:8443/search/q"),
])
def test_url_levels(level: str, want: str | None) -> None:
    assert cut_url(URL, level, PAN.address) == want


def test_url_hosts_that_are_addresses_are_anonymised() -> None:
    anon = PAN.address("2001:db8::7")
    assert cut_url("http://[2001:db8::7]/a?b=c", "path", PAN.address) == f"http://[{anon}]/a"
    assert cut_url("www.example.com:443", "host", PAN.address) == "www.example.com:443"  # CONNECT
    assert cut_url("/only/a/path?q=1", "path", PAN.address) == "/only/a/path"


@settings(max_examples=200, deadline=None)
@given(host=st.from_regex(r"[a-z]{1,8}(\.[a-z]{2,6}){1,3}", fullmatch=True),
       path=st.from_regex(r"(/[a-z0-9]{0,6}){0,3}", fullmatch=True),
       query=st.from_regex(r"[a-z]{1,5}=[A-Za-z0-9]{4,10}", fullmatch=True),
       level=st.sampled_from(["domain", "host", "path"]))
def test_no_level_keeps_a_query_string(host: str, path: str, query: str, level: str) -> None:
    out = cut_url(f"http://{host}{path}?{query}#top", level, PAN.address)
    assert out is not None and query not in out and "?" not in out and "#" not in out
    assert out.startswith("http://")


def test_user_agents_keep_family_and_major_version() -> None:
    ua = ("Mozilla/5.0 (Windows NT 6.1; WOW64; rv:41.0) Gecko/20100101 Firefox/41.0.2")
    assert user_agent_family(ua) == "Firefox 41 (Windows 7)"
    assert user_agent_family("made-up-agent") == "Other (Other)"


def test_app_names_become_categories() -> None:
    assert [app_category(a) for a in ("firefox.exe", "WINWORD.EXE", "com.google.android.gm",
                                      "explorer.exe", "my-secret-diary")] == \
        ["browser", "office", "mail", "system", "other"]


def test_locations_snap_to_cell_centres_and_keep_labels() -> None:
    cell = 1000 / 111_320
    got = snap(pa.array([48.108023, -1.712409, None]), 1000).to_pylist()
    for value, snapped in zip([48.108023, -1.712409], got[:2], strict=True):
        assert abs(value - snapped) <= cell / 2 + 1e-12
        assert snap(pa.array([snapped]), 1000).to_pylist()[0] == pytest.approx(snapped)
    assert got[2] is None
    assert place_label("home, Rennes") == "home" and place_label("12 Rue de la Paix") is None


@settings(max_examples=100, deadline=None)
@given(when=st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2030, 1, 1)),
       weeks=st.sampled_from([-520, -77, -1, 1, 3, 26, 52, 300]),
       zone=st.sampled_from(["Europe/Paris", "Europe/London", "America/New_York"]))
def test_the_shift_keeps_local_weekday_and_hour(when: datetime, weeks: int, zone: str) -> None:
    shifts = Shifts(users={1: (zone, weeks)})
    got = shifts.apply(pa.array([when], pa.timestamp("us")), pa.array([1]), "user")[0].as_py()
    tz = ZoneInfo(zone)
    local = when.replace(tzinfo=ZoneInfo("UTC")).astimezone(tz).replace(tzinfo=None)
    moved = got.replace(tzinfo=ZoneInfo("UTC")).astimezone(tz).replace(tzinfo=None)
    target = local + timedelta(weeks=weeks)
    if _exists(target, tz):
        assert moved == target  # same local weekday, hour, minute and microsecond
    else:  # the skipped hour of spring: the earliest valid instant after it
        assert moved.weekday() == target.weekday() and abs(moved - target) <= timedelta(hours=1)


def _exists(local: datetime, tz: ZoneInfo) -> bool:
    aware = local.replace(tzinfo=tz)
    return aware.astimezone(ZoneInfo("UTC")).astimezone(tz).replace(tzinfo=None) == local


def test_keys_are_refused_when_missing_empty_or_short(tmp_path) -> None:
    with pytest.raises(KeyFileError, match="--key-file"):
        load_key(None)
    with pytest.raises(KeyFileError, match="no such key file"):
        load_key(tmp_path / "absent.key")
    (tmp_path / "empty.key").write_bytes(b"\n")
    with pytest.raises(KeyFileError, match="empty"):
        load_key(tmp_path / "empty.key")
    (tmp_path / "short.key").write_bytes(b"31 bytes are not quite enough!!")
    with pytest.raises(KeyFileError, match=r"too short \(31 bytes\)"):
        load_key(tmp_path / "short.key")
    (tmp_path / "good.key").write_bytes(KEY.secret + b"\n")
    key = load_key(tmp_path / "good.key")
    assert key == KEY and KEY.secret.decode() not in repr(key) + str(key)
    assert key.fingerprint == KEY.fingerprint != OTHER_KEY.fingerprint
    assert len(key.fingerprint) == 16 and key.fingerprint not in KEY.secret.hex()


ALL_LEVELS = [*PRESETS.values(), Levels(urls="none"), Levels(shift="weeks"), Levels(dns="domain")]


@pytest.mark.parametrize("chosen", ALL_LEVELS, ids=lambda lv: "-".join(map(str, lv.as_dict().values())))
def test_every_column_of_every_table_has_a_rule(chosen: Levels) -> None:
    rules = policy(chosen)
    missing = [f"{t.name}.{c.name}" for t in TABLES.values() for c in t.columns
               if c.name not in rules.get(t.name, {})]
    assert not missing, f"columns without an anonymisation rule (add them to privacy/policy.py): {missing}"
    stale = [f"{t}.{c}" for t, cols in rules.items() for c in cols
             if t not in TABLES or c not in TABLES[t].column_names]
    assert not stale, f"rules for columns the schema does not have: {stale}"
    for t in TABLES.values():  # a removed value must fit its column
        for c in t.columns:
            assert rules[t.name][c.name].action != "removed" or c.nullable, f"{t.name}.{c.name}"


def test_a_column_without_a_rule_stops_the_export(monkeypatch: pytest.MonkeyPatch) -> None:
    users = TABLES["users"]
    grown = Table(users.name, users.doc, (*users.columns, Column("email", "string", "new")))
    monkeypatch.setitem(TABLES, "users", grown)
    with pytest.raises(StudyError, match=r"no anonymisation rule for users\.email"):
        rules_for(policy(Levels()), "users")


def test_levels_are_validated() -> None:
    assert levels("strict").dns == "domain" and levels("standard", urls="path").urls == "path"
    for bad in (dict(urls="all"), dict(dns="x"), dict(shift="days"), dict(grid_m=0.5)):
        with pytest.raises(UcnError):
            levels(**bad)
    with pytest.raises(UcnError, match="--level must be one of strict, standard, detailed"):
        levels("paranoid")
    assert replace(Levels(), grid_m=10.0).grid_m == 10.0
    assert StudyKey(b"x" * 32).derive("a") != StudyKey(b"x" * 32).derive("b")


URLS = st.builds(
    lambda scheme, user, host, port, path, query: f"{scheme}{user}{host}{port}{path}{query}",
    scheme=st.sampled_from(["http://", "https://", "HTTP://", "", "ftp://"]),
    user=st.sampled_from(["", "bob@", "bob:pw@"]),
    host=st.sampled_from(["www.Example.co.uk", "martin-pc.home", "10.8.0.3", "[2001:db8::7]",
                          "a.b.c.example.com", "wpad", ""]),
    port=st.sampled_from(["", ":8080", ":443", ":"]),
    path=st.from_regex(r"(/[a-zA-Z0-9%.~-]{0,5}){0,3}", fullmatch=True),
    query=st.sampled_from(["", "?q=martin", "?a=1&b=2#frag", "#top"]),
)


@settings(max_examples=60, deadline=None)
@given(urls=st.lists(st.one_of(URLS, st.none()), min_size=1, max_size=8),
       level=st.sampled_from(["none", "domain", "host", "path"]))
def test_the_vectorised_urls_equal_the_one_by_one_definition(urls: list[str | None], level: str) -> None:
    from ucnstudy.privacy.transformer import Transformer

    tx = Transformer(KEY, Levels(urls=level))
    tx.learn_people(pa.table({"username": ["martin"], "familyname": ["martin"]}),
                    pa.table({"login": ["martin.pc"]}))
    want = [None if u is None else tx.scrub(cut_url(u, level, tx._address)) for u in urls]
    assert tx.url(pa.array(urls, pa.string())).to_pylist() == want
