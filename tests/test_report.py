"""`ucn report` on a small hand-made study: files, sections, parameters, tables equal to the
analyses' output, a self-contained page, and rendering in a real headless Chromium."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analyses_builders import Builder
from ucnstudy import open_study
from ucnstudy.analyses import ANALYSES
from ucnstudy.cli import main
from ucnstudy.errors import UcnError
from ucnstudy.plots import NamedFigure
from ucnstudy.plots.style import new_figure
from ucnstudy.report import ReportOptions, build_report
from ucnstudy.report.assemble import focus_users
from ucnstudy.report.runs import Run, RunCache, RunResult, make_params, planned_runs
from ucnstudy.report.sections import (
    EXTRA_SECTIONS,
    NamedTable,
    ReportContext,
    Section,
    SectionContent,
    register_section,
)

T0 = datetime(2015, 10, 23, 7, 0, 0)  # Friday; the UK and France leave summer time on Sunday 25
CHROMIUM = "/usr/bin/chromium"


def small_study(path: Path | str) -> Path | str:
    """Three users (fr; a uk household sharing a tablet), bursts of DNS+HTTP over three days,
    per-second traffic, app traffic on three ports and home/work locations."""
    b = Builder()
    b.user("alice", "fr")
    b.user("bob", "uk")
    b.user("carol", "uk", "Europe/London")
    b.device("alice.phone", "alice", platform="iphone", devtype="phone")
    b.device("alice.laptop", "alice")
    b.device("bob.pc", "bob", platform="windows-pc", devtype="pc")
    b.device("home.tablet", "bob", "carol", platform="ipad", devtype="tablet")
    hosts = ["www.bbc.co.uk", "en.wikipedia.org", "mail.google.com", "www.lemonde.fr"]
    agents = ["Mozilla/5.0 (Windows NT 10.0) Chrome/46.0 Safari/537.36",
              "Mozilla/5.0 (iPhone; CPU iPhone OS 9_1 like Mac OS X) Mobile/13B143 Safari/601.1", None]
    for i, login in enumerate(["alice.phone", "alice.laptop", "bob.pc", "home.tablet"]):
        for day in range(3):
            for burst in range(3):
                start = T0 + timedelta(days=day, hours=3 * burst + 2 * i, minutes=7 * i)
                _burst(b, login, start, hosts[(i + burst) % 4], agents[(i + day) % 3], events=4 + burst)
        _background(b, login, T0 + timedelta(minutes=5 * i))
    places = {1: ("Home, Paris", "AS3215 Orange"), 3: ("Work, Nottingham", "JANET")}
    for dev, (place, asname) in places.items():
        b.add("locations", devid=dev, source="moves", entertime=T0 - timedelta(hours=1),
              exittime=T0 + timedelta(days=3), name=place, net_asname=asname, lat=0.0, lon=0.0)
    study = open_study(path)
    study.create_schema()
    b.load(study)
    study.close()
    return path


def _burst(b: Builder, login: str, start: datetime, host: str, ua: str | None, events: int) -> None:
    devid = b.dev(login)
    domain = ".".join(host.split(".")[-2:])
    for k in range(events):
        t = start + timedelta(seconds=40 * k, microseconds=1234 * k)
        b.dns(login, t, host, ttl=[300], query_domain=domain)
        b.http(login, t + timedelta(milliseconds=80 + 10 * k), host, ua=ua, req_url_domain=domain)
        for s in range(0, 40, 2):  # a packet every other second of the burst
            b.add("devicetraffic", devid=devid, ts=t + timedelta(seconds=s), packets_in=3,
                  bytes_in=1500 * (k + 1), packets_out=2, bytes_out=200)
        for port, service, size in ((443, "https", 50_000), (80, "http", 20_000), (53, "domain", 300)):
            b.add("deviceapptraffic", devid=devid, ts=t.replace(microsecond=0), srcip="10.0.0.1",
                  dstip="192.0.2.1", proto=6 if port != 53 else 17, srcport=40000 + k, dstport=port,
                  flowid=f"f{devid}{k}{port}", packets_in=20, bytes_in=size, packets_out=10,
                  bytes_out=size // 10, service=service)


def _background(b: Builder, login: str, start: datetime) -> None:
    for k in range(20):  # periodic polling, not user events
        t = start + timedelta(minutes=37 * k)
        b.dns(login, t, "gsp1.apple.com", user_req=False, ttl=[60])
        b.http(login, t + timedelta(seconds=1), "gsp1.apple.com", user_url=False)


SETTINGS = {"activities": {"gap": "300"}, "traffic-by-port": {"top": "1"}}


@pytest.fixture(scope="module")
def report_dir(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The report of the small study through the CLI, figures drawn by two worker processes."""
    root = tmp_path_factory.mktemp("report")
    db = small_study(root / "study.duckdb")
    code = main(["--db", str(db), "report", "--out", str(root / "out"), "--focus", "all", "--workers", "2",
                 "--detail-users", "1", "--svg", "--set", "activities.gap=300",
                 "--set", "traffic-by-port.top=1"])
    assert code == 0
    return db, root / "out"


