"""The Python API: study.analyze/figure/sql/evaluate, its errors, and one registry with the CLI."""

from __future__ import annotations

import io
import json
import pydoc
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import typer.main
from hypothesis import given
from hypothesis import strategies as st
from matplotlib.figure import Figure

import ucnstudy
from analyses_builders import Builder, at
from inference_scenario import load_scenario, scenario
from ucnstudy.analyses import ANALYSES
from ucnstudy.analyses.activities import ActivitiesParams
from ucnstudy.cli import app, main
from ucnstudy.errors import StudyError
from ucnstudy.inference.params import EvaluationParams
from ucnstudy.params import ParameterError, fields_of
from ucnstudy.report.options import ReportOptions

OUTPUT_OPTIONS = {"analyze": {"--format", "--out", "--limit"}, "evaluate": {"--format", "--out", "--figures"},
                  "report": {"--out", "--set", "--all-events", "--include-shared"}}


def two_users(study: ucnstudy.Study) -> None:
    b = Builder()
    for user, host, offset in (("alice", "a.com", 0), ("bob", "b.org", 5000)):
        b.user(user, "fr" if user == "alice" else "uk")
        b.device(f"{user}.mac", user)
        for t in (0, 10, 20, 30, 2000, 2010, 2020):
            b.dns(f"{user}.mac", at(offset + t), host, ttl=[60])
            b.http(f"{user}.mac", at(offset + t + 1), host, ua="curl/7.43.0")
    b.load(study)


@pytest.fixture
def study(tmp_path: Path):
    s = ucnstudy.open(tmp_path / "api.duckdb")
    s.create_schema()
    two_users(s)
    yield s
    s.close()


def test_analyze_is_the_registered_analysis_with_checked_keywords(study):
    expected = ANALYSES["activities"].run(study, ActivitiesParams(gap=300, users="alice"))
    got = study.analyze("activities", gap=300, users=["alice"])
    pd.testing.assert_frame_equal(pd.DataFrame(got), expected)
    assert got.analysis == "activities" and got.params == ActivitiesParams(gap=300, users="alice")
    # two activities of alice: events at 0..31 s and 2000..2021 s, 8 and 6 events
    assert got["events"].tolist() == [8, 6] and got["username"].tolist() == ["alice", "alice"]
    assert len(study.analyze("activities", gap=300)) == 4
    arrow = study.analyze("activities", engine="arrow", gap=300)
    assert arrow.num_rows == 4 and arrow.column_names == list(expected.columns)
    assert study.analyze("activities", gap=5000.0, min_events=3)["events"].tolist() == [14, 14]


@pytest.mark.parametrize(("kwargs", "says"), [
    ({"gapp": 300}, "no parameter 'gapp'"),
    ({"gap": "300"}, "parameter 'gap' takes float, not '300'"),
    ({"min_events": 2.5}, "parameter 'min_events' takes int, not 2.5"),
    ({"stats": 1}, "parameter 'stats' takes bool, not 1"),
    ({"users": ["alice", 3]}, "parameter 'users' takes str"),
])
def test_wrong_keywords_raise_one_error_listing_every_parameter(study, kwargs, says):
    with pytest.raises(ParameterError) as err:
        study.analyze("activities", **kwargs)
    text = str(err.value)
    assert says in text and text.startswith("analysis 'activities'")
    for p in fields_of(ActivitiesParams):
        assert f"  {p.name}: " in text and repr(p.default) in text
    assert isinstance(err.value, TypeError)  # a wrong call, as Python reports them


RIGHT = {bool: st.booleans(), int: st.integers(), str: st.text(),
         float: st.floats(allow_nan=False) | st.integers(-10**6, 10**6)}
WRONG = {bool: st.integers() | st.text(), int: st.floats() | st.text() | st.booleans(),
         str: st.integers() | st.floats(allow_nan=False), float: st.text() | st.booleans()}
