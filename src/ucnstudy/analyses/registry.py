"""The analysis registry: each analysis is a function of (Study, parameters) -> DataFrame.

An analysis module declares a frozen dataclass of parameters (every threshold a field whose
default is the original study's value, with help in `metadata={"help": ...}`) and registers
its function with `@analysis(name, Params, expr=...)`. `expr` (optional) returns the Ibis
expression the DataFrame is computed from, before any client-side formatting, so that the
cross-engine equality suite can compare Arrow results. The CLI (`ucn analyze NAME`), the Python
API (`study.analyze(NAME, **params)`), the docs and the report discover analyses here, so a new
analysis is one module plus its test. Importing this module (and an analysis module, which
names Ibis and pandas through `ucnstudy.lazy`) loads neither library.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ucnstudy.params import Param, ParameterError, build, fields_of, signature_text

if TYPE_CHECKING:
    import ibis.expr.types as ir
    import pandas as pd

    from ucnstudy.store import Study

AnalysisFn = Callable[["Study", Any], "pd.DataFrame"]
ExprFn = Callable[["Study", Any], "ir.Table"]


@dataclass(frozen=True)
class Analysis:
    name: str  # CLI name, e.g. "traffic-by-port"
    func: AnalysisFn
    params: type  # a frozen dataclass; its defaults are the original study's values
    summary: str  # first line of the function's docstring
    expr: ExprFn | None = None  # the portable Ibis expression behind the DataFrame

    def run(self, study: Study, params: Any = None) -> pd.DataFrame:
        _require_fields(study, self.name)  # an anonymised study may lack a field it needs
        return self.func(study, params if params is not None else self.params())

    def expression(self, study: Study, params: Any = None) -> ir.Table:
        if self.expr is None:
            raise NotImplementedError(f"analysis {self.name} has no single Ibis expression")
        _require_fields(study, self.name)
        return self.expr(study, params if params is not None else self.params())

    def parameters(self) -> list[Param]:
        return fields_of(self.params)

    def make_params(self, **values: Any) -> Any:
        """The parameter dataclass from keyword values, checked (ParameterError lists them all)."""
        return build(self.params, values, f"analysis {self.name!r}")

    def help(self) -> str:
        """The docstring, then every parameter with its type, default and meaning."""
        return inspect.getdoc(self.func) or self.summary


def _require_fields(study: Study, name: str) -> None:
    from ucnstudy.privacy.manifest import require_fields  # loads the store: not at CLI start

    require_fields(study, name)


ANALYSES: dict[str, Analysis] = {}
PARAMETERS_HEADING = "Parameters (keywords of study.analyze, options of ucn analyze):"


def analysis(name: str, params: type, expr: ExprFn | None = None
             ) -> Callable[[AnalysisFn], AnalysisFn]:
    def register(func: AnalysisFn) -> AnalysisFn:
        doc = inspect.getdoc(func) or ""
        # help(func) and help(study.analyze) users see what each keyword means
        func.__doc__ = f"{doc}\n\n{PARAMETERS_HEADING}\n{signature_text(params)}"
        ANALYSES[name] = Analysis(name, func, params, (doc.splitlines() or [""])[0], expr)
        return func

    return register


def get(name: str) -> Analysis:
    """The registered analysis `name`, or a ParameterError listing every analysis."""
    try:
        return ANALYSES[name]
    except KeyError:
        raise ParameterError(f"no analysis named {name!r}; analyses are: "
                             f"{', '.join(sorted(ANALYSES))}") from None
