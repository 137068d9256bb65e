"""Expected liability claim costs of many firms, priced as a liability quote prices one.

A liability quote's expected claim cost is the severity model's mean over the patents such a
claim is priced on (`serving.scoring.entities.claim_patent_ids`: patents of the firm's main
class sued in the years before the date, else the firm's own patents, else the class alone).
Market and rate reports need that cost for thousands of firms: the class rows are scored once
per class and date, and the firms that fall back to their own patents are scored in one batch.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from features.pipelines import patent_features, task_features
from features.registry import CLAIM_KINDS
from serving.reports.basis import ReportBasis
from serving.scoring.entities import CLASS_ONLY_BASIS, claim_patent_ids, class_severity_frame
from serving.scoring.explanations import predict_unexplained


def liability_claim_costs(basis: ReportBasis, classes: pd.Series, as_of: dt.date) -> pd.Series:
    """Expected liability claim cost per firm (index of `classes`, values its main CPC class)."""
    severity = basis.models.require("severity")
    cur, tables = basis.cursor, basis.tables

    def mean_cost(frame: pd.DataFrame) -> float:
        return float(predict_unexplained(severity, frame)["expected_cost"].mean())

    by_class: dict[str | None, tuple[float, str]] = {}
    for cls in dict.fromkeys(classes.tolist()):
        key = cls if isinstance(cls, str) else None
        frame, how = class_severity_frame(cur, tables, key, "liability", as_of)
        by_class[key] = (mean_cost(frame), how)
    costs: dict[str, float] = {}
    own: dict[str, list[str]] = {}
    for firm, cls in classes.items():
        key = cls if isinstance(cls, str) else None
        cost, how = by_class[key]
        if how == CLASS_ONLY_BASIS:
            # No suit in the class: the quote prices the firm's own granted patents, if any.
            ids, _how = claim_patent_ids(cur, tables, key, as_of, str(firm))
            if ids:
                own[str(firm)] = ids
                continue
        costs[str(firm)] = cost
    if own:
        wanted = sorted({p for ids in own.values() for p in ids})
        feats = patent_features(cur, as_of, patent_ids=wanted).set_index("patent_id")
        frame = feats.reindex(columns=task_features("severity"))
        frame["claim_kind"] = float(CLAIM_KINDS.index("liability"))
        cost_of = predict_unexplained(severity, frame)["expected_cost"]
        for firm, ids in own.items():
            costs[firm] = float(np.mean(cost_of.loc[ids].to_numpy()))
    return pd.Series([costs[str(f)] for f in classes.index], index=classes.index, dtype=float)
