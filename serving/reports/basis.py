"""What every report is computed from: dataset, as-of date, models and policy in service."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import duckdb
import pandas as pd

from models.policy import Policy
from serving.errors import InvalidInputError, UnavailableError
from serving.modelset import ModelSet
from serving.reports.document import CoverItem, Text
from serving.scoring.explanations import predict

Progress = Callable[[str], None]
# Reports look back several years from their date; before this there is no patent data to show.
EARLIEST_REPORT_DATE = dt.date(1900, 1, 1)


def no_progress(_step: str) -> None:
    """A progress callback that shows nothing."""


@dataclass(frozen=True)
class ReportBasis:
    """Dataset cursor, its name and metadata, the as-of date, and the models and policy."""

    cursor: duckdb.DuckDBPyConnection
    dataset: str
    meta: dict[str, Any]
    tables: frozenset[str]
    as_of: dt.date
    models: ModelSet
    progress: Progress = field(default=no_progress)

    @property
    def policy(self) -> Policy:
        """The rating policy in service; raises `UnavailableError` (503) when none is loaded."""
        if self.models.policy is None:
            raise UnavailableError("no rating policy is loaded; try again after a reload")
        return self.models.policy

    def score(self, task: str, frame: pd.DataFrame, namespace: str | None = None,
              stored_ids: Sequence[str] = ()) -> pd.DataFrame:
        """The task model's outputs with explanations (a `serving.scoring.lending.Scorer`).

        Reports score through the pipelines for their own date, not from the online store, and
        are not serving traffic: they are not counted into the day's monitoring.
        """
        return predict(self.models.require(task), frame)

    def require(self, *tasks: str) -> None:
        """Raise `ModelNotLoadedError` (503) unless each task has a model and a policy is set."""
        for task in tasks:
            self.models.require(task)
        _ = self.policy  # raises when no policy is loaded

    def cover(
        self, tasks: tuple[str, ...], extra: list[CoverItem] | None = None
    ) -> list[CoverItem]:
        """Cover lines: dataset, as-of date, model versions, policy version and hash, extras."""
        versions = self.models.versions(*tasks)
        policy = self.models.policy
        lines = [
            CoverItem(Text("Dataset", "数据集"),
                      f"{self.dataset} ({self.meta.get('source', 'unknown source')}, data to "
                      f"{self.meta.get('end_date', '?')})"),
            CoverItem(Text("As of", "评估基准日"), self.as_of.isoformat()),
            CoverItem(Text("Models", "模型版本"),
                      ", ".join(f"{v['name']} v{v['version']}" for v in versions.values())),
            CoverItem(Text("Policy", "费率政策版本"),
                      f"{self.models.policy_version} (sha256 {self.models.policy_hash})"),
            CoverItem(Text("Currency", "币种"), policy.currency if policy else "?"),
            CoverItem(Text("Generated", "生成时间"),
                      dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")),
        ]
        return lines + (extra or [])


def resolve_as_of(requested: dt.date | None, default: dt.date, end: dt.date | None) -> dt.date:
    """The report date: `requested` (not after the data's end) or the service's as-of date."""
    if requested is None:
        return default
    if requested < EARLIEST_REPORT_DATE:
        raise InvalidInputError(
            "as_of", "not_before_1900",
            f"as_of must be on or after {EARLIEST_REPORT_DATE.isoformat()}, "
            f"got {requested.isoformat()}",
        )
    if end is not None and requested > end:
        raise InvalidInputError(
            "as_of", "not_after_data_end",
            f"as_of must be on or before the data's end date {end.isoformat()}, "
            f"got {requested.isoformat()}",
        )
    return requested
