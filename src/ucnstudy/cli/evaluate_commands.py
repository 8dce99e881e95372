"""`ucn evaluate`: detected user activity against the study's ground truth, per second."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pandas as pd
import typer
from rich.table import Table

from ucnstudy.cli.common import console, open_cli_study, progress
from ucnstudy.errors import UcnError
from ucnstudy.inference.configs import UcnParams
from ucnstudy.inference.evaluation import Evaluation, EvaluationParams, evaluate_study
from ucnstudy.inference.groundtruth import GroundTruthParams

CSV_COLUMNS = ["config", "device", "tp", "fp", "fn", "tn", "precision", "recall", "f1"]


def _ints(text: str, option: str) -> tuple[int, ...]:
    try:
        return tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise UcnError(f"{option} takes comma-separated integers, not {text!r}") from None


def _floats(text: str, option: str) -> tuple[float, ...]:
    try:
        return tuple(float(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise UcnError(f"{option} takes comma-separated numbers, not {text!r}") from None


def evaluate(
    tolerance: int = typer.Option(60, "--tolerance", min=0, help="Seconds of tolerance per second."),
    fmt: str = typer.Option("text", "--format", help="text, csv or json."),
    out: Path = typer.Option(None, "--out", help="Write the result here instead of stdout."),
    windows: str = typer.Option("0,5,10", "--windows", help="Window rule W of the original's configs."),
    io_window: int = typer.Option(150, "--io-window", min=1, help="Seconds each IO event stands for."),
    io_mode: str = typer.Option("extend", "--io-mode", help="extend or bridge (the original's)."),
    foreground: str = typer.Option("focused", "--foreground", help="focused, fullscreen or none."),
    include_idle: bool = typer.Option(False, "--include-idle", help="Count idle foreground time."),
    merge_tolerance: int = typer.Option(1, "--merge-tolerance", min=0, help="GT block merge gap (s)."),
    intersect_traffic: bool = typer.Option(False, "--intersect-traffic",
                                           help="Ground truth only where devicetraffic has a row."),
    gap: int = typer.Option(600, "--gap", min=0, help="Activity gap threshold (s)."),
    tail: int = typer.Option(60, "--tail", min=0, help="Seconds added after an activity's last event."),
    min_events: int = typer.Option(3, "--min-events", min=1, help="Events per activity."),
    beacon_threshold: float = typer.Option(0.8, "--beacon-threshold", help="Beacon score cut."),
    learned: bool = typer.Option(True, "--learned/--no-learned", help="Run the learned detector."),
    learned_threshold: float = typer.Option(0.5, "--learned-threshold", help="Probability cut."),
    learned_folds: int = typer.Option(None, "--learned-folds", min=2,
                                      help="Device folds (default: leave-one-device-out)."),
    blocklist: list[Path] = typer.Option([], "--blocklist", exists=True, dir_okay=False,
                                         help="Extra host or Adblock list file; repeatable."),
    sweep: bool = typer.Option(False, "--sweep", help="Also sweep gap, W, thresholds and filters."),
    sweep_gaps: str = typer.Option("30,60,120,300,600,1200", "--sweep-gaps"),
    sweep_windows: str = typer.Option("0,1,5,10,30,60,120", "--sweep-windows"),
    sweep_beacon: str = typer.Option("0.5,0.6,0.7,0.8,0.9,0.95", "--sweep-beacon"),
    sweep_learned: str = typer.Option("0.1,0.2,0.3,0.4,0.5,0.6,0.7,0.8,0.9", "--sweep-learned"),
    figures: Path = typer.Option(None, "--figures", file_okay=False,
                                 help="Also write the evaluation figures (PNG) to this directory."),
) -> None:
    """Compare the original's and ucnstudy's detectors with the ground truth (see docs/inference.md)."""
    if fmt not in ("text", "csv", "json"):
        raise UcnError(f"--format must be text, csv or json, not {fmt!r}")
    for value, allowed, option in ((io_mode, ("extend", "bridge"), "--io-mode"),
                                   (foreground, ("focused", "fullscreen", "none"), "--foreground")):
        if value not in allowed:
            raise UcnError(f"{option} must be one of {', '.join(allowed)}, not {value!r}")
    params = EvaluationParams(
        tolerance=tolerance, windows=_ints(windows, "--windows"),
        ground_truth=GroundTruthParams(io_window, io_mode, foreground, include_idle,  # type: ignore[arg-type]
                                       merge_tolerance, intersect_traffic),
        ucn=UcnParams(gap, min_events, tail, beacon_threshold, learned_threshold, learned_folds),
        blocklists=tuple(str(p) for p in blocklist), learned=learned, sweeps=sweep,
        sweep_gaps=_ints(sweep_gaps, "--sweep-gaps"), sweep_windows=_ints(sweep_windows, "--sweep-windows"),
        sweep_beacon=_floats(sweep_beacon, "--sweep-beacon"),
        sweep_learned=_floats(sweep_learned, "--sweep-learned"),
    )
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
    app.command("evaluate")(evaluate)
