"""Patents of the synthetic world: dates, types, owners, classes, latent value and its signals."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from features.terms import expiry_dates_np
from features.world.firms import INDIVIDUAL, Assignees
from features.world.params import WorldParams

TYPES = ("invention", "utility_model", "design", "utility")  # codes; jurisdiction decides
_DAY = np.timedelta64(1, "D")


@dataclass(frozen=True)
class Patents:
    """Patent arrays sorted by grant date (index = patent number)."""

    jurisdiction: np.ndarray  # 0 CN, 1 US
    ptype: np.ndarray  # index into TYPES
    filing: np.ndarray  # datetime64[D]
    priority: np.ndarray
    grant: np.ndarray
    expiry: np.ndarray
    cls: np.ndarray  # main class index
    owner: np.ndarray  # assignee at grant
    log_value: np.ndarray  # latent log value at grant (CNY)
    z: np.ndarray  # standardised value within type
    decay: np.ndarray  # yearly value decay rate
    claims: np.ndarray
    independent: np.ndarray
    first_claim_words: np.ndarray
    family: np.ndarray
    inventors: np.ndarray
    number: np.ndarray  # serial number within the id series

    @property
    def n(self) -> int:
        """Number of patents."""
        return len(self.grant)

    def value_at(self, idx: np.ndarray, when: np.ndarray) -> np.ndarray:
        """Latent value of patents `idx` on dates `when` (decays from grant)."""
        years = (when - self.grant[idx]) / _DAY / 365.25
        return np.exp(self.log_value[idx] - self.decay[idx] * np.maximum(years, 0.0))


def _type_table(params: WorldParams, table: tuple[tuple[str, str, float], ...]) -> np.ndarray:
    """A (jurisdiction, type) parameter table as an array indexed [jurisdiction, type]."""
    out = np.zeros((2, len(TYPES)))
    for jur, typ, v in table:
        out[0 if jur == "CN" else 1, TYPES.index(typ)] = v
    return out


def _pick_weighted(
    rng: np.random.Generator, cum: np.ndarray, lo: np.ndarray, hi: np.ndarray
) -> np.ndarray:
    """Index into a cumulative-weight array for a uniform draw in each [lo, hi) block."""
    u = lo + rng.random(len(lo)) * (hi - lo)
    return np.minimum(np.searchsorted(cum, u, side="right"), len(cum) - 1)


def build_patents(
    params: WorldParams, firms: Assignees, n: int, rng: np.random.Generator
) -> Patents:
    """Draw `n` granted patents, sorted by grant date, with owners, classes and latent value."""
    years = np.asarray(params.years)
    yw = (1.0 + params.grant_growth) ** (years - years[0])
    gyear = rng.choice(years, size=n, p=yw / yw.sum())
    year_start = (gyear - 1970).astype("datetime64[Y]").astype("datetime64[D]")
    days_in_year = 365 + ((gyear % 4 == 0) & ((gyear % 100 != 0) | (gyear % 400 == 0)))
    grant = year_start + (rng.random(n) * days_in_year).astype("int64") * _DAY
    order = np.argsort(grant, kind="stable")
    grant = grant[order]

    jur = (rng.random(n) >= params.share_cn).astype(np.int8)
    cn_t = rng.choice([0, 1, 2], size=n, p=np.asarray(params.cn_type_shares))
    us_t = rng.choice([3, 2], size=n, p=np.asarray(params.us_type_shares))
    ptype = np.where(jur == 0, cn_t, us_t).astype(np.int8)

    # grant lag (years): examination takes longest for inventions and US utility patents
    lag_median = np.array([[2.2, 0.9, 0.6, 0.0], [0.0, 0.0, 1.6, 2.6]])[jur, ptype]
    lag = lag_median * np.exp(0.3 * rng.standard_normal(n))
    filing = grant - (lag * 365.25).astype("int64") * _DAY
    has_priority = rng.random(n) < np.where(jur == 1, 0.45, 0.2)
    priority = filing - np.where(has_priority, rng.integers(0, 366, n), 0) * _DAY
    jur_s = np.where(jur == 0, "CN", "US")
    expiry = expiry_dates_np(jur_s, np.asarray(TYPES)[ptype], filing, grant)

    # owner: mostly an assignee based in the patent's office, weighted by portfolio propensity
    home_match = rng.random(n) < 0.85
    want_home = np.where(home_match, jur, 1 - jur)
    owner = np.empty(n, dtype=np.int64)
    for h in (0, 1):
        members = np.flatnonzero(firms.home == h)
        if len(members) == 0:
            members = np.arange(firms.n)
        cum = np.cumsum(firms.weight[members])
        sel = np.flatnonzero(want_home == h)
        pick = _pick_weighted(rng, cum, np.zeros(len(sel)), np.full(len(sel), cum[-1]))
        owner[sel] = members[pick]

    # main class: from the owner's classes, else by overall class share
    n_cls = len(params.classes)
    share = np.array([c.share for c in params.classes])
    r_cum = firms.research_firm + np.cumsum(firms.research_weight) - np.concatenate(
        ([0.0], np.cumsum(np.bincount(firms.research_firm, weights=firms.research_weight)))
    )[firms.research_firm]
    own = _pick_weighted(rng, r_cum, owner.astype(float), owner + 1.0)
    cls = np.where(
        rng.random(n) < params.own_class_share,
        firms.research_class[own],
        rng.choice(n_cls, size=n, p=share / share.sum()),
    )

    # latent value: log-normal by office/type, shifted by class and owner kind
    mu = _type_table(params, params.log_value_mean)[jur, ptype]
    class_v = np.array([c.value for c in params.classes])[cls]
    kind_v = np.asarray(params.owner_value_effect)[firms.kind[owner]]
    eps = rng.standard_normal(n)
    log_value = mu + class_v + kind_v + params.log_value_sd * eps
    z = (log_value - mu) / params.log_value_sd
    decay = _type_table(params, params.value_decay)[jur, ptype]

    # observables that reveal value (OECD quality indicators): claims, family, first-claim length
    design = ptype == 2
    claims_base = np.array([[9.0, 7.0, 1.0, 0.0], [0.0, 0.0, 1.0, 18.0]])[jur, ptype]
    claims = np.maximum(1, np.rint(
        claims_base * np.exp(params.claims_value_slope * z + 0.3 * rng.standard_normal(n))
    )).astype(np.int64)
    claims[design] = 1
    independent = np.minimum(claims, 1 + rng.poisson(0.12 * claims * np.exp(0.2 * z)))
    words_base = np.where(jur == 0, 190.0, 150.0)
    words = np.rint(words_base * np.exp(
        params.first_claim_value_slope * z + 0.3 * rng.standard_normal(n)
    )).astype(np.int64)
    words[design] = rng.integers(8, 25, int(design.sum()))
    strong = (ptype == 0) | (ptype == 3)
    fam_mean = np.where(strong, np.exp(-0.2 + 0.5 * jur + params.family_value_slope * z),
                        0.15 * np.exp(0.3 * z))
    family = 1 + rng.poisson(fam_mean)
    inventors = 1 + rng.poisson(np.where(firms.kind[owner] == INDIVIDUAL, 0.3,
                                         np.exp(0.8 + 0.1 * z)))
    # serial numbers in grant order within each id series (CN B/U/S, US utility, US design)
    series = jur * 4 + ptype
    number = np.zeros(n, dtype=np.int64)
    for s in np.unique(series):
        sel = series == s
        number[sel] = np.arange(1, int(sel.sum()) + 1)
    return Patents(
        jurisdiction=jur, ptype=ptype, filing=filing, priority=priority, grant=grant,
        expiry=expiry, cls=cls.astype(np.int16), owner=owner, log_value=log_value, z=z,
        decay=decay, claims=claims, independent=independent, first_claim_words=words,
        family=family, inventors=inventors, number=number,
    )


def extra_classes(
    params: WorldParams, patents: Patents, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """patent_cpc rows: (patent, class, sequence), main class first, 0-3 further classes."""
    n = patents.n
    share = np.array([c.share for c in params.classes])
    k = np.minimum(rng.poisson(np.clip(0.7 + 0.3 * patents.z, 0.1, None)), 3)
    rows = np.repeat(np.arange(n), k)
    more = rng.choice(len(share), size=len(rows), p=share / share.sum())
    pat = np.concatenate([np.arange(n), rows])
    cls = np.concatenate([patents.cls.astype(np.int64), more])
    seq_key = np.concatenate([np.zeros(n), 1 + rng.random(len(rows))])
    order = np.lexsort((seq_key, pat))
    pat, cls = pat[order], cls[order]
    keep = np.ones(len(pat), dtype=bool)
    # drop a class repeated on the same patent (keep the first, which is the main class)
    key = pat * len(share) + cls
    _, first = np.unique(key, return_index=True)
    keep[:] = False
    keep[first] = True
    pat, cls = pat[keep], cls[keep]
    start = np.r_[True, pat[1:] != pat[:-1]]
    seq = np.arange(len(pat)) - np.maximum.accumulate(np.where(start, np.arange(len(pat)), 0))
    return pat, cls, seq