SIMPLE = [(a, p) for a in sorted(ANALYSES) for p in ANALYSES[a].parameters() if p.annotation in RIGHT]
# strings an analysis parses further: only well-formed ones are of the right type
FORMED = {"loss_bounds": st.sampled_from(["0.01,0.03", "0,1"]),
          "rtt_bounds": st.sampled_from(["20,60", "5,500.5"])}


def right(param: Any) -> st.SearchStrategy[Any]:
    values = FORMED.get(param.name, RIGHT[param.annotation])
    return values if param.minimum is None else values.filter(lambda v: v >= param.minimum)


@given(st.sampled_from(SIMPLE).flatmap(lambda ap: st.tuples(st.just(ap), right(ap[1]),
                                                            WRONG[ap[1].annotation])))
def test_keywords_of_the_right_type_are_taken_and_others_refused(case):
    (name, param), good, bad = case
    params = ANALYSES[name].make_params(**{param.name: good})
    assert getattr(params, param.name) == good and type(getattr(params, param.name)) is param.annotation
    with pytest.raises(ParameterError, match=f"parameter '{param.name}' takes {param.annotation.__name__}"):
        ANALYSES[name].make_params(**{param.name: bad})


def test_unknown_analysis_engine_and_choice_errors(study):
    with pytest.raises(ParameterError, match="no analysis named 'activity'; analyses are: activities, "):
        study.analyze("activity")
    with pytest.raises(ParameterError, match="engine must be 'pandas' or 'arrow'"):
        study.analyze("activities", engine="polars")
    with pytest.raises(ParameterError, match=r"parameter 'by' takes 'week' \| 'hour', not 'day'"):
        study.analyze("heatmap", by="day")
    with pytest.raises(ParameterError, match=r"(?s)evaluate has no parameter 'nonsense'.*learned_threshold"):
        study.evaluate(learned_threshold=0.5, nonsense=1)
    with pytest.raises(ParameterError, match="parameter 'tolerance' must be at least 0, not -1"):
        study.evaluate(tolerance=-1)


def test_listing_and_help_show_every_analysis_and_parameter():
    listing = ucnstudy.analyses()
    assert list(listing) == sorted(ANALYSES) and len(listing) == len(ANALYSES)
    for name, entry in ANALYSES.items():
        assert f"{name}  " in repr(listing) and entry.summary in repr(listing)
        assert f"<code>{name}</code>" in listing._repr_html_()
        text = repr(listing[name])
        doc = pydoc.render_doc(entry.func, renderer=pydoc.plaintext)
        for p in entry.parameters():
            assert p.describe() in text and f"{p.name}: " in doc
            assert p.help, f"{name}.{p.name} has no help"


def _cli_options(command) -> set[str]:
    return {opt for param in command.params for opt in param.opts}


def test_every_cli_option_is_an_api_parameter_and_back():
    root = typer.main.get_command(app)
    analyze = root.commands["analyze"]
    assert set(analyze.commands) == set(ANALYSES)
    for name, entry in ANALYSES.items():
        options = _cli_options(analyze.commands[name]) - OUTPUT_OPTIONS["analyze"] - {"-f", "-o"}
        assert options == {p.option for p in entry.parameters()}, name
        assert {p.name for p in entry.parameters()} == {p.name for p in analyze.commands[name].params
                                                       } - {"format", "out", "limit"}
    evaluate = _cli_options(root.commands["evaluate"]) - OUTPUT_OPTIONS["evaluate"]
    evaluate -= {f"--no-{p.option[2:]}" for p in fields_of(EvaluationParams) if p.default is True}
    assert evaluate == {p.option for p in fields_of(EvaluationParams)}
    report = _cli_options(root.commands["report"]) - OUTPUT_OPTIONS["report"]
    assert report == {p.option for p in fields_of(ReportOptions) if p.name != "overrides"}


def test_cli_and_api_give_the_same_table(study, capsys):
    path = str(study.url.target)
    expected = study.analyze("inter-event", users=["bob"], all_events=True)
    study.close()
    assert main(["--db", path, "analyze", "inter-event", "--users", "bob", "--all-events",
                 "-f", "json"]) == 0
    got = pd.read_json(io.StringIO(capsys.readouterr().out), orient="records")
    assert got.to_dict("records") == json.loads(expected.to_json(orient="records"))