def test_report_writes_index_figures_and_tables(report_dir: tuple[Path, Path]) -> None:
    _, out = report_dir
    html = (out / "index.html").read_text()
    figures = re.findall(r'<figure id="fig-([^"]+)">', html)
    assert len(figures) >= 20
    for name in figures:
        assert (out / "figures" / f"{name}.png").stat().st_size > 1000
        assert (out / "figures" / f"{name}.svg").read_text().lstrip().startswith("<?xml")
    assert sorted(p.stem for p in (out / "tables").glob("*.csv")) == sorted(r.key for r in planned_runs())
    # focus=all: every user with events has a panel in one small-multiples figure per analysis,
    # and the first (--detail-users 1) their own detailed figures as well
    for grid in ("timeline-users", "inter-event-users", "activities-users", "activities--activity-map-users"):
        assert f'id="fig-{grid}"' in html
    for kind in ("timeline", "inter-event", "activities"):
        users = sorted(set(pd.read_csv(out / "tables" / f"{kind}.csv")["username"]))
        detailed = [u for u in users if f'id="fig-{kind}-{u}"' in html]
        assert users == ["alice", "bob"] and detailed == ["alice"], kind


def test_every_analysis_has_its_section_and_parameters(report_dir: tuple[Path, Path]) -> None:
    _, out = report_dir
    html = (out / "index.html").read_text()
    runs = planned_runs()
    assert {r.analysis for r in runs} == set(ANALYSES)
    for run in runs:
        assert f'<section id="{run.key}" class="analysis">' in html
        section = html.split(f'<section id="{run.key}"')[1].split("</section>")[0]
        assert "Not computed" not in section
        for name in make_params(run, {}).__dataclass_fields__:
            assert f"<th>{run.key}</th><td>{name}</td>" in html
    assert "<th>report</th><td>dpi</td><td>100</td>" in html
    timing = html.split('<section id="timing">')[1]
    assert all(f"<tr><th>{run.key}</th>" in timing for run in runs)
    assert "3 users (1 fr, 2 uk), 4 devices (1 shared)" in " ".join(html.split())


def test_page_is_self_contained(report_dir: tuple[Path, Path]) -> None:
    html = (report_dir[1] / "index.html").read_text()
    sources = re.findall(r'<img src="([^"]{0,30})', html)
    assert sources and all(s.startswith("data:image/png;base64,") for s in sources)
    assert not re.search(r'(src|href)="(https?:)?//', html)
    assert "<script" not in html and "<link" not in html


def same_column(written: pd.Series, expected: pd.Series) -> bool:
    """Compare a CSV column read as text with the analysis's column, by the analysis's type."""
    if pd.api.types.is_datetime64_any_dtype(expected):
        got = pd.to_datetime(written.replace("", None))
        return got.tolist() == pd.to_datetime(expected).tolist()
    if pd.api.types.is_bool_dtype(expected) or pd.api.types.is_numeric_dtype(expected):
        got = pd.to_numeric(written.replace({"true": "1", "false": "0"}).replace("", None))
        return bool(np.allclose(got.astype(float), expected.astype(float), equal_nan=True))
    return written.tolist() == expected.astype(object).where(expected.notna(), "").astype(str).tolist()


