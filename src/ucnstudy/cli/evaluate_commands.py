"""`ucn evaluate`: detected user activity against the study's ground truth, per second."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import typer

from ucnstudy.cli.common import console, open_cli_study, progress
from ucnstudy.cli.options import cli_parameters, command_with, from_cli, option
from ucnstudy.inference.params import EvaluationParams

if TYPE_CHECKING:
    import pandas as pd

    from ucnstudy.inference.evaluation import Evaluation

CSV_COLUMNS = ["config", "device", "tp", "fp", "fn", "tn", "precision", "recall", "f1"]
OUTPUT = [
    option("fmt", Literal["text", "csv", "json"], "text", "--format", help="text, csv or json."),
    option("out", Path | None, None, "--out", help="Write the result here instead of stdout."),
    option("figures", Path | None, None, "--figures", file_okay=False,
           help="Also write the evaluation figures (PNG) to this directory."),
]


def evaluate(*, fmt: str, out: Path | None, figures: Path | None, **values: Any) -> None:
    """Compare the original's and ucnstudy's detectors with the ground truth (see docs/inference.md).

    Options are the fields of EvaluationParams, the keywords that study.evaluate() takes.
    """
    from ucnstudy.inference.evaluation import evaluate_study

    params = from_cli(EvaluationParams, values, "ucn evaluate")
    with open_cli_study(read_only=True) as study, progress(transient=True) as bar:
        task = bar.add_task("evaluate", total=None, rate="")
        result = evaluate_study(study, params, on_step=lambda s: bar.update(task, description=s))
    if figures is not None:
        _write_figures(result, figures)
    _emit(result, fmt, out)


def comparison_frame(result: Evaluation) -> pd.DataFrame:
    """The comparison with device logins instead of ids."""
    df = result.comparison.copy()
    df["device"] = [d if d == "all" else result.devices.get(int(d), d) for d in df["device"]]
    return df


def _emit(result: Evaluation, fmt: str, out: Path | None) -> None:
    if fmt == "csv":
        text = comparison_frame(result)[CSV_COLUMNS].to_csv(index=False)
    elif fmt == "json":
        text = json.dumps(as_json(result), indent=2, default=str)
    else:
        if out is None:
            print_text(result)
            return
        from io import StringIO

        from rich.console import Console

        buf = StringIO()
        print_text(result, Console(file=buf, width=140))
        text = buf.getvalue()
    if out is None:
        console.file.write(text)
    else:
        out.write_text(text, encoding="utf-8")
        console.print(f"wrote {out}")


def as_json(result: Evaluation) -> dict:
    def records(df: pd.DataFrame) -> list[dict]:
        return json.loads(df.to_json(orient="records", date_format="iso"))

    return {
        "params": dataclasses.asdict(result.params),
        "events": result.events,
        "ground_truth_seconds": {str(d): iv.total for d, iv in result.truth.items()},
        "comparison": records(comparison_frame(result)),
        "days": records(result.days),
        "absence": records(result.absence),
        "sweeps": records(result.sweeps),
        "best": {f: records(result.best(f).to_frame().T)[0] for f in ("original", "ucnstudy")},
    }


def print_text(result: Evaluation, out: object = None) -> None:
    from rich.console import Console

    con = out or Console(width=max(console.width, 130))  # the table must not be truncated
    totals = result.totals().merge(result.absence, on="config")
    from rich.table import Table

    table = Table(title=f"Per-second detection of user activity (tolerance {result.params.tolerance} s, "
                        f"{len(result.truth)} devices with ground truth, "
                        f"{sum(iv.total for iv in result.truth.values()):,} true seconds)")
    width = int(totals["config"].str.len().max())
    for col in ("config", "precision", "recall", "F1", "TP", "FP", "FN", "absent=0"):
        if col == "config":
            table.add_column(col, no_wrap=True, min_width=width)
        else:
            table.add_column(col, justify="right")
    for _, r in totals.iterrows():
        table.add_row(r["config"], f"{r['precision']:.3f}", f"{r['recall']:.3f}", f"{r['f1']:.3f}",
                      f"{r['tp']:,}", f"{r['fp']:,}", f"{r['fn']:,}", f"{r['zero_share']:.2f}")
    con.print(table)  # type: ignore[attr-defined]
    o, u = result.best("original"), result.best("ucnstudy")
    con.print(f"best original: {o['config']} P {o['precision']:.3f} R {o['recall']:.3f} "  # type: ignore[attr-defined]
              f"F1 {o['f1']:.3f}; best ucnstudy: {u['config']} P {u['precision']:.3f} "
              f"R {u['recall']:.3f} F1 {u['f1']:.3f}")
    if not result.sweeps.empty:
        s = result.sweeps[["sweep", "value", "config", "precision", "recall", "f1"]]
        con.print(s.to_string(index=False, float_format=lambda v: f"{v:.3f}"))  # type: ignore[attr-defined]


def _write_figures(result: Evaluation, directory: Path) -> None:
    from ucnstudy.plots.inference import evaluation_figures

    directory.mkdir(parents=True, exist_ok=True)
    for fig in evaluation_figures(result):
        fig.figure.savefig(directory / f"{fig.name}.png", dpi=100)


def register(app: typer.Typer) -> None:
    command = command_with([*cli_parameters(EvaluationParams), *OUTPUT], evaluate, "evaluate",
                           evaluate.__doc__)
    app.command("evaluate")(command)
