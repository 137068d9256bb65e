"""Expected liability claim costs of many firms, priced as a liability quote prices one.

A liability quote's expected claim cost is the severity model's mean over the patents such a
claim is priced on (`serving.scoring.entities.claim_patent_ids`: patents of the firm's main
class sued in the years before the date, else the firm's own patents, else the class alone).
Market and rate reports need that cost for thousands of firms on each date: every patent any of
their claims is priced on is featured and scored once, and each firm's cost is the mean over its
own list.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from features.pipelines import patent_features, task_features
from features.registry import CLAIM_KINDS
from serving.reports.basis import ReportBasis
from serving.scoring.entities import (
    CLASS_ONLY_BASIS,
    claim_patent_ids,
    class_only_severity_frame,
)
from serving.scoring.explanations import predict_unexplained


def liability_claim_costs(basis: ReportBasis, classes: pd.Series, as_of: dt.date) -> pd.Series:
    """Expected liability claim cost per firm (index of `classes`, values its main CPC class)."""
    severity = basis.models.require("severity")
    cur, tables = basis.cursor, basis.tables
    keys = [c if isinstance(c, str) else None for c in classes.tolist()]
    priced_on: dict[str, list[str]] = {}  # firm -> the patents its claim is priced on
    class_only: set[str | None] = set()
    by_class = {k: claim_patent_ids(cur, tables, k, as_of) for k in dict.fromkeys(keys)}
    for firm, key in zip(classes.index, keys, strict=True):
        ids, how = by_class[key]
        if how == CLASS_ONLY_BASIS:
            # No suit in the class: the quote prices the firm's own granted patents, if any.
            ids, how = claim_patent_ids(cur, tables, key, as_of, str(firm))
        if ids:
            priced_on[str(firm)] = ids
        else:
            class_only.add(key)
    costs: dict[str, float] = {}
    if priced_on:
        # Every patent any claim is priced on, featured and scored once for the date.
        wanted = sorted({p for ids in priced_on.values() for p in ids})
        feats = patent_features(cur, as_of, patent_ids=wanted).set_index("patent_id")
        frame = feats.reindex(columns=task_features("severity"))
        frame["claim_kind"] = float(CLAIM_KINDS.index("liability"))
        cost_of = predict_unexplained(severity, frame)["expected_cost"]
        for firm, ids in priced_on.items():
            costs[firm] = float(np.mean(cost_of.loc[ids].to_numpy()))
    only = {k: float(predict_unexplained(severity, class_only_severity_frame(k, "liability"))
                     ["expected_cost"].iloc[0]) for k in class_only}
    return pd.Series([costs.get(str(f), only.get(k, np.nan))
                      for f, k in zip(classes.index, keys, strict=True)],
                     index=classes.index, dtype=float)
