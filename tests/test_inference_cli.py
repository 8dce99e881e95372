"""`ucn evaluate` in-process on a small study with planted ground truth."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from inference_scenario import load_scenario, scenario
from ucnstudy import open_study
from ucnstudy.cli import main
from ucnstudy.inference.configs import original_configs


@pytest.fixture(scope="module")
def study_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("inference") / "study.duckdb"
    with open_study(path) as study:
        study.create_schema()
        load_scenario(study, scenario(devices=3, days=2, seed=1))
    return path


def test_csv_has_one_row_per_config_and_device_plus_all(study_path: Path, tmp_path: Path, capsys):
    out = tmp_path / "eval.csv"
    assert main(["--db", str(study_path), "evaluate", "--format", "csv", "--out", str(out),
                 "--windows", "0", "--learned-folds", "2"]) == 0
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    assert list(rows[0]) == ["config", "device", "tp", "fp", "fn", "tn", "precision", "recall", "f1"]
    configs = {r["config"] for r in rows}
    assert {c.name for c in original_configs(0)} <= configs
    assert {"ucn/filters", "ucn/learned"} <= configs
    for config in configs:
        devices = [r["device"] for r in rows if r["config"] == config]
        assert devices == ["ann.dev1", "ann.dev2", "ann.dev3", "all"]
        mine = [r for r in rows if r["config"] == config]
        for col in ("tp", "fp", "fn", "tn"):
            assert sum(int(r[col]) for r in mine[:-1]) == int(mine[-1][col])
        tp, fp = int(mine[-1]["tp"]), int(mine[-1]["fp"])
        assert float(mine[-1]["precision"]) == pytest.approx(tp / (tp + fp))


def test_json_and_text(study_path: Path, capsys):
    assert main(["--db", str(study_path), "evaluate", "--format", "json", "--no-learned",
                 "--windows", "0", "--tolerance", "0"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["params"]["tolerance"] == 0
    assert {"comparison", "days", "absence", "best"} <= set(data)
    assert main(["--db", str(study_path), "evaluate", "--no-learned", "--windows", "0"]) == 0
    text = capsys.readouterr().out
    assert "original/filtered/W=0" in text and "best ucnstudy" in text


def test_bad_options_and_missing_ground_truth(tmp_path: Path, capsys):
    assert main(["--db", str(tmp_path / "x.duckdb"), "evaluate", "--format", "xml"]) == 2
    assert "--format" in capsys.readouterr().err
    empty = tmp_path / "empty.duckdb"
    with open_study(empty) as s:
        s.create_schema()
    assert main(["--db", str(empty), "evaluate"]) == 2
    assert "no ground truth" in capsys.readouterr().err


def test_report_section_only_with_ground_truth(study_path: Path, tmp_path: Path):
    from ucnstudy.inference.configs import UcnParams
    from ucnstudy.inference.evaluation import EvaluationParams
    from ucnstudy.inference.report_section import inference_report_section

    with open_study(study_path, read_only=True) as study:
        params = EvaluationParams(windows=(0,), ucn=UcnParams(learned_folds=2))
        content = inference_report_section(study, params)
    assert content is not None and content.error is None
    names = [t.name for t in content.tables]
    assert names == ["inference-comparison", "inference-per-device", "inference-days", "inference-absence"]
    assert any(f.name == "inference-precision-recall" for f in content.figures)
    pr = next(f for f in content.figures if f.name == "inference-precision-recall").figure.axes[0]
    assert pr.get_xlabel().startswith("recall") and pr.get_ylabel().startswith("precision")
    empty = tmp_path / "empty.duckdb"
    with open_study(empty) as s:
        s.create_schema()
        assert inference_report_section(s) is None
