"""The search space of a strategy: its parameter model's fields with their bounds (the
same `ge`/`le` the desk's forms show), as Optuna suggestions or as a grid."""

from dataclasses import dataclass
from typing import Literal, get_args, get_origin

import annotated_types
import numpy as np

from botdesk.engine.strategies.base import StrategyParams


class SpaceError(ValueError):
    """A parameter the optimiser cannot search; the message says which and why."""


@dataclass(frozen=True)
class Dimension:
    name: str
    kind: str  # int | float | choice
    low: float | None = None
    high: float | None = None
    choices: tuple = ()

    def suggest(self, trial):
        if self.kind == "int":
            return trial.suggest_int(self.name, int(self.low), int(self.high))
        if self.kind == "float":
            return trial.suggest_float(self.name, self.low, self.high)
        return trial.suggest_categorical(self.name, list(self.choices))

    def grid(self, points: int) -> list:
        if self.kind == "choice":
            return list(self.choices)
        values = np.linspace(self.low, self.high, points)
        if self.kind == "int":
            return sorted({round(float(v)) for v in values})
        return [round(float(v), 8) for v in values]


def dimensions(params: type[StrategyParams], fixed: dict | None = None) -> list[Dimension]:
    """One dimension per parameter not in `fixed`; SpaceError for a number without both
    bounds (the optimiser needs a range)."""
    fixed = fixed or {}
    found = []
    for name, info in params.model_fields.items():
        if name in fixed:
            continue
        annotation = info.annotation
        if annotation is bool:
            found.append(Dimension(name, "choice", choices=(False, True)))
            continue
        if get_origin(annotation) is Literal:
            found.append(Dimension(name, "choice", choices=get_args(annotation)))
            continue
        if annotation not in (int, float):
            raise SpaceError(f"{name}: the optimiser searches numbers, booleans and choices")
        low = high = None
        for rule in info.metadata:
            if isinstance(rule, annotated_types.Ge | annotated_types.Gt):
                low = rule.ge if isinstance(rule, annotated_types.Ge) else rule.gt
            if isinstance(rule, annotated_types.Le | annotated_types.Lt):
                high = rule.le if isinstance(rule, annotated_types.Le) else rule.lt
        if low is None or high is None:
            raise SpaceError(f"{name} has no lower and upper bound (Field(ge=..., le=...))")
        kind = "int" if annotation is int else "float"
        found.append(Dimension(name, kind, float(low), float(high)))
    return found


def grid(space: list[Dimension], points: int) -> dict[str, list]:
    return {dimension.name: dimension.grid(points) for dimension in space}
