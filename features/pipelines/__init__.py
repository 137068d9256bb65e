"""Point-in-time feature pipelines, labels and training snapshots."""

from __future__ import annotations

from features.pipelines.facts import FirmFacts, FirmYear, LoanFacts, PatentFacts
from features.pipelines.frames import (
    FIRM_FEATURES,
    PATENT_FEATURES,
    ContextDatabase,
    MaterializedContext,
    context_tables,
    firm_features,
    firm_features_for_facts,
    loan_features,
    loan_features_for_ids,
    loan_features_from_frames,
    patent_features,
    patent_features_for_facts,
)
from features.pipelines.holdings import patents_in_force
from features.pipelines.leakage import LeakageError
from features.pipelines.query import FeatureBlock
from features.pipelines.snapshots import build_snapshots, dataset_end_date, default_snapshot_dates
from features.registry import task_features

__all__ = [
    "FIRM_FEATURES",
    "PATENT_FEATURES",
    "ContextDatabase",
    "FeatureBlock",
    "FirmFacts",
    "FirmYear",
    "LeakageError",
    "LoanFacts",
    "MaterializedContext",
    "PatentFacts",
    "build_snapshots",
    "context_tables",
    "dataset_end_date",
    "default_snapshot_dates",
    "firm_features",
    "firm_features_for_facts",
    "loan_features",
    "loan_features_for_ids",
    "loan_features_from_frames",
    "patent_features",
    "patent_features_for_facts",
    "patents_in_force",
    "task_features",
]
