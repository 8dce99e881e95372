"""docs/notebooks/exploration.ipynb and the README's Python: they run as written, on a demo study."""

from __future__ import annotations

import ast
import os
import re
import shutil
from pathlib import Path

import nbformat
import pytest
from matplotlib.figure import Figure
from nbclient import NotebookClient

import ucnstudy
from ucnstudy.demo import DemoParams, generate_demo

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "docs" / "notebooks" / "exploration.ipynb"
SECTIONS = ("Basic statistics", "Traffic by port", "User agents", "From DNS to HTTP",
            "Per-user statistics", "User selection", "Timelines", "Inter-event times", "Heatmaps",
            "Activities and their context", "Quality of experience", "Ad-hoc work")


@pytest.fixture(scope="module")
def demo_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("notebook") / "ucnstudy.duckdb"
    with ucnstudy.open(path) as study:
        generate_demo(study, DemoParams(users=3, days=2, seed=4))
    return path


def test_the_notebook_is_stored_without_outputs():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code and all(c.outputs == [] and c.execution_count is None for c in code)
    assert all(set(c.metadata) <= {"tags"} for c in nb.cells)  # no widget state, no timings
    headings = [line[3:] for c in nb.cells if c.cell_type == "markdown"
                for line in c.source.splitlines() if line.startswith("## ")]
    assert [h for h in headings if h.startswith(SECTIONS)] == headings and len(headings) == len(SECTIONS)


def test_the_notebook_runs_top_to_bottom(demo_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("UCN_DB", str(demo_path))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(ROOT)}}
                   ).execute()  # raises CellExecutionError on any failing cell
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    pngs = [o for o in outputs if "image/png" in o.get("data", {})]
    figure_cells = [c for c in nb.cells if c.cell_type == "code" and "study.figure(" in c.source]
    assert len(pngs) == len(figure_cells) >= 9
    with ucnstudy.open(demo_path, read_only=True) as study:
        summary = nb.cells[1].outputs[0]["data"]["text/html"]  # the study's own display
        for table, rows in study.counts().items():
            assert f"<tr><td>{table}</td><td>{rows:,}</td>" in summary
        users = study.counts()["users"]
        ports = study.analyze("traffic-by-port", top=10)
    shown = [o["data"]["text/html"] for o in outputs if "text/html" in o.get("data", {})]
    stats = f"<p><b>activities (stats=True)</b>: {users} rows × 11 columns</p>"
    assert any(h.startswith(stats) for h in shown)
    assert any(h.startswith(f"<p><b>traffic-by-port (top=10)</b>: {len(ports)} rows") for h in shown)


def python_blocks(markdown: str) -> list[str]:
    return re.findall(r"^```python\n(.*?)^```", markdown, re.S | re.M)


def run_snippet(source: str, namespace: dict[str, object] | None = None) -> object:
    """Execute a snippet (in `namespace`, shared by a page's snippets); the value of its last
    line when that is an expression."""
    tree = ast.parse(source)
    last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
    namespace = {} if namespace is None else namespace
    exec(compile(tree, "<snippet>", "exec"), namespace)
    return eval(compile(ast.Expression(last.value), "<snippet>", "eval"), namespace) if last else None


def test_the_readme_python_works_as_written(demo_path: Path, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch):
    shutil.copy(demo_path, tmp_path / "ucnstudy.duckdb")
    monkeypatch.chdir(tmp_path)
    blocks = python_blocks((ROOT / "README.md").read_text())
    tour = next(b for b in blocks if "study.analyze(" in b)
    assert len(tour.strip().splitlines()) == 5
    assert isinstance(run_snippet(tour), Figure)
    session: dict[str, object] = {}
    blocks = python_blocks((ROOT / "docs" / "api.md").read_text())
    assert len(blocks) >= 4
    for block in blocks:
        run_snippet(block, session)
    assert session["message"] and len(session["acts"]) and session["counts"]["n"][0] > 0
