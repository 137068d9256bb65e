"""The five modelled tasks: what each predicts, its model kind and its primary gate metric."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

ModelKind = Literal["classifier", "severity", "value"]


@dataclass(frozen=True)
class TaskSpec:
    """One task: its model kind, entity, purpose and the metric the promotion gate compares."""

    name: str
    kind: ModelKind
    entity: str
    purpose: str
    primary_metric: str
    higher_is_better: bool

    @property
    def registered_name(self) -> str:
        """Name of the task's model in the MLflow registry."""
        return f"patentrisk-{self.name}"


TASK_SPECS: tuple[TaskSpec, ...] = (
    TaskSpec(
        "litigation", "classifier", "patent",
        "Probability that the patent is asserted in a lawsuit within 12 months after the as-of "
        "date; prices patent enforcement insurance (专利执行险).",
        "test_roc_auc", True,
    ),
    TaskSpec(
        "liability", "classifier", "firm",
        "Probability that the firm is named defendant in a patent infringement suit within 12 "
        "months; prices infringement liability insurance (侵犯专利权责任险).",
        "test_roc_auc", True,
    ),
    TaskSpec(
        "severity", "severity", "case",
        "Expected cost of a claim given that one happens: legal costs for enforcement, damages "
        "plus defence costs for liability.",
        "test_deviance", False,
    ),
    TaskSpec(
        "default", "classifier", "loan",
        "Probability that a patent-pledge loan defaults within its term; prices pledge-loan "
        "guarantee insurance (专利权质押贷款保证保险).",
        "test_roc_auc", True,
    ),
    TaskSpec(
        "value", "value", "patent",
        "Patent value as quantiles P10/P50/P90, learned from observed sales and licences; "
        "collateral value for pledge loans.",
        "test_pinball_mean", False,
    ),
)
TASK_NAMES: tuple[str, ...] = tuple(spec.name for spec in TASK_SPECS)


def task_spec(name: str) -> TaskSpec:
    """The spec of task `name`, or ValueError listing the known tasks."""
    for spec in TASK_SPECS:
        if spec.name == name:
            return spec
    raise ValueError(f"task must be one of {list(TASK_NAMES)}, got {name!r}")
