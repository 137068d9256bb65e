"""The yearly simulation: renewals, litigation, invalidations, transfers, licences and loans.

Every year starts from the state on 1 January (owner, forward citations, earlier suits, transfers,
patents in force); the litigation and default probabilities drawn from are kept as ground truth.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from features.schema import EVENT_TYPES
from features.terms import add_months, renewal_schedule_np
from features.world.citations import Citations
from features.world.firms import LARGE, NPE, SME, Assignees, Financials
from features.world.params import WorldParams
from features.world.patents import TYPES, Patents

_DAY = np.timedelta64(1, "D")
_NAT = np.datetime64("NaT", "D")
EV = {name: i for i, name in enumerate(EVENT_TYPES)}


def _jan1(year: int) -> np.datetime64:
    """1 January of `year`."""
    return np.datetime64(f"{year}-01-01", "D")


def _sigmoid(x: np.ndarray) -> np.ndarray:
    """Logistic function."""
    return 1.0 / (1.0 + np.exp(-x))


class _Parts:
    """Column-wise accumulator of record arrays appended year by year."""

    def __init__(self, *names: str) -> None:
        self.names = names
        self.parts: dict[str, list[np.ndarray]] = {k: [] for k in names}

    def add(self, **cols: np.ndarray) -> None:
        """Append one batch of aligned columns."""
        for k in self.names:
            self.parts[k].append(np.asarray(cols[k]))

    def get(self) -> dict[str, np.ndarray]:
        """The concatenated columns."""
        return {k: (np.concatenate(v) if v else np.array([])) for k, v in self.parts.items()}


@dataclass(frozen=True)
class History:
    """Everything the yearly simulation produced, as aligned arrays per record type."""

    truth_patent_year: dict[str, np.ndarray]  # patent, year, p
    truth_firm_year: dict[str, np.ndarray]  # firm, year, p
    cases: dict[str, np.ndarray]  # patent, filed, plaintiff, defendant, invalidated_on
    events: dict[str, np.ndarray]  # patent, date, type, counterparty
    transactions: dict[str, np.ndarray]  # patent, date, price, kind (0 sale, 1 licence)
    loans: dict[str, np.ndarray]
    loan_patents: dict[str, np.ndarray]  # loan, patent
    end_of_life: np.ndarray  # datetime64[D] per patent


def _renewals(
    params: WorldParams, patents: Patents
) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
    """Fee schedule with the pay decision (value above hurdle x fee); lapse date per patent."""
    jur = np.where(patents.jurisdiction == 0, "CN", "US")
    sched = renewal_schedule_np(jur, np.asarray(TYPES)[patents.ptype], patents.filing,
                                patents.grant, patents.expiry)
    row = sched["row"]
    fee_cny = sched["fee"] * np.where(sched["currency"] == "USD", params.usd_cny, 1.0)
    value = patents.value_at(row, sched["due_date"])
    unpaid = value <= params.renewal_hurdle * fee_cny
    first_unpaid = np.full(patents.n, 10_000, dtype=np.int64)
    np.minimum.at(first_unpaid, row[unpaid], sched["fee_number"][unpaid])
    sched["paid"] = sched["fee_number"] < first_unpaid[row]
    lapse = np.full(patents.n, _NAT)
    hit = unpaid & (sched["fee_number"] == first_unpaid[row])
    lapse[row[hit]] = sched["grace_end"][hit]
    return sched, lapse, first_unpaid


@dataclass
class _State:
    """What carries from one year into the next: owners, transfer and suit counts, end of life."""

    owner: np.ndarray  # assignee per patent
    transfers: np.ndarray  # transfers per patent so far
    owner_suits: np.ndarray  # suits brought per firm so far
    eol: np.ndarray  # end of life per patent (expiry, lapse or invalidation)


@dataclass(frozen=True)
class _Drivers:
    """Fixed inputs of every year's draws: effects, year shocks, NPE buyers, product exposure."""

    class_lit: np.ndarray  # litigation effect per class
    kind_lit: np.ndarray  # litigation effect per owner kind
    year_eff: np.ndarray  # litigation shock per year
    loan_year_eff: np.ndarray  # default shock per year
    age_max: float  # peak of the age curve, so that the curve's maximum is 0
    npes: np.ndarray  # NPE firms (transfer buyers)
    npe_cum: np.ndarray  # their cumulative weights
    loans_per_year: dict[int, int]
    practising: np.ndarray  # firms that make products (may be sued)
    pf_firm: np.ndarray  # product exposure rows sorted by class: firm, class, weight
    pf_class: np.ndarray
    pf_weight: np.ndarray