def test_sql_binds_values_and_refuses_anything_but_one_query(study):
    count = "SELECT count(*) AS n FROM dnsreqs d JOIN devices v ON v.id = d.devid WHERE v.login = ?"
    assert study.sql(count, ["alice.mac"])["n"].tolist() == [7]
    assert study.sql(count, ["alice.mac' OR '1'='1"])["n"].tolist() == [0]  # a value, not SQL
    assert study.sql("SELECT $who AS who", {"who": "bob"})["who"].tolist() == ["bob"]
    for bad, kind in (("DELETE FROM dnsreqs", "DELETE"), ("SELECT 1; DROP TABLE dnsreqs", "SELECT, DROP"),
                      ("INSERT INTO users (id) VALUES (9)", "INSERT"), ("", "nothing")):
        with pytest.raises(StudyError, match=f"one read-only query.*not {kind}"):
            study.sql(bad)
    with pytest.raises(StudyError, match=r"the query failed: .*nosuchtable"):
        study.sql("SELECT * FROM nosuchtable")
    assert study.counts()["dnsreqs"] == 14 and study.counts()["users"] == 2


def test_sql_on_postgres_runs_read_only(pg):
    two_users(pg)
    assert pg.sql("SELECT count(*) AS n FROM dnsreqs WHERE devid = %s", [1])["n"].tolist() == [7]
    with pytest.raises(StudyError, match="read-only transaction"):
        pg.sql("DELETE FROM dnsreqs")
    assert pg.counts()["dnsreqs"] == 14


def test_figures_are_the_report_builders_figures(study):
    fig = study.figure("activities", user="bob", gap=300)
    assert isinstance(fig, Figure) and fig._repr_png_()[:8] == b"\x89PNG\r\n\x1a\n"
    assert fig.axes[0].get_title() == "Activities [user=bob, count=2]"
    names = [f.name for f in study.figures("activities", users=["bob"], gap=300)]
    assert names == ["activities-all", "activities-bob", "activity-map-bob"]
    chosen = study.figure("activities", user="bob", which="activity-map")
    assert chosen.axes[0].get_title().startswith("Activities per device [user=bob]")
    assert [a.get_title() for a in study.figure("activities").axes] == ["Activity durations, all users"]
    with pytest.raises(ParameterError, match=r"no activities figure for user='carol'.*activities-all"):
        study.figure("activities", user="carol")


def test_rich_display_of_a_study_and_a_result(study):
    html = study._repr_html_()
    for table, rows in study.counts().items():
        assert f"<tr><td>{table}</td><td>{rows:,}</td>" in html
    assert "2 users (1 fr, 1 uk), 2 devices (0 shared)" in html
    assert "2015-03-27 12:00:00 to 2015-03-27 13:57:" in html
    result = study.analyze("activities", gap=300)
    shown = result._repr_html_()
    assert shown.startswith("<p><b>activities (gap=300.0)</b>: 4 rows × 6 columns</p>")
    assert shown.count("<tr>") == 5  # header + 4 rows
    assert "(defaults)" in study.analyze("user-summary")._repr_html_()


def test_evaluation_displays_its_comparison(tmp_path):
    with ucnstudy.open(tmp_path / "gt.duckdb") as s:
        s.create_schema()
        load_scenario(s, scenario(devices=2, days=1, seed=2))
        result = s.evaluate(learned=False, windows=(0,), tolerance=30)
    assert result.params == EvaluationParams(learned=False, windows=(0,), tolerance=30)
    html = result._repr_html_()
    totals = result.totals()
    assert f"{len(totals)} rows × 7 columns" in html and "tolerance 30 s" in html
    for config, tp in zip(totals["config"], totals["tp"], strict=True):
        assert f"<tr><td>{config}</td>" in html and f"<td>{tp:,}</td>" in html
