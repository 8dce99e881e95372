"""The lifecycle commands as a user runs them: output, effect and one-line errors (DuckDB)."""

from __future__ import annotations

from pathlib import Path

import pytest

from lifecycle_scenario import CORRECTED, build, squid_lines, write
from ucnstudy import open_study
from ucnstudy.cli import main


@pytest.fixture
def study_file(tmp_path: Path) -> tuple[str, dict[str, Path]]:
    url = str(tmp_path / "study.duckdb")
    with open_study(url) as study:
        files = build(study, tmp_path)
    return url, files


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, " ".join(out.split()), err


def test_list_replace_reattribute_remove(study_file, capsys: pytest.CaptureFixture[str]) -> None:
    url, files = study_file
    code, out, _ = run(capsys, "--db", url, "imports")
    assert code == 0
    assert f"2 squid {files['day1']} sha256" in out and "rows: 96 httpreqs" in out
    assert "rows: 4 device_addresses, 4 devices, 5 user_devices, 3 users" in out
    write(files["day1"], "\n".join(squid_lines(40)) + "\n")
    code, out, _ = run(capsys, "--db", url, "import", "squid", "--replace", str(files["day1"]))
    assert code == 0 and "added 40 httpreqs (import 4)" in out
    assert "replaced import(s) 2: removed 96 httpreqs" in out
    write(files["manifest"], CORRECTED)
    code, out, _ = run(capsys, "--db", url, "import", "manifest", "--replace", str(files["manifest"]))
    assert code == 0 and "replaced import(s) 1" in out
    code, out, _ = run(capsys, "--db", url, "reattribute")
    assert code == 0 and "rows moved between devices" in out
    assert "httpreqs: " in out and "from alice.phone to bob.phone" in out
    code, out, _ = run(capsys, "--db", url, "reattribute")
    assert code == 0 and out == "0 rows moved between devices"
    code, out, _ = run(capsys, "--db", url, "imports", "remove", "3")
    assert code == 0 and out == "removed import(s) 3: 48 httpreqs"
    code, out, _ = run(capsys, "--db", url, "users", "remove", "carol")
    assert code == 0 and out.startswith("removed user carol: devices none; 1 users, 1 user_devices")
    assert "shared devices kept for the other users: smith.tablet" in out
    code, out, _ = run(capsys, "--db", url, "import", "squid", str(files["day1"]))
    assert code == 0 and "already imported" in out  # without --replace: idempotent as before


@pytest.mark.parametrize(("args", "message"), [
    (("imports", "remove", "42"), "error: no import with id 42 in this study; `ucn imports` lists them"),
    (("imports", "remove", "1"), "error: import(s) 1 define devices that other imports' rows use"),
    (("users", "remove", "nobody"), "error: no user 'nobody' in this study"),
])
def test_errors_are_one_line(study_file, capsys: pytest.CaptureFixture[str], args: tuple[str, ...],
                             message: str) -> None:
    url, _ = study_file
    code, out, err = run(capsys, "--db", url, *args)
    assert code == 2 and out == "" and err.startswith(message) and len(err.strip().splitlines()) == 1
