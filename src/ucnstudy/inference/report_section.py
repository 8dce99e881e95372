"""The report's "user activity against ground truth" section (registered when imported).

It runs only when the study has ground truth (gt_foreground or gt_io rows). To stay within the
report's time budget (issue 5: the whole report at 10M events in under 2 minutes) it evaluates a
bounded version of `ucn evaluate`'s run, stated in the section's parameters:
  * only the events of devices with ground truth are loaded (host popularity, a learned feature,
    is then computed over those devices only);
  * the original's four configurations with W = 0 only, ucnstudy's rule-based ones unchanged;
  * the learned detector uses 2 device folds instead of leave-one-device-out (still never scored
    on a device it learned from), trains on at most 20,000 sampled events per fold with 100
    boosting iterations;
  * no sweeps. `ucn evaluate` does the full run.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from ucnstudy.errors import StudyError
from ucnstudy.inference.configs import UcnParams
from ucnstudy.inference.evaluation import (
    Evaluation,
    EvaluationInputs,
    EvaluationParams,
    evaluate_inputs,
    load_inputs,
)
from ucnstudy.inference.groundtruth import has_ground_truth
from ucnstudy.privacy.manifest import require_fields
from ucnstudy.store import Study

TITLE = "User activity inferred from traffic, against ground truth"
REPORT_PARAMS = EvaluationParams(
    windows=(0,), truth_devices_only=True,
    ucn=UcnParams(learned_folds=2, learned_max_train=20_000, learned_max_iter=100))


def _summary(result: Evaluation) -> str:
    o, u = result.best("original"), result.best("ucnstudy")
    return (f"Per-second precision and recall of detected user activity at a {result.params.tolerance} s "
            f"tolerance on {len(result.truth)} devices with ground truth. Best of the original's "
            f"configurations: {o['config']} (P {o['precision']:.3f}, R {o['recall']:.3f}, "
            f"F1 {o['f1']:.3f}); best of ucnstudy's: {u['config']} (P {u['precision']:.3f}, "
            f"R {u['recall']:.3f}, F1 {u['f1']:.3f}). See docs/inference.md.")


def inference_report_section(study: Study, params: EvaluationParams = REPORT_PARAMS,
                             deferred: bool = False) -> Any:
    """A report SectionContent for the study, or None when it has no ground truth. `deferred`:
    only the study is read here; the evaluation is the content's job (the report runs it in a
    worker process while it computes the other sections)."""
    from ucnstudy.report.sections import SectionContent, SectionJob

    if not has_ground_truth(study):
        return None
    try:
        require_fields(study, "evaluate")
    except StudyError as exc:  # an anonymised study without the hosts the detectors need
        return SectionContent(TITLE, error=str(exc))
    inputs = load_inputs(study, params)
    if deferred:
        return SectionContent(TITLE, params=dataclasses.asdict(params),
                              job=SectionJob(evaluated_section, (inputs, params)))
    return evaluated_section(inputs, params)


def evaluated_section(inputs: EvaluationInputs, params: EvaluationParams) -> Any:
    """The section's content from the loaded inputs (no study needed)."""
    from ucnstudy.plots.inference import evaluation_figures
    from ucnstudy.report.sections import NamedTable, SectionContent

    result = evaluate_inputs(inputs, params)
    comparison = result.comparison.copy()
    comparison["device"] = [d if d == "all" else result.devices.get(int(d), d) for d in comparison["device"]]
    content = SectionContent(TITLE, _summary(result), params=dataclasses.asdict(params))
    content.tables += [
        NamedTable("inference-comparison", "All devices, per configuration", result.totals()),
        NamedTable("inference-per-device", "Per configuration and device", comparison),
        NamedTable("inference-days", "Begin and end of day accuracy", result.days),
        NamedTable("inference-absence", "Detected user events inside absence periods", result.absence),
    ]
    content.figures = evaluation_figures(result)
    content.notes.append("The learned detector is scored only on devices it was not trained on.")
    return content


def _register() -> None:
    try:
        from ucnstudy.report.sections import Section, register_section
    except ImportError:  # no report package: the function above still works
        return
    register_section(Section("inference", TITLE, _deferred_section, early=True))


def _deferred_section(ctx: Any) -> Any:
    return inference_report_section(ctx.study, deferred=True)


_register()
