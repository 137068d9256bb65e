"""Litigation cases: venue, duration, outcome, damages and legal costs of each suit."""

from __future__ import annotations

import numpy as np

from features.world.firms import NPE, Assignees
from features.world.params import WorldParams
from features.world.patents import Patents

CN_VENUES = ("Beijing IP Court", "Shanghai IP Court", "Guangzhou IP Court",
             "Shenzhen Intermediate People's Court", "Suzhou Intermediate People's Court")
US_VENUES = ("E.D. Tex.", "W.D. Tex.", "D. Del.", "N.D. Cal.", "C.D. Cal.", "N.D. Ill.")
OUTCOMES = ("settled", "plaintiff_won", "defendant_won", "dismissed", "invalidated")
_DAY = np.timedelta64(1, "D")
_NAT = np.datetime64("NaT", "D")


def case_details(
    params: WorldParams,
    patents: Patents,
    firms: Assignees,
    cases: dict[str, np.ndarray],
    rng: np.random.Generator,
) -> dict[str, np.ndarray]:
    """Add venue, closed date, outcome (-1 open), damages and legal costs to the suits."""
    pat = cases["patent"].astype(np.int64)
    m = len(pat)
    us = patents.jurisdiction[pat] == 1
    npe = firms.kind[cases["plaintiff"].astype(np.int64)] == NPE
    z = patents.z[pat]
    cls_lit = np.array([c.litigation for c in params.classes])[patents.cls[pat]]
    filed = cases["filed"]
    end = np.datetime64(params.end_date, "D")

    # venue: NPEs favour the Texas districts in the US
    us_w = np.where(npe[:, None], [0.35, 0.3, 0.15, 0.08, 0.07, 0.05],
                    [0.12, 0.08, 0.3, 0.22, 0.16, 0.12])
    us_pick = (rng.random(m)[:, None] > np.cumsum(us_w, axis=1)).sum(axis=1)
    cn_pick = rng.choice(len(CN_VENUES), size=m, p=[0.3, 0.25, 0.2, 0.15, 0.1])
    venue = np.where(us, np.asarray(US_VENUES, dtype=object)[np.minimum(us_pick, 5)],
                     np.asarray(CN_VENUES, dtype=object)[cn_pick])

    years = params.case_duration_median_years * np.where(us, 1.4, 1.0) * np.exp(
        0.5 * rng.standard_normal(m))
    closed = filed + np.maximum(30, (years * 365.25).astype(np.int64)) * _DAY

    # outcome: stronger patents win more, NPEs settle more
    base = np.log(np.asarray(params.outcome_shares))
    logits = np.tile(base, (m, 1))
    logits[:, 0] += 0.5 * npe
    logits[:, 1] += 0.5 * z - 0.3 * npe
    logits[:, 2] -= 0.3 * z
    prob = np.exp(logits)
    prob /= prob.sum(axis=1, keepdims=True)
    outcome = (rng.random(m)[:, None] > np.cumsum(prob, axis=1)).sum(axis=1)
    outcome = np.minimum(outcome, 3)
    inv = cases["invalidated_on"]
    by_inv = ~np.isnat(inv) & (inv <= closed)
    outcome = np.where(by_inv, 4, outcome)
    closed = np.where(by_inv, np.maximum(inv, filed), closed)

    value = patents.value_at(pat, filed)
    damages = np.where(
        outcome == 1, value * 0.3 * np.exp(0.3 * cls_lit + 0.8 * rng.standard_normal(m)),
        np.where(outcome == 0, value * 0.08 * np.exp(0.3 * cls_lit + 0.8 * rng.standard_normal(m)),
                 0.0),
    )
    cost_scale = params.legal_cost_median * np.where(us, params.us_cost_multiple, 1.0)
    size = np.exp(0.15 * z + 0.2 * cls_lit) * np.sqrt(years)
    p_cost = cost_scale * size * np.where(npe, 0.7, 1.0) * np.exp(0.6 * rng.standard_normal(m))
    d_cost = cost_scale * size * np.exp(0.6 * rng.standard_normal(m))
    open_ = closed > end
    outcome = np.where(open_, -1, outcome)
    nan = np.where(open_, np.nan, 1.0)
    return {
        **cases,
        "venue": venue,
        "closed": np.where(open_, _NAT, closed),
        "outcome": outcome,
        "damages": np.round(damages, 2) * nan,
        "plaintiff_legal_cost": np.round(p_cost, 2) * nan,
        "defendant_legal_cost": np.round(d_cost, 2) * nan,
    }