def test_tables_equal_a_fresh_run_of_each_analysis(report_dir: tuple[Path, Path]) -> None:
    db, out = report_dir
    with open_study(db, read_only=True) as study:
        for run in planned_runs():
            expected = ANALYSES[run.analysis].run(study, make_params(run, SETTINGS))
            written = pd.read_csv(out / "tables" / f"{run.key}.csv", dtype=str, keep_default_na=False)
            assert list(written.columns) == list(expected.columns), run.key
            assert len(written) == len(expected) > 0, run.key
            for col in expected.columns:
                assert same_column(written[col], expected[col]), (run.key, col)


def test_derived_runs_equal_their_analysis_exactly(report_dir: tuple[Path, Path]) -> None:
    """dns-http-summary and qoe-effects come from another run's frame: the same frame."""
    with open_study(report_dir[0], read_only=True) as study:
        cache = RunCache(study, {})
        derived = [run for run in planned_runs() if run.derive is not None]
        assert {r.key for r in derived} >= {"dns-http-summary", "qoe-effects"}
        for run in derived:
            expected = ANALYSES[run.analysis].run(study, make_params(run, {}))
            pd.testing.assert_frame_equal(cache.get(run).frame, expected, check_exact=True)


def _figures_to_compare(analysis: str, result: RunResult) -> list[NamedFigure]:
    """The first two figures of a builder, and the small multiples it draws for the report."""
    from ucnstudy.plots import FigureContext, build_figures

    first = build_figures(analysis, result.frame, result.params, FigureContext())[:2]
    report = build_figures(analysis, result.frame, result.params, FigureContext(detail_users=0))
    return first + [f for f in report if f.name.endswith("-users")]


def test_figures_drawn_once_are_the_pictures_savefig_draws(report_dir: tuple[Path, Path],
                                                            tmp_path: Path) -> None:
    """render_figure lays a figure out itself and fixes its ticks (savefig then skips its own
    layout draw): the PNG pixels equal those of a plain savefig, for every figure builder."""
    import io

    from PIL import Image

    from ucnstudy.plots import FIGURES
    from ucnstudy.report.render import RenderOptions, render_figure

    (tmp_path / "figures").mkdir()
    compared = 0
    with open_study(report_dir[0], read_only=True) as study:
        cache = RunCache(study, {})
        for run in planned_runs():
            result = cache.get(run)
            if not run.figures or run.analysis not in FIGURES or result.frame is None:
                continue
            plain, drawn = (_figures_to_compare(run.analysis, result) for _ in range(2))
            for a, b in zip(plain, drawn, strict=True):
                buffer = io.BytesIO()
                a.figure.savefig(buffer, format="png", dpi=80)
                rendered = render_figure(b, RenderOptions(tmp_path, 80))
                expected = np.asarray(Image.open(buffer))
                got = np.asarray(Image.open(tmp_path / rendered.png))
                assert got.shape == expected.shape and np.array_equal(got, expected), b.name
                compared += 1
    assert compared >= 10


def test_set_applies_to_every_run_of_the_analysis(report_dir: tuple[Path, Path]) -> None:
    html = (report_dir[1] / "index.html").read_text()
    assert "<th>activities</th><td>gap</td><td>300.0</td>" in html
    assert "<th>activity-stats</th><td>gap</td><td>300.0</td>" in html
    assert "<th>activity-context</th><td>gap</td><td>600.0</td>" in html  # another analysis
    assert len(pd.read_csv(report_dir[1] / "tables" / "traffic-by-port.csv")) == 1


@pytest.mark.parametrize("setting", ["activities.nope=1", "activites.gap=1", "gap=1", "activities.gap=soon"])
def test_bad_settings_fail_before_any_work(report_dir: tuple[Path, Path], tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str], setting: str) -> None:
    assert main(["--db", str(report_dir[0]), "report", "--out", str(tmp_path / "x"), "--set", setting]) == 2
    assert "error:" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


def test_focus_users_default_to_the_selected_users(report_dir: tuple[Path, Path]) -> None:
    with open_study(report_dir[0], read_only=True) as study:
        cache = RunCache(study, {})
        selected = ANALYSES["select-users"].run(study, make_params(
            Run("select-users", "select-users", ""), {}))
        assert focus_users(cache, "selected") == selected["username"].tolist()
        assert focus_users(cache, "all") is None
        assert focus_users(cache, "bob, alice") == ["bob", "alice"]


