"""The analysis registry: each analysis is a function of (Study, parameters) -> DataFrame.

An analysis module declares a frozen dataclass of parameters (every threshold a field whose
default is the original study's value, with help in `metadata={"help": ...}`) and registers
its function with `@analysis(name, Params, expr=...)`. `expr` (optional) returns the Ibis
expression the DataFrame is computed from, before any client-side formatting, so that the
cross-engine equality suite can compare Arrow results. The CLI (`ucn analyze NAME`), the docs
and the report discover analyses here, so a new analysis is one module plus its test.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import ibis.expr.types as ir
import pandas as pd

from ucnstudy.privacy.manifest import require_fields
from ucnstudy.store import Study

AnalysisFn = Callable[[Study, Any], pd.DataFrame]
ExprFn = Callable[[Study, Any], ir.Table]


@dataclass(frozen=True)
class Analysis:
    name: str  # CLI name, e.g. "traffic-by-port"
    func: AnalysisFn
    params: type  # a frozen dataclass; its defaults are the original study's values
    summary: str  # first line of the function's docstring
    expr: ExprFn | None = None  # the portable Ibis expression behind the DataFrame

    def run(self, study: Study, params: Any = None) -> pd.DataFrame:
        require_fields(study, self.name)  # an anonymised study may lack a field it needs
        return self.func(study, params if params is not None else self.params())

    def expression(self, study: Study, params: Any = None) -> ir.Table:
        if self.expr is None:
            raise NotImplementedError(f"analysis {self.name} has no single Ibis expression")
        require_fields(study, self.name)
        return self.expr(study, params if params is not None else self.params())


ANALYSES: dict[str, Analysis] = {}


def analysis(name: str, params: type, expr: ExprFn | None = None
             ) -> Callable[[AnalysisFn], AnalysisFn]:
    def register(func: AnalysisFn) -> AnalysisFn:
        doc = (func.__doc__ or "").strip().splitlines()
        ANALYSES[name] = Analysis(name, func, params, doc[0] if doc else "", expr)
        return func

    return register
