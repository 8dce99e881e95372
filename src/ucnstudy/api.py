"""The notebook API behind `Study.analyze`, `.figure`, `.figures`, `.sql` and `.evaluate`.

Every call goes through the registries the command line uses (`ucnstudy.analyses.ANALYSES`,
`ucnstudy.plots.FIGURES`, `ucnstudy.inference.params.EvaluationParams`), so a parameter has one
name, one type and one default in both places, and a wrong one raises `ParameterError` listing
the valid ones. This is the top layer: it may import analyses, plots, inference and the report.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Literal

import pandas as pd

from ucnstudy.analyses import get
from ucnstudy.display import frame_html, params_text
from ucnstudy.params import ParameterError, build

if TYPE_CHECKING:
    import pyarrow as pa
    from matplotlib.figure import Figure

    from ucnstudy.inference.evaluation import Evaluation
    from ucnstudy.plots import NamedFigure
    from ucnstudy.store import Study

Engine = Literal["pandas", "arrow"]


class AnalysisFrame(pd.DataFrame):
    """An analysis result: a pandas DataFrame that remembers its analysis and parameters
    (`.analysis`, `.params`) and shows them above the table in Jupyter."""

    _metadata: ClassVar[list[str]] = ["analysis", "params"]  # kept by pandas operations

    @property
    def _constructor(self) -> type[AnalysisFrame]:
        return AnalysisFrame

    def _repr_html_(self) -> str:  # type: ignore[override]
        title = f"{getattr(self, 'analysis', '')} ({params_text(getattr(self, 'params', None))})"
        return frame_html(pd.DataFrame(self), title)


def analyze(study: Study, name: str, engine: Engine = "pandas", **params: Any) -> AnalysisFrame | pa.Table:
    """Run the analysis `name` with `params` (see `ucnstudy.analyses()`)."""
    if engine not in ("pandas", "arrow"):
        raise ParameterError(f"engine must be 'pandas' or 'arrow', not {engine!r}")
    entry = get(name)
    p = entry.make_params(**params)
    df = entry.run(study, p)
    if engine == "arrow":
        import pyarrow as pa

        return pa.Table.from_pandas(df, preserve_index=False)
    out = AnalysisFrame(df)
    out.analysis, out.params = name, p
    return out


def figures(study: Study, name: str, users: list[str] | None = None, **params: Any) -> list[NamedFigure]:
    """Every figure the report draws for the analysis `name` (per-user ones for `users` only)."""
    from ucnstudy.plots import FIGURES, FigureContext
    from ucnstudy.report.assemble import user_timezones

    if name not in FIGURES:
        raise ParameterError(f"analysis {name!r} has no figures; these have: {', '.join(sorted(FIGURES))}")
    entry = get(name)
    p = entry.make_params(**params)
    frame = entry.run(study, p)
    ctx = FigureContext(focus_users=list(users or []), timezones=user_timezones(study))
    return FIGURES[name](frame, p, ctx)


def figure(study: Study, name: str, user: str | None = None, which: str | None = None,
           **params: Any) -> Figure:
    """One figure of the analysis `name`: the first for `user` (or the first overall), or the
    one whose name starts with `which` (e.g. "activity-map")."""
    from ucnstudy.plots.style import slug

    drawn = figures(study, name, [user] if user else None, **params)
    mine = [f for f in drawn if f.name.endswith("-" + slug(user))] if user else drawn
    chosen = [f for f in mine if f.name.startswith(which)] if which else mine
    if not chosen:
        names = ", ".join(f.name for f in drawn) or "none"
        raise ParameterError(f"no {name} figure for user={user!r} which={which!r}; figures: {names}")
    return chosen[0].figure


def evaluate(study: Study, **params: Any) -> Evaluation:
    """The detectors against the ground truth, with `ucn evaluate`'s parameters as keywords."""
    from ucnstudy.inference.evaluation import evaluate_study
    from ucnstudy.inference.params import EvaluationParams

    return evaluate_study(study, build(EvaluationParams, params, "evaluate"))