def test_registered_sections_are_built_and_none_is_skipped(report_dir: tuple[Path, Path],
                                                          tmp_path: Path) -> None:
    """The extension point of other areas: one register_section call adds a section."""
    def extra(ctx: ReportContext) -> SectionContent:
        ports = ctx.cache.get(next(r for r in planned_runs() if r.key == "traffic-by-port"))
        fig, axes = new_figure()
        axes[0, 0].plot([0, 1], [0, 1])
        return SectionContent("Extra evaluation", "An extra section.",
                              [NamedFigure("extra-fig", "Extra", fig)],
                              [NamedTable("extra-table", "Extra", ports.frame.head(2))], {"tolerance_s": 60})

    register_section(Section("extra", "Extra evaluation", extra))
    register_section(Section("absent", "Needs ground truth", lambda ctx: None))
    try:
        with open_study(report_dir[0], read_only=True) as study:
            result = build_report(study, tmp_path / "r", ReportOptions(only="traffic-by-port,extra,absent"))
    finally:
        EXTRA_SECTIONS.clear()
    assert [s.key for s in result.sections] == ["traffic-by-port", "extra"]
    html = (tmp_path / "r" / "index.html").read_text()
    assert '<section id="extra" class="analysis">' in html and 'id="fig-extra-fig"' in html
    assert "<th>extra</th><td>tolerance_s</td><td>60</td>" in html
    assert len(pd.read_csv(tmp_path / "r" / "tables" / "extra-table.csv")) == 2
    assert (tmp_path / "r" / "figures" / "extra-fig.png").exists()
    assert not (tmp_path / "r" / "figures" / "extra-fig.svg").exists()  # SVG only with --svg
    with pytest.raises(UcnError, match="no such section"):
        build_report(study, tmp_path / "q", ReportOptions(only="nope"))


@pytest.mark.postgres
def test_report_on_postgresql_writes_the_same_tables(report_dir: tuple[Path, Path], pg_url: str,
                                                    tmp_path: Path) -> None:
    """No engine branch in the report: the same study on PostgreSQL gives byte-identical CSVs."""
    small_study(pg_url)
    keys = "user-summary,dns-http,dns-http-summary,heatmap-week,activities"
    assert main(["--db", pg_url, "report", "--out", str(tmp_path / "pg"), "--only", keys, "--workers", "0",
                 "--set", "activities.gap=300"]) == 0
    for key in keys.split(","):
        assert (tmp_path / "pg" / "tables" / f"{key}.csv").read_bytes() == \
            (report_dir[1] / "tables" / f"{key}.csv").read_bytes(), key


def chromium_or_fail() -> str:
    if Path(CHROMIUM).exists():
        return CHROMIUM
    if os.environ.get("CI") == "true":
        pytest.fail(f"{CHROMIUM} is missing (CI=true): install Debian chromium (make system-deps)")
    pytest.skip(f"{CHROMIUM} is not installed")


IMAGE_CHECK = """<script>
window.addEventListener("load", () => {
  const imgs = Array.from(document.images);
  const ok = imgs.filter(i => i.complete && i.naturalWidth > 0).length;
  document.body.setAttribute("data-images", ok + "/" + imgs.length);
});
</script>"""


@pytest.mark.browser
def test_report_renders_in_headless_chromium(report_dir: tuple[Path, Path], tmp_path: Path) -> None:
    """Every embedded image decodes and the console shows no error."""
    browser = chromium_or_fail()
    page = tmp_path / "page"
    shutil.copytree(report_dir[1], page)
    html = (page / "index.html").read_text()
    (page / "index.html").write_text(html.replace("</body>", IMAGE_CHECK + "</body>"))
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", "--no-first-run",
             f"--user-data-dir={tmp_path / 'profile'}", "--enable-logging=stderr", "--v=0",
             "--virtual-time-budget=5000", "--dump-dom"]
    done = subprocess.run([browser, *flags, (page / "index.html").as_uri()], capture_output=True,
                          text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    n_images = html.count("<img ")
    assert n_images >= 20
    assert f'data-images="{n_images}/{n_images}"' in done.stdout
    assert "<h1>ucnstudy report</h1>" in done.stdout
    console_errors = [line for line in done.stderr.splitlines() if "CONSOLE" in line or "Uncaught" in line]
    assert console_errors == []