@dataclass
class _Records:
    """The record accumulators the years append to."""

    truth_py: _Parts = field(default_factory=lambda: _Parts("patent", "year", "p"))
    truth_fy: _Parts = field(default_factory=lambda: _Parts("firm", "year", "p"))
    cases: _Parts = field(default_factory=lambda: _Parts(
        "patent", "filed", "plaintiff", "defendant", "invalidated_on"))
    events: _Parts = field(default_factory=lambda: _Parts("patent", "date", "type",
                                                          "counterparty"))
    trans: _Parts = field(default_factory=lambda: _Parts("patent", "date", "price", "kind"))
    loans: _Parts = field(default_factory=lambda: _Parts(
        "borrower", "start", "term", "amount", "appraised", "true_value", "p_default",
        "default_date", "lender", "recovery"))
    loan_pat: _Parts = field(default_factory=lambda: _Parts("loan", "patent"))
    loan_count: int = 0


@dataclass(frozen=True)
class _Year:
    """The 1 January state of one simulated year."""

    index: int
    year: int
    jan1: np.datetime64
    days: int
    inf: np.ndarray  # patents in force
    own: np.ndarray  # their owners

    def random_dates(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """`n` uniform days within the year."""
        return self.jan1 + (rng.random(n) * self.days).astype(np.int64) * _DAY


def simulate(
    params: WorldParams,
    patents: Patents,
    firms: Assignees,
    fin: Financials,
    cites: Citations,
    n_loans: int,
    rng: np.random.Generator,
    tick: Callable[[], None] | None = None,
) -> History:
    """Run the world from `start_year` to `end_year` and return its records and truth."""
    sched, lapse, _ = _renewals(params, patents)
    eol = np.where(np.isnat(lapse) | (lapse >= patents.expiry), patents.expiry, lapse)
    state = _State(owner=patents.owner.copy(), transfers=np.zeros(patents.n, dtype=np.int64),
                   owner_suits=np.zeros(firms.n, dtype=np.int64), eol=eol)
    drivers = _drivers(params, firms, n_loans, rng)
    rec = _Records()
    # Each step draws from `rng` in a fixed order: the same seed gives the same world.
    for yi, year in enumerate(params.years):
        jan1 = _jan1(year)
        inf = np.flatnonzero((patents.grant < jan1) & (state.eol >= jan1))
        if len(inf) > 0:
            yr = _Year(yi, year, jan1, int((_jan1(year + 1) - jan1) / _DAY), inf,
                       state.owner[inf])
            _simulate_year(params, patents, firms, fin, cites, drivers, state, rec, yr, rng)
        if tick:
            tick()
    return _history(params, sched, lapse, state, rec, rng)


def _drivers(
    params: WorldParams, firms: Assignees, n_loans: int, rng: np.random.Generator
) -> _Drivers:
    """The fixed inputs of the yearly draws (drawing the year shocks)."""
    years = list(params.years)
    year_eff = params.lit_year_sd * rng.standard_normal(len(years))
    loan_year_eff = params.default_year_sd * rng.standard_normal(len(years))
    shape, scale = params.lit_age_shape, params.lit_age_scale
    npes = np.flatnonzero(firms.kind == NPE)
    loan_years = [y for y in years if y >= params.loan_first_year]
    lw = 1.15 ** (np.arange(len(loan_years)))
    pf_order = np.argsort(firms.product_class, kind="stable")
    return _Drivers(
        class_lit=np.array([c.litigation for c in params.classes]),
        kind_lit=np.asarray(params.lit_kind),
        year_eff=year_eff,
        loan_year_eff=loan_year_eff,
        age_max=shape * np.log(shape * scale) - shape,
        npes=npes,
        npe_cum=np.cumsum(firms.weight[npes]),
        loans_per_year=dict(zip(loan_years, np.round(n_loans * lw / lw.sum()).astype(int),
                                strict=True)),
        practising=(firms.kind == LARGE) | (firms.kind == SME),
        pf_firm=firms.product_firm[pf_order],
        pf_class=firms.product_class[pf_order].astype(np.int64),
        pf_weight=firms.product_weight[pf_order],
    )


def _simulate_year(
    params: WorldParams,
    patents: Patents,
    firms: Assignees,
    fin: Financials,
    cites: Citations,
    drivers: _Drivers,
    state: _State,
    rec: _Records,
    yr: _Year,
    rng: np.random.Generator,
) -> None:
    """One year: suits on the 1 January state, invalidations, loans, transfers and licences."""
    p = _litigation_probability(params, patents, firms, cites, drivers, state, yr)
    rec.truth_py.add(patent=yr.inf.astype(np.int32), year=np.full(len(yr.inf), yr.year, np.int16),
                     p=p)
    sued = rng.random(len(yr.inf)) < p
    s_idx = yr.inf[sued]
    filed = yr.random_dates(rng, len(s_idx))
    defendant = _defendants(params, patents, firms, fin, drivers, state, rec, yr, p, s_idx, rng)
    state.owner_suits += np.bincount(state.owner[s_idx], minlength=firms.n)
    _invalidations(params, patents, state, rec, yr, sued, s_idx, filed, defendant, rng)

    # pledge loans: firms borrow against patents they own and that are in force
    pledged_now = np.zeros(0, dtype=np.int64)
    want = drivers.loans_per_year.get(yr.year, 0)
    if want > 0:
        pledged_now, made = _loans(
            params, patents, firms, fin, yr.inf, yr.own, state.eol, yr.year, want,
            rec.loan_count, drivers.loan_year_eff[yr.index], rng, rec.loans, rec.loan_pat,
            rec.events,
        )
        rec.loan_count += made

    # a patent in suit or just pledged is not sold that year
    blocked = np.zeros(patents.n, dtype=bool)
    blocked[s_idx] = True
    blocked[pledged_now] = True
    n_cls = len(params.classes)
    by_cls = yr.inf[np.argsort(patents.cls[yr.inf], kind="stable")]
    cls_sorted = patents.cls[by_cls]
    peers = (np.searchsorted(cls_sorted, np.arange(n_cls), "left"),
             np.searchsorted(cls_sorted, np.arange(n_cls), "right"), by_cls)
    _transfers(params, patents, drivers, state, rec, yr, blocked, peers, rng)
    _licences(params, patents, state, rec, yr, peers, rng)


def _litigation_probability(
    params: WorldParams,
    patents: Patents,
    firms: Assignees,
    cites: Citations,
    drivers: _Drivers,
    state: _State,
    yr: _Year,
) -> np.ndarray:
    """Probability that each patent in force is newly sued this year (hazard on 1 January)."""
    inf, own = yr.inf, yr.own
    c = patents.cls[inf].astype(np.int64)
    age = (yr.jan1 - patents.grant[inf]) / _DAY / 365.25
    fwd = cites.forward_at_jan1[yr.index, inf]
    shape, scale = params.lit_age_shape, params.lit_age_scale
    eta = (
        params.lit_base
        + params.lit_value * (patents.log_value[inf] - 12.0)
        + drivers.class_lit[c]
        + drivers.kind_lit[firms.kind[own]]
        + params.lit_claims * (np.log(patents.claims[inf]) - np.log(10.0))
        + params.lit_citations * np.log1p(fwd)
        + shape * np.log(age + 0.25) - (age + 0.25) / scale - drivers.age_max
        + params.lit_transferred * (state.transfers[inf] > 0)
        + params.lit_owner_suits * np.log1p(state.owner_suits[own])
        + params.lit_us * (patents.jurisdiction[inf] == 1)
        + drivers.year_eff[yr.index]
    )
    return -np.expm1(-np.exp(eta))


def _defendants(
    params: WorldParams,
    patents: Patents,
    firms: Assignees,
    fin: Financials,
    drivers: _Drivers,
    state: _State,
    rec: _Records,
    yr: _Year,
    p: np.ndarray,
    s_idx: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:
    """Defendant of each new suit (-1 if none): firms practising the class, by revenue x weight.

    Also records each practising firm's probability of being sued this year (`truth_firm_year`).
    """
    n_cls = len(params.classes)
    pf_firm, pf_class = drivers.pf_firm, drivers.pf_class
    own = yr.own
    c = patents.cls[yr.inf].astype(np.int64)
    fiscal = yr.year - 2  # the latest fiscal year known on 31 December of year - 1
    rev = fin.column(fin.revenue, pf_firm, np.full(len(pf_firm), fiscal))
    ok = np.isfinite(rev) & (firms.founded[pf_firm] <= fiscal)
    e = np.where(ok, rev * drivers.pf_weight, 0.0)
    total_c = np.bincount(pf_class, weights=e, minlength=n_cls)
    ex = np.zeros(firms.n * n_cls)
    np.add.at(ex, pf_firm * n_cls + pf_class, e)
    denom = total_c[c] - ex[own * n_cls + c]
    r = np.where(denom > 0, p / np.where(denom > 0, denom, 1.0), 0.0)
    # log P(not sued) per firm: the series of log(1 - r e) over the suits it could be named in
    log_q = np.zeros(firms.n)
    term = np.zeros(len(pf_firm))
    rk = np.ones(len(r))
    ek = np.ones(len(e))
    for k in range(1, 7):
        rk = rk * r
        ek = ek * e
        r_class = np.bincount(c, weights=rk, minlength=n_cls)
        r_own = np.bincount(own * n_cls + c, weights=rk, minlength=firms.n * n_cls)
        term += ek * (r_class[pf_class] - r_own[pf_firm * n_cls + pf_class]) / k
    np.add.at(log_q, pf_firm, -term)
    eligible_firm = np.zeros(firms.n, dtype=bool)
    eligible_firm[pf_firm[ok]] = True
    ef = np.flatnonzero(eligible_firm & drivers.practising)
    rec.truth_fy.add(firm=ef.astype(np.int32), year=np.full(len(ef), yr.year, np.int16),
                     p=-np.expm1(log_q[ef]))

    cum = np.cumsum(e)
    lo_c = np.concatenate(([0.0], cum))[np.searchsorted(pf_class, np.arange(n_cls), "left")]
    hi_c = np.concatenate(([0.0], cum))[np.searchsorted(pf_class, np.arange(n_cls), "right")]
    s_cls = patents.cls[s_idx].astype(np.int64)
    s_own = state.owner[s_idx]
    defendant = np.full(len(s_idx), -1, dtype=np.int64)
    todo = np.flatnonzero(total_c[s_cls] - ex[s_own * n_cls + s_cls] > 0)
    for _ in range(200):  # redraw picks that hit the plaintiff itself
        if len(todo) == 0:
            break
        u = lo_c[s_cls[todo]] + rng.random(len(todo)) * (hi_c[s_cls[todo]] - lo_c[s_cls[todo]])
        pick = pf_firm[np.minimum(np.searchsorted(cum, u, side="right"), len(cum) - 1)]
        good = pick != s_own[todo]
        defendant[todo[good]] = pick[good]
        todo = todo[~good]
    return defendant


def _invalidations(
    params: WorldParams,
    patents: Patents,
    state: _State,
    rec: _Records,
    yr: _Year,
    sued: np.ndarray,
    s_idx: np.ndarray,
    filed: np.ndarray,
    defendant: np.ndarray,
    rng: np.random.Generator,
) -> None:
    """Invalidation requests (mostly by defendants after a suit), their decisions, the cases."""
    req_after = rng.random(len(s_idx)) < params.invalidation_after_suit
    req_bg = rng.random(len(yr.inf)) < params.invalidation_background
    bg_idx = yr.inf[req_bg & ~sued]
    r_pat = np.concatenate([s_idx[req_after], bg_idx])
    r_date = np.concatenate([
        filed[req_after] + rng.integers(30, 180, int(req_after.sum())) * _DAY,
        yr.random_dates(rng, len(bg_idx)),
    ])
    r_who = np.concatenate([defendant[req_after], np.full(len(bg_idx), -1)])
    alive = r_date < state.eol[r_pat]
    r_pat, r_date, r_who = r_pat[alive], r_date[alive], r_who[alive]
    decided = r_date + (300 * np.exp(0.3 * rng.standard_normal(len(r_pat)))).astype(
        np.int64) * _DAY
    win = rng.random(len(r_pat)) < _sigmoid(
        np.log(params.invalidation_success / (1 - params.invalidation_success))
        - 0.6 * patents.z[r_pat]
    )
    rec.events.add(patent=r_pat, date=r_date,
                   type=np.full(len(r_pat), EV["invalidation_requested"]), counterparty=r_who)
    done = decided < state.eol[r_pat]
    rec.events.add(patent=r_pat[done], date=decided[done],
                   type=np.where(win[done], EV["invalidated"], EV["upheld"]),
                   counterparty=r_who[done])
    inv_pat, inv_date = r_pat[done & win], decided[done & win]
    state.eol[inv_pat] = np.minimum(state.eol[inv_pat], inv_date)
    invalidated_on = np.full(len(s_idx), _NAT)
    via_case = np.flatnonzero(req_after)[alive[: int(req_after.sum())]]
    w_case = (done & win)[: len(via_case)]
    invalidated_on[via_case[w_case]] = decided[: len(via_case)][w_case]
    rec.cases.add(patent=s_idx, filed=filed, plaintiff=state.owner[s_idx], defendant=defendant,
                  invalidated_on=invalidated_on)


def _transfers(
    params: WorldParams,
    patents: Patents,
    drivers: _Drivers,
    state: _State,
    rec: _Records,
    yr: _Year,
    blocked: np.ndarray,
    peers: tuple[np.ndarray, np.ndarray, np.ndarray],
    rng: np.random.Generator,
) -> None:
    """Sales of patents in force to a peer or an NPE; some prices are disclosed."""
    inf = yr.inf
    t_p = params.transfer_rate * np.exp(0.3 * patents.z[inf])
    t_mask = (rng.random(len(inf)) < t_p) & ~blocked[inf]
    t_idx = inf[t_mask]
    t_date = yr.random_dates(rng, len(t_idx))
    q_npe = np.minimum(0.9, params.npe_buyer_share * np.exp(
        0.8 * (drivers.class_lit[patents.cls[t_idx]] - 1.0) + 0.6 * patents.z[t_idx]))
    npes, npe_cum = drivers.npes, drivers.npe_cum
    to_npe = (rng.random(len(t_idx)) < q_npe) & (len(npes) > 0)
    buyer = _peer_owner(rng, patents.cls[t_idx], peers, state.owner)
    if len(npes):
        pick = np.searchsorted(npe_cum, rng.random(len(t_idx)) * npe_cum[-1], side="right")
        buyer = np.where(to_npe, npes[np.minimum(pick, len(npes) - 1)], buyer)
    keep = (buyer != state.owner[t_idx]) & (t_date < state.eol[t_idx])
    t_idx, t_date, buyer = t_idx[keep], t_date[keep], buyer[keep]
    rec.events.add(patent=t_idx, date=t_date, type=np.full(len(t_idx), EV["transferred"]),
                   counterparty=buyer)
    sold = rng.random(len(t_idx)) < params.sale_price_disclosed
    rec.trans.add(patent=t_idx[sold], date=t_date[sold],
                  price=patents.value_at(t_idx[sold], t_date[sold])
                  * np.exp(params.price_noise_sd * rng.standard_normal(int(sold.sum()))),
                  kind=np.zeros(int(sold.sum()), np.int8))
    state.owner[t_idx] = buyer
    state.transfers[t_idx] += 1


def _licences(
    params: WorldParams,
    patents: Patents,
    state: _State,
    rec: _Records,
    yr: _Year,
    peers: tuple[np.ndarray, np.ndarray, np.ndarray],
    rng: np.random.Generator,
) -> None:
    """Licences of patents in force to a peer; some prices are disclosed."""
    inf = yr.inf
    l_mask = rng.random(len(inf)) < params.licence_rate * np.exp(0.4 * patents.z[inf])
    l_idx = inf[l_mask]
    l_date = yr.random_dates(rng, len(l_idx))
    licensee = _peer_owner(rng, patents.cls[l_idx], peers, state.owner)
    keep = (licensee != state.owner[l_idx]) & (l_date < state.eol[l_idx])
    l_idx, l_date, licensee = l_idx[keep], l_date[keep], licensee[keep]
    rec.events.add(patent=l_idx, date=l_date, type=np.full(len(l_idx), EV["licensed"]),
                   counterparty=licensee)
    shown = rng.random(len(l_idx)) < params.licence_price_disclosed
    rec.trans.add(patent=l_idx[shown], date=l_date[shown],
                  price=patents.value_at(l_idx[shown], l_date[shown])
                  * np.exp(params.price_noise_sd * rng.standard_normal(int(shown.sum()))),
                  kind=np.ones(int(shown.sum()), np.int8))


def _history(
    params: WorldParams,
    sched: dict[str, np.ndarray],
    lapse: np.ndarray,
    state: _State,
    rec: _Records,
    rng: np.random.Generator,
) -> History:
    """Renewals and lapses cut at the end of life and of the data, then every record."""
    end = np.datetime64(params.end_date, "D")
    eol = state.eol
    row = sched["row"]
    pay_date = sched["due_date"] - rng.integers(0, 60, len(row)) * _DAY
    paid = sched["paid"] & (pay_date < eol[row]) & (pay_date <= end)
    rec.events.add(patent=row[paid], date=pay_date[paid], type=np.full(int(paid.sum()),
                   EV["renewal_paid"]), counterparty=np.full(int(paid.sum()), -1))
    lapsed = np.flatnonzero(~np.isnat(lapse) & (lapse == eol) & (lapse <= end))
    rec.events.add(patent=lapsed, date=lapse[lapsed], type=np.full(len(lapsed), EV["lapsed"]),
                   counterparty=np.full(len(lapsed), -1))
    ev = rec.events.get()
    keep = ev["date"] <= end
    ev = {k: v[keep] for k, v in ev.items()}
    return History(
        truth_patent_year=rec.truth_py.get(), truth_firm_year=rec.truth_fy.get(),
        cases=rec.cases.get(), events=ev, transactions=rec.trans.get(), loans=rec.loans.get(),
        loan_patents=rec.loan_pat.get(), end_of_life=eol,
    )


def _peer_owner(
    rng: np.random.Generator,
    cls: np.ndarray,
    peers: tuple[np.ndarray, np.ndarray, np.ndarray],
    owner: np.ndarray,
) -> np.ndarray:
    """Owner of a random patent in force in the same class (a portfolio-size-biased firm draw)."""
    blo, bhi, by_cls = peers
    pos = blo[cls] + (rng.random(len(cls)) * (bhi[cls] - blo[cls])).astype(np.int64)
    return owner[by_cls[np.minimum(pos, len(by_cls) - 1)]]


def _loans(
    params: WorldParams,
    patents: Patents,
    firms: Assignees,
    fin: Financials,
    inf: np.ndarray,
    own: np.ndarray,
    eol: np.ndarray,
    year: int,
    want: int,
    first_loan: int,
    year_effect: float,
    rng: np.random.Generator,
    loans: _Parts,
    loan_pat: _Parts,
    events: _Parts,
) -> tuple[np.ndarray, int]:
    """Draw this year's pledge loans; return the pledged patents and the number of loans."""
    jan1 = _jan1(year)
    end = np.datetime64(params.end_date, "D")
    kind = firms.kind[own]
    cand_pat = inf[(kind == SME) | (kind == LARGE)]
    if len(cand_pat) == 0:
        return np.zeros(0, dtype=np.int64), 0
    cand_own = own[(kind == SME) | (kind == LARGE)]
    firms_with, n_held = np.unique(cand_own, return_counts=True)
    ok = firms.founded[firms_with] <= year - 2
    firms_with, n_held = firms_with[ok], n_held[ok]
    if len(firms_with) == 0:
        return np.zeros(0, dtype=np.int64), 0
    # loan slots drawn with replacement: SMEs borrow far more often, bigger portfolios more often;
    # a firm may take several loans a year, each against different patents
    w = np.where(firms.kind[firms_with] == SME, 3.0, 1.0) * (1.0 + np.log(n_held))
    slot_firm = np.sort(firms_with[np.searchsorted(np.cumsum(w), rng.random(want) * w.sum(),
                                                   side="right").clip(0, len(w) - 1)])
    m = len(slot_firm)
    start = jan1 + rng.integers(0, 365, m) * _DAY
    term = rng.choice(np.asarray(params.loan_terms), size=m, p=np.asarray(params.loan_term_shares))
    k = 1 + rng.poisson(1.0, m)
    # slot j of a firm takes the patents ranked [offset_j, offset_j + k_j) in a random order
    first_slot = np.r_[True, slot_firm[1:] != slot_firm[:-1]]
    csum = np.cumsum(k)
    offset = csum - k - np.maximum.accumulate(np.where(first_slot, csum - k, 0))
    f_lo = np.searchsorted(slot_firm, cand_own, side="left")
    f_hi = np.searchsorted(slot_firm, cand_own, side="right")
    is_b = f_hi > f_lo
    cp, cf = cand_pat[is_b], cand_own[is_b]
    # banks take the borrower's more valuable patents first (with noise)
    order = np.lexsort((-(patents.log_value[cp] + rng.gumbel(size=len(cp))), cf))
    cp, cf = cp[order], cf[order]
    first = np.r_[True, cf[1:] != cf[:-1]] if len(cf) else np.zeros(0, bool)
    rank = np.arange(len(cf)) - np.maximum.accumulate(np.where(first, np.arange(len(cf)), 0))
    # map each (firm, rank) to the slot whose range holds it
    lo = np.searchsorted(slot_firm, cf, side="left")
    hi = np.searchsorted(slot_firm, cf, side="right")
    slot_key = slot_firm.astype(np.float64) * 1e6 + offset  # firm-major, offset within firm
    pos = np.searchsorted(slot_key, cf.astype(np.float64) * 1e6 + rank, side="right") - 1
    pos = np.clip(pos, lo, hi - 1)
    take = rank < offset[pos] + k[pos]
    cp, cb = cp[take], pos[take]
    alive = eol[cp] > start[cb]
    cp, cb = cp[alive], cb[alive]
    has = np.bincount(cb, minlength=m) > 0
    new_no = np.cumsum(has) - 1
    borrowers, start, term = slot_firm[has], start[has], term[has]
    cb = new_no[cb]
    m = len(borrowers)
    if m == 0:
        return np.zeros(0, dtype=np.int64), 0
    order = np.argsort(cb, kind="stable")
    cp, cb = cp[order], cb[order]
    true_value = np.bincount(cb, weights=patents.value_at(cp, start[cb]), minlength=m)
    appraised = true_value * np.exp(params.appraisal_sd * rng.standard_normal(m))
    ltv = rng.uniform(*params.ltv_range, size=m)
    amount = np.maximum(1_000.0, np.round(ltv * appraised / 1_000.0) * 1_000.0)
    ltv = amount / appraised
    # financials known at the start: fiscal year Y-1 is published on 1 April of year Y
    month = (start.astype("datetime64[M]") - start.astype("datetime64[Y]")).astype(np.int64)
    fy = np.where(month >= 3, year - 1, year - 2)
    rev = fin.column(fin.revenue, borrowers, fy)
    debt_ratio = fin.column(fin.debt, borrowers, fy) / fin.column(fin.total_assets, borrowers, fy)
    margin = fin.column(fin.net_income, borrowers, fy) / rev
    log_h = (
        params.default_base
        + params.default_debt_ratio * (np.nan_to_num(debt_ratio, nan=0.42) - 0.42)
        + params.default_margin * (np.nan_to_num(margin, nan=0.06) - 0.06)
        + params.default_log_revenue * (np.log(np.nan_to_num(rev, nan=3e7)) - np.log(3e7))
        + params.default_ltv * (ltv - 0.35)
        + year_effect
    )
    h = np.exp(log_h)
    t_years = term / 12.0
    p_default = -np.expm1(-h * t_years)
    defaults = rng.random(m) < p_default
    u = rng.random(m)
    t_def = -np.log1p(-u * p_default) / h  # truncated exponential time within the term
    default_date = np.where(defaults, start + (t_def * 365.25).astype(np.int64) * _DAY, _NAT)
    default_date = np.where(default_date > end, _NAT, default_date)
    maturity = add_months(start, term)
    recovery = np.where(
        ~np.isnat(default_date),
        np.minimum(amount, true_value * params.recovery_share
                   * np.exp(0.3 * rng.standard_normal(m))),
        np.nan,
    )
    lenders = rng.integers(0, 12, m)
    loan_ids = first_loan + np.arange(m)
    loans.add(borrower=borrowers, start=start, term=term, amount=amount, appraised=appraised,
              true_value=true_value, p_default=p_default, default_date=default_date,
              lender=lenders, recovery=recovery)
    loan_pat.add(loan=loan_ids[cb], patent=cp)
    events.add(patent=cp, date=start[cb], type=np.full(len(cp), EV["pledged"]),
               counterparty=np.full(len(cp), -1))
    released = ~defaults[cb] & (maturity[cb] <= end) & (maturity[cb] < eol[cp])
    events.add(patent=cp[released], date=maturity[cb][released],
               type=np.full(int(released.sum()), EV["pledge_released"]),
               counterparty=np.full(int(released.sum()), -1))
    return cp, m
