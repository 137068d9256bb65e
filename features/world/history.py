"""The yearly simulation: renewals, litigation, invalidations, transfers, licences and loans.

Every year starts from the state on 1 January (owner, forward citations, earlier suits, transfers,
patents in force); the litigation and default probabilities drawn from are kept as ground truth.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

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
    n, n_cls = patents.n, len(params.classes)
    end = np.datetime64(params.end_date, "D")
    sched, lapse, _ = _renewals(params, patents)
    eol = np.where(np.isnat(lapse) | (lapse >= patents.expiry), patents.expiry, lapse)
    owner = patents.owner.copy()
    transfers = np.zeros(n, dtype=np.int64)
    owner_suits = np.zeros(firms.n, dtype=np.int64)
    class_lit = np.array([c.litigation for c in params.classes])
    kind_lit = np.asarray(params.lit_kind)
    years = list(params.years)
    year_eff = params.lit_year_sd * rng.standard_normal(len(years))
    loan_year_eff = params.default_year_sd * rng.standard_normal(len(years))
    shape, scale = params.lit_age_shape, params.lit_age_scale
    age_max = shape * np.log(shape * scale) - shape
    log_claims_ref = np.log(10.0)
    npes = np.flatnonzero(firms.kind == NPE)
    npe_cum = np.cumsum(firms.weight[npes])
    loan_years = [y for y in years if y >= params.loan_first_year]
    lw = 1.15 ** (np.arange(len(loan_years)))
    loans_per_year = dict(zip(loan_years, np.round(n_loans * lw / lw.sum()).astype(int),
                              strict=True))
    practising = (firms.kind == LARGE) | (firms.kind == SME)
    pf_order = np.argsort(firms.product_class, kind="stable")
    pf_firm = firms.product_firm[pf_order]
    pf_class = firms.product_class[pf_order].astype(np.int64)
    pf_weight = firms.product_weight[pf_order]

    truth_py = _Parts("patent", "year", "p")
    truth_fy = _Parts("firm", "year", "p")
    cases = _Parts("patent", "filed", "plaintiff", "defendant", "invalidated_on")
    events = _Parts("patent", "date", "type", "counterparty")
    trans = _Parts("patent", "date", "price", "kind")
    loans = _Parts("borrower", "start", "term", "amount", "appraised", "true_value", "p_default",
                   "default_date", "lender", "recovery")
    loan_pat = _Parts("loan", "patent")
    loan_count = 0

    for yi, year in enumerate(years):
        jan1 = _jan1(year)
        days = int((_jan1(year + 1) - jan1) / _DAY)
        inf = np.flatnonzero((patents.grant < jan1) & (eol >= jan1))
        if len(inf) == 0:
            if tick:
                tick()
            continue
        own = owner[inf]
        c = patents.cls[inf].astype(np.int64)
        z = patents.z[inf]
        age = (jan1 - patents.grant[inf]) / _DAY / 365.25
        fwd = cites.forward_at_jan1[yi, inf]

        # --- litigation hazard on the 1 January state ---
        eta = (
            params.lit_base
            + params.lit_value * (patents.log_value[inf] - 12.0)
            + class_lit[c]
            + kind_lit[firms.kind[own]]
            + params.lit_claims * (np.log(patents.claims[inf]) - log_claims_ref)
            + params.lit_citations * np.log1p(fwd)
            + shape * np.log(age + 0.25) - (age + 0.25) / scale - age_max
            + params.lit_transferred * (transfers[inf] > 0)
            + params.lit_owner_suits * np.log1p(owner_suits[own])
            + params.lit_us * (patents.jurisdiction[inf] == 1)
            + year_eff[yi]
        )
        p = -np.expm1(-np.exp(eta))
        truth_py.add(patent=inf.astype(np.int32), year=np.full(len(inf), year, np.int16), p=p)
        sued = rng.random(len(inf)) < p
        s_idx = inf[sued]
        filed = jan1 + (rng.random(len(s_idx)) * days).astype(np.int64) * _DAY

        # --- defendants: firms practising the class, weighted by revenue x class weight ---
        fiscal = year - 2  # the latest fiscal year known on 31 December of year - 1
        rev = fin.column(fin.revenue, pf_firm, np.full(len(pf_firm), fiscal))
        ok = np.isfinite(rev) & (firms.founded[pf_firm] <= fiscal)
        e = np.where(ok, rev * pf_weight, 0.0)
        total_c = np.bincount(pf_class, weights=e, minlength=n_cls)
        ex = np.zeros(firms.n * n_cls)
        np.add.at(ex, pf_firm * n_cls + pf_class, e)
        denom = total_c[c] - ex[own * n_cls + c]
        r = np.where(denom > 0, p / np.where(denom > 0, denom, 1.0), 0.0)
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
        ef = np.flatnonzero(eligible_firm & practising)
        truth_fy.add(firm=ef.astype(np.int32), year=np.full(len(ef), year, np.int16),
                     p=-np.expm1(log_q[ef]))
        cum = np.cumsum(e)
        lo_c = np.concatenate(([0.0], cum))[np.searchsorted(pf_class, np.arange(n_cls), "left")]
        hi_c = np.concatenate(([0.0], cum))[np.searchsorted(pf_class, np.arange(n_cls), "right")]
        s_cls = patents.cls[s_idx].astype(np.int64)
        s_own = owner[s_idx]
        defendant = np.full(len(s_idx), -1, dtype=np.int64)
        todo = np.flatnonzero(total_c[s_cls] - ex[s_own * n_cls + s_cls] > 0)
        for _ in range(200):
            if len(todo) == 0:
                break
            u = lo_c[s_cls[todo]] + rng.random(len(todo)) * (hi_c[s_cls[todo]] - lo_c[s_cls[todo]])
            pick = pf_firm[np.minimum(np.searchsorted(cum, u, side="right"), len(cum) - 1)]
            good = pick != s_own[todo]
            defendant[todo[good]] = pick[good]
            todo = todo[~good]
        owner_suits += np.bincount(s_own, minlength=firms.n)

        # --- invalidation requests: mostly by defendants after a suit ---
        req_after = rng.random(len(s_idx)) < params.invalidation_after_suit
        req_bg = rng.random(len(inf)) < params.invalidation_background
        bg_idx = inf[req_bg & ~sued]
        r_pat = np.concatenate([s_idx[req_after], bg_idx])
        r_date = np.concatenate([
            filed[req_after] + rng.integers(30, 180, int(req_after.sum())) * _DAY,
            jan1 + (rng.random(len(bg_idx)) * days).astype(np.int64) * _DAY,
        ])
        r_who = np.concatenate([defendant[req_after], np.full(len(bg_idx), -1)])
        alive = r_date < eol[r_pat]
        r_pat, r_date, r_who = r_pat[alive], r_date[alive], r_who[alive]
        decided = r_date + (300 * np.exp(0.3 * rng.standard_normal(len(r_pat)))).astype(
            np.int64) * _DAY
        win = rng.random(len(r_pat)) < _sigmoid(
            np.log(params.invalidation_success / (1 - params.invalidation_success))
            - 0.6 * patents.z[r_pat]
        )
        events.add(patent=r_pat, date=r_date,
                   type=np.full(len(r_pat), EV["invalidation_requested"]), counterparty=r_who)
        done = decided < eol[r_pat]
        events.add(patent=r_pat[done], date=decided[done],
                   type=np.where(win[done], EV["invalidated"], EV["upheld"]),
                   counterparty=r_who[done])
        inv_pat, inv_date = r_pat[done & win], decided[done & win]
        eol[inv_pat] = np.minimum(eol[inv_pat], inv_date)
        invalidated_on = np.full(len(s_idx), _NAT)
        via_case = np.flatnonzero(req_after)[alive[: int(req_after.sum())]]
        w_case = (done & win)[: len(via_case)]
        invalidated_on[via_case[w_case]] = decided[: len(via_case)][w_case]
        cases.add(patent=s_idx, filed=filed, plaintiff=s_own, defendant=defendant,
                  invalidated_on=invalidated_on)

        # --- pledge loans: firms borrow against patents they own and that are in force ---
        pledged_now = np.zeros(0, dtype=np.int64)
        want = loans_per_year.get(year, 0)
        if want > 0:
            pledged_now, made = _loans(
                params, patents, firms, fin, inf, own, eol, year, want, loan_count,
                loan_year_eff[yi], rng, loans, loan_pat, events,
            )
            loan_count += made

        # --- transfers and licences (a patent in suit or just pledged is not sold that year) ---
        blocked = np.zeros(n, dtype=bool)
        blocked[s_idx] = True
        blocked[pledged_now] = True
        by_cls = inf[np.argsort(patents.cls[inf], kind="stable")]
        cls_sorted = patents.cls[by_cls]
        blo = np.searchsorted(cls_sorted, np.arange(n_cls), "left")
        bhi = np.searchsorted(cls_sorted, np.arange(n_cls), "right")
        peers = (blo, bhi, by_cls)

        t_p = params.transfer_rate * np.exp(0.3 * z)
        t_mask = (rng.random(len(inf)) < t_p) & ~blocked[inf]
        t_idx = inf[t_mask]
        t_date = jan1 + (rng.random(len(t_idx)) * days).astype(np.int64) * _DAY
        q_npe = np.minimum(0.9, params.npe_buyer_share * np.exp(
            0.8 * (class_lit[patents.cls[t_idx]] - 1.0) + 0.6 * patents.z[t_idx]))
        to_npe = (rng.random(len(t_idx)) < q_npe) & (len(npes) > 0)
        buyer = _peer_owner(rng, patents.cls[t_idx], peers, owner)
        if len(npes):
            pick = np.searchsorted(npe_cum, rng.random(len(t_idx)) * npe_cum[-1], side="right")
            buyer = np.where(to_npe, npes[np.minimum(pick, len(npes) - 1)], buyer)
        keep = (buyer != owner[t_idx]) & (t_date < eol[t_idx])
        t_idx, t_date, buyer = t_idx[keep], t_date[keep], buyer[keep]
        events.add(patent=t_idx, date=t_date, type=np.full(len(t_idx), EV["transferred"]),
                   counterparty=buyer)
        sold = rng.random(len(t_idx)) < params.sale_price_disclosed
        trans.add(patent=t_idx[sold], date=t_date[sold],
                  price=patents.value_at(t_idx[sold], t_date[sold])
                  * np.exp(params.price_noise_sd * rng.standard_normal(int(sold.sum()))),
                  kind=np.zeros(int(sold.sum()), np.int8))
        owner[t_idx] = buyer
        transfers[t_idx] += 1

        l_mask = rng.random(len(inf)) < params.licence_rate * np.exp(0.4 * z)
        l_idx = inf[l_mask]
        l_date = jan1 + (rng.random(len(l_idx)) * days).astype(np.int64) * _DAY
        licensee = _peer_owner(rng, patents.cls[l_idx], peers, owner)
        keep = (licensee != owner[l_idx]) & (l_date < eol[l_idx])
        l_idx, l_date, licensee = l_idx[keep], l_date[keep], licensee[keep]
        events.add(patent=l_idx, date=l_date, type=np.full(len(l_idx), EV["licensed"]),
                   counterparty=licensee)
        shown = rng.random(len(l_idx)) < params.licence_price_disclosed
        trans.add(patent=l_idx[shown], date=l_date[shown],
                  price=patents.value_at(l_idx[shown], l_date[shown])
                  * np.exp(params.price_noise_sd * rng.standard_normal(int(shown.sum()))),
                  kind=np.ones(int(shown.sum()), np.int8))
        if tick:
            tick()

    # --- renewals and lapses, cut at the end of life and the end of the data ---
    row = sched["row"]
    pay_date = sched["due_date"] - rng.integers(0, 60, len(row)) * _DAY
    paid = sched["paid"] & (pay_date < eol[row]) & (pay_date <= end)
    events.add(patent=row[paid], date=pay_date[paid], type=np.full(int(paid.sum()),
               EV["renewal_paid"]), counterparty=np.full(int(paid.sum()), -1))
    lapsed = np.flatnonzero(~np.isnat(lapse) & (lapse == eol) & (lapse <= end))
    events.add(patent=lapsed, date=lapse[lapsed], type=np.full(len(lapsed), EV["lapsed"]),
               counterparty=np.full(len(lapsed), -1))
    ev = events.get()
    keep = ev["date"] <= end
    ev = {k: v[keep] for k, v in ev.items()}
    return History(
        truth_patent_year=truth_py.get(), truth_firm_year=truth_fy.get(), cases=cases.get(),
        events=ev, transactions=trans.get(), loans=loans.get(), loan_patents=loan_pat.get(),
        end_of_life=eol,
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
