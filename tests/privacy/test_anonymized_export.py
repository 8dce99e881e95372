"""The anonymised export of a small demo study (plus rows with IPv6 addresses, a street, URL
queries and a reverse-DNS lookup): nothing identifying is left in any file, the analyses give
the original answers after mapping pseudonyms back, the export is stable for a key."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from engine_compare import as_arrow, assert_same_result
from handmade_study import load
from privacy_helpers import KEY, OTHER_KEY, pseudonym_map, scan, study_secrets, unmask
from ucnstudy import Study, open_study
from ucnstudy.analyses import ANALYSES
from ucnstudy.cli import main
from ucnstudy.demo import DemoParams, generate_demo
from ucnstudy.errors import StudyError
from ucnstudy.inference.report_section import inference_report_section
from ucnstudy.privacy import Levels, export_anonymized, levels, privacy_manifest
from ucnstudy.schema import TABLES
from ucnstudy.store.export import MANIFEST, export_study
from ucnstudy.store.fetch import to_arrow

DEMO = DemoParams(users=3, days=2, seed=3)
T0 = datetime(2015, 10, 12, 9, 0)
V6_DEVICE, V6_SERVER = "2001:db8:85a3::8a2e:370:7334", "2001:db8::42"
SECRET_URL = "http://[2001:db8::42]/login?user=martin&token=s3cr3tvalue"
# What the demo alone does not have: IPv6, a street, queries, a PTR lookup, a username in a name.
EXTRA = {
    "device_addresses": [{"devid": 1, "address": V6_DEVICE}],
    "locations": [{"devid": 1, "source": "moves", "entertime": T0, "exittime": T0 + timedelta(hours=1),
                   "name": "12 Rue de la Paix, Saint-Malo", "loc_id": "g-123", "loc_name": "Chez Martin",
                   "lat": 48.8686, "lon": 2.3317, "net_public_ip": "2a01:cb00:1234::1",
                   "street": "12 Rue de la Paix", "city": "Saint-Malo", "country": "France"}],
    "httpreqs": [{"devid": 1, "source": "demo", "ts": T0, "req_method": "GET", "req_url": SECRET_URL,
                  "req_url_host": V6_SERVER, "req_url_domain": V6_SERVER,
                  "req_url_path": "/login?user=martin&token=s3cr3tvalue",
                  "req_referer": "https://www.example.com/search?q=martin+home&client=ff",
                  "srcip": V6_DEVICE, "dstip": V6_SERVER, "proto": 6, "srcport": 50000, "dstport": 80}],
    "dnsreqs": [{"devid": 1, "ts": T0, "srcip": "10.8.0.3", "dstip": "10.8.0.1", "proto": 17,
                 "srcport": 5353, "dstport": 53, "query": "3.0.8.10.in-addr.arpa", "query_type": 12,
                 "ans_type": [12], "ans_name": ["3.0.8.10.in-addr.arpa"],
                 "ans_addr": ["martin-laptop.home"], "ans_ttl": [60]}],
}


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Study]:
    study = open_study(tmp_path_factory.mktemp("anon") / "source.duckdb")
    study.create_schema()
    generate_demo(study, DEMO)
    study.import_rows("table", "privacy-extra", [(t, pa.Table.from_pylist(rows))
                                                 for t, rows in EXTRA.items()], sha256="privacy-extra")
    yield study
    study.close()


@pytest.fixture(scope="module")
def exports(source: Study, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("anon-out")
    return {
        "parquet": export_anonymized(source, root / "shared", KEY).path,
        "duckdb": export_anonymized(source, root / "shared.duckdb", KEY).path,
    }


@pytest.mark.parametrize("form", ["parquet", "duckdb"])
def test_no_identifier_of_the_source_is_left_in_any_file(source: Study, exports: dict[str, Path],
                                                         form: str) -> None:
    secrets = study_secrets(source)
    assert {"martin", "smith.wife.iphone", "12 Rue de la Paix", "Saint-Malo", "token=s3cr3tvalue",
            "3.0.8.10.in-addr.arpa", V6_DEVICE, "10.8.0.3", "winword.exe"} \
        <= secrets.names | secrets.queries | secrets.addresses
    assert scan(exports[form], secrets) == []
    files = [exports[form]] if exports[form].is_file() else list(exports[form].rglob("*.*"))
    for path in files:  # nor the key, in any form
        data = path.read_bytes()
        assert KEY.secret not in data and KEY.secret.hex().encode() not in data


def test_the_scanner_finds_the_originals_in_a_plain_export(source: Study, tmp_path: Path) -> None:
    plain = export_study(source, tmp_path / "plain").path
    hits = " ".join(scan(plain, study_secrets(source)))
    for secret in ("users.username: martin", "token=s3cr3tvalue", V6_DEVICE, "12 Rue de la Paix",
                   "3.0.8.10.in-addr.arpa", "devices.login: smith.wife.iphone",
                   "gt_foreground.appname: winword.exe"):
        assert secret in hits


def test_kept_text_names_no_one_and_addresses_stay_consistent(exports: dict[str, Path]) -> None:
    with open_study(exports["duckdb"], read_only=True) as anon:
        dev = to_arrow(anon.table("device_addresses"))
        http = to_arrow(anon.table("httpreqs").filter(anon.table("httpreqs").srcip.contains(":")))
        dns = to_arrow(anon.table("dnsreqs").filter(anon.table("dnsreqs").query_type == 12))
    v6 = [a for a in dev["address"].to_pylist() if ":" in a]
    assert http["srcip"].to_pylist() == v6  # the same address in two tables, the same form
    assert http["req_url"][0].as_py().startswith("http://[") and "?" not in http["req_url"][0].as_py()
    assert http["req_url_path"][0].as_py() is None  # level urls=host
    assert dns["query"][0].as_py().endswith(".in-addr.arpa")
    assert dns["ans_addr"][0].as_py()[0].startswith("user-") and \
        dns["ans_addr"][0].as_py()[0].endswith("-laptop.home")


def _analyses_on(anon: Study, source: Study) -> set[str]:
    """Run every analysis on both; assert equality after mapping back; return the refused ones."""
    mapping = pseudonym_map(source)
    refused = set()
    for name, analysis in sorted(ANALYSES.items()):
        want = as_arrow(analysis.run(source))
        try:
            got = as_arrow(analysis.run(anon))
        except StudyError as exc:
            assert "needs" in str(exc) and "anonymised study" in str(exc), name
            refused.add(name)
            continue
        assert want.num_rows > 0, name
        assert_same_result(unmask(got, mapping), want, f"{name} on the anonymised study")
    return refused


def test_analyses_give_the_original_answers(source: Study, exports: dict[str, Path]) -> None:
    """The DuckDB form here; the Parquet form on Spark in tests/test_engines_equality.py."""
    with open_study(exports["duckdb"], read_only=True) as anon:
        refused = _analyses_on(anon, source)
    # they need req_ua, locations.name, req_ua (activity-qoe's user_agents column)
    assert refused == {"user-agents", "activity-context", "activity-qoe"}


def test_evaluate_gives_the_original_answers(source: Study, exports: dict[str, Path]) -> None:
    from ucnstudy.inference.evaluation import EvaluationParams, evaluate_study

    params = EvaluationParams(windows=(0,), learned=False, day_tolerances=(900,))
    want = evaluate_study(source, params)
    with open_study(exports["duckdb"], read_only=True) as anon:
        got = evaluate_study(anon, params)
    mapping = pseudonym_map(source)
    for part in ("comparison", "days", "absence"):
        w = as_arrow(getattr(want, part))
        assert w.num_rows > 0, part
        assert_same_result(unmask(as_arrow(getattr(got, part)), mapping), w, f"evaluate {part}")


def _rows(root: Path, table: str, by: list[str]) -> list[dict]:
    return pq.read_table(root / table).sort_by([(c, "ascending") for c in by]).to_pylist()


def test_same_key_same_export_another_key_another(source: Study, exports: dict[str, Path],
                                                  tmp_path: Path) -> None:
    again = export_anonymized(source, tmp_path / "again", KEY).path
    other = export_anonymized(source, tmp_path / "other", OTHER_KEY).path
    for table, by in (("users", ["id"]), ("devices", ["id"]), ("device_addresses", ["devid", "address"]),
                      ("locations", ["devid", "entertime"]), ("dnsreqs", ["devid", "ts", "srcport"])):
        assert _rows(again, table, by) == _rows(exports["parquet"], table, by), table
    first, third = _rows(exports["parquet"], "users", ["id"]), _rows(other, "users", ["id"])
    assert not {u["username"] for u in first} & {u["username"] for u in third}
    ips = lambda root: {r["address"] for r in _rows(root, "device_addresses", ["devid"])}  # noqa: E731
    assert not ips(exports["parquet"]) & ips(other)
    assert [u["country"] for u in first] == [u["country"] for u in third]  # kept as is
    manifests = [json.loads((p / MANIFEST).read_text())["privacy"] for p in (again, other)]
    assert manifests[0]["key_fingerprint"] == KEY.fingerprint != manifests[1]["key_fingerprint"]


def test_the_manifest_says_what_happened_to_every_column(exports: dict[str, Path]) -> None:
    from_dir = json.loads((exports["parquet"] / MANIFEST).read_text())
    with open_study(exports["duckdb"], read_only=True) as anon:
        from_file = privacy_manifest(anon)
    assert from_dir["privacy"] == from_file and "source" not in from_dir
    tables = from_file["tables"]
    assert {t: set(cols) for t, cols in tables.items()} == \
        {t.name: set(t.column_names) for t in TABLES.values()}
    assert tables["users"]["username"]["action"] == "pseudonymised"
    assert tables["locations"]["street"]["action"] == "removed"
    assert tables["dnsreqs"]["ans_addr"]["action"] == "kept"  # level dns=full, addresses Crypto-PAn
    assert from_file["levels"] == Levels().as_dict() and from_file["key_fingerprint"] == KEY.fingerprint


def test_shifted_times_keep_the_weekly_rhythm(source: Study, tmp_path: Path) -> None:
    shifted = export_anonymized(source, tmp_path / "shifted.duckdb", KEY, levels(shift="weeks")).path
    mapping = pseudonym_map(source)
    with open_study(shifted, read_only=True) as anon:
        for name in ("heatmap", "inter-event", "user-summary"):
            want = as_arrow(ANALYSES[name].run(source))
            assert_same_result(unmask(as_arrow(ANALYSES[name].run(anon)), mapping), want, name)
        got = to_arrow(anon.table("users").order_by("id"))["starttime"].to_pylist()
        imports = to_arrow(anon.table("imports"))
    assert imports["imported_at"].null_count == imports.num_rows > 0  # would date the study
    want = to_arrow(source.table("users").order_by("id"))["starttime"].to_pylist()
    for g, w in zip(got, want, strict=True):
        days = (g - w).total_seconds() / 86400
        assert abs(days) >= 6 and (round(days) % 7 == 0) and abs(days - round(days)) < 1 / 24 + 1e-9


def test_strict_level_cuts_names_and_analyses_say_what_they_miss(source: Study, tmp_path: Path) -> None:
    strict = export_anonymized(source, tmp_path / "strict.duckdb", KEY, levels("strict")).path
    with open_study(strict, read_only=True) as anon:
        dns = to_arrow(anon.table("dnsreqs").filter(anon.table("dnsreqs").query_type != 12))
        http = to_arrow(anon.table("httpreqs"))
        with pytest.raises(StudyError, match=r"dns-http needs dnsreqs\.query \(coarsened: level dns=domain"):
            ANALYSES["dns-http"].run(anon)
        want = as_arrow(ANALYSES["user-summary"].run(source))
        got = unmask(as_arrow(ANALYSES["user-summary"].run(anon)), pseudonym_map(source))
        section = inference_report_section(anon)  # the report says why instead of failing
    assert_same_result(got, want, "user-summary, strict")
    assert section.error.startswith("evaluate needs dnsreqs.query")
    for query, domain in zip(dns["query"].to_pylist(), dns["query_domain"].to_pylist(), strict=True):
        assert query == (domain or query.rsplit(".", 1)[-1])  # wpad.home -> home
    assert http["req_url_path"].null_count == http.num_rows


def test_cli_anonymized_export(duck: Study, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    load(duck)
    db = str(duck.url.target)
    duck.close()
    key = tmp_path / "study.key"
    key.write_bytes(KEY.secret)
    out = tmp_path / "shared.duckdb"
    args = ["--db", db, "export", "--anonymize", "--key-file", str(key), "--to", str(out)]
    assert main([*args, "--level", "strict", "--grid", "2000"]) == 0
    printed = capsys.readouterr()
    text = " ".join(printed.out.split())
    assert KEY.fingerprint in text and "grid_m=2000.0" in text and f"--db {out}" in text
    assert KEY.secret.decode() not in printed.out + printed.err
    assert main(args) == 2 and "already exists" in capsys.readouterr().err
    assert main(["--db", str(out), "info"]) == 0
    info = " ".join(capsys.readouterr().out.split())
    assert ("anonymised export: levels urls=domain, dns=domain, grid_m=2000.0, shift=weeks; "
            f"key fingerprint {KEY.fingerprint}") in info
    assert "street" in info and "removed" in info
    key.write_bytes(b"short")
    assert main([*args, "--overwrite"]) == 2
    err = capsys.readouterr().err
    assert "too short (5 bytes)" in " ".join(err.split()) and len(err.strip().splitlines()) == 1
    assert main(["--db", db, "export", "--anonymize", "--to", str(tmp_path / "x")]) == 2
    assert "--key-file" in capsys.readouterr().err
