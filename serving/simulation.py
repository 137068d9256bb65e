"""`patentrisk simulate-book`: a year of policies and claims driven by the synthetic world's cases.

Policies are bound from real quotes (the models and policy in service) for in-force patents,
product firms and the year's pledge loans; the world's lawsuits and loan defaults during each
policy's period become claims that go through the same service functions as the API: notice,
registration checks (the known-circumstances exclusion included), the model's reserve, an advance
of the costs already documented when the decision takes a while, the decision on the case's real
costs, payments (with a second approver above the authority limit) and closure. Dates are the
simulated ones, so the deadlines and the book report read as if the year had happened.

Who buys cover is drawn from what is known at binding only: in-force patents and product firms
in proportion to the litigation (liability) model's probability as of the year before, as
patentees who expect to enforce and firms that expect to be sued are the ones that buy cover.
The year's suits are not looked at, so the book's actual over expected losses measure the models
and not the sampling (drawing half the book from patents known to be sued in the year, as this
simulation once did, put actual over expected near 100).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import math
import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from functools import partial
from typing import Any

import duckdb
import pandas as pd
from sqlalchemy.orm import Session

from features.pipelines.frames import firm_features
from features.settings import Settings
from models.policy import (
    Applicant,
    ApplicantRole,
    IneligibleError,
    Policy,
    QuoteInputError,
)
from models.policy.circumstances import CircumstanceKind
from models.policy.errors import IllegalTransitionError
from models.policy.money import rounded
from serving.auth import Caller, CallerRole
from serving.claims import service as claims
from serving.claims.cases import referenced_suit
from serving.claims.estimates import estimate_claim
from serving.claims.schemas import (
    AdvanceRequest,
    AssessRequest,
    DecideRequest,
    NotifyRequest,
    PaymentRequest,
    RegisterRequest,
    SaleRequest,
)
from serving.database import make_engine, make_sessionmaker, migrate
from serving.dataset import LazyCursor, open_dataset
from serving.deps import AssessmentRecorder
from serving.errors import ServiceError
from serving.metrics import ServiceMetrics
from serving.modelset import ModelSet, load_served_models
from serving.policies.schemas import BindRequest, InsuredParty, KnownCircumstanceIn
from serving.policies.service import Actor, bind_policy, current_version, schedule_from
from serving.policies.tables import PolicyRecord
from serving.scoring import ScoringContext, assess_loan, score_enforcement, score_liability
from serving.scoring.entities import stored_patent_features
from serving.scoring.explanations import predict
from serving.scoring.schemas import (
    EnforcementQuoteRequest,
    FirmRef,
    LiabilityQuoteRequest,
    LoanAssessmentRequest,
    PatentRef,
)

log = logging.getLogger(__name__)

UNDERWRITER = Caller("simulate-book-underwriter", "simulate-book", CallerRole.underwriter)
BANK = Caller("simulate-book-bank", "simulate-book", CallerRole.bank)
ADJUSTER = Caller("simulate-book-adjuster", "simulate-book", CallerRole.adjuster)
APPROVER = Caller("simulate-book-approver", "simulate-book", CallerRole.adjuster)
# Share of an enforcement case's plaintiff costs that is investigation (the rest legal costs).
INVESTIGATION_SHARE = 0.15
# Days from registration to the decision, and from the decision to payment: most within the
# 30 and 10 days of Art. 23, about one in ten late (the report's overdue flags have content).
DECISION_DAYS = (5, 8, 10, 12, 14, 18, 20, 22, 25, 28, 35)
PAYMENT_DAYS = (2, 3, 4, 5, 6, 7, 8, 9, 12)
# A decision this many days or more after registration: the costs already documented are
# advanced a week after the assessment opens (先予支付).
ADVANCE_AFTER_DAYS = 14
# Share of the year's suits the insured had already sent (or, for liability, received) a warning
# letter about before binding, and declared: those claims are excluded as known circumstances.
WARNED_SHARE = 0.25
# Share of declared pending suits the insured notifies as a claim all the same (denied).
LATE_NOTICE_SHARE = 0.5


@dataclass
class SimulatedBook:
    """What a simulation did: policies bound, claims by final state, what it skipped and why."""

    year: int
    policies: Counter[str] = field(default_factory=Counter)
    claims: Counter[str] = field(default_factory=Counter)
    skipped: Counter[str] = field(default_factory=Counter)


def _at(day: dt.date) -> dt.datetime:
    """A simulated moment: 10:00 UTC on `day`."""
    return dt.datetime(day.year, day.month, day.day, 10, tzinfo=dt.UTC)


def _money(value: Any) -> Decimal:
    """A world amount (float, maybe missing) as CNY money."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return Decimal(0)
    return rounded(Decimal(str(float(value))), "CNY")


class _Simulator:
    """One simulation run over one session, dataset cursor and model set."""

    def __init__(self, session: Session, cur: duckdb.DuckDBPyConnection, tables: frozenset[str],
                 models: ModelSet, year: int, horizon: dt.date, seed: int) -> None:
        self.session = session
        self.cur = cur
        self.tables = tables
        self.models = models
        assert models.policy is not None, "simulate_book checks that a policy is loaded"
        self.policy: Policy = models.policy
        self.year = year
        self.horizon = horizon
        self.rng = random.Random(seed)
        self.result = SimulatedBook(year)
        recorder = AssessmentRecorder(session, UNDERWRITER, ServiceMetrics())
        self.ctx = ScoringContext(models=models, cursors=LazyCursor.of(cur), tables=tables,
                                  as_of=dt.date(year - 1, 12, 31), session=session,
                                  recorder=recorder)

    def _do(self, what: str, action: Callable[[], Any]) -> Any:
        """Run one service action as one transaction; a refusal is counted, not fatal."""
        try:
            out = action()
            self.session.commit()
            return out
        except ServiceError as exc:
            self.session.rollback()
            self.result.skipped[f"{what}: {getattr(exc, 'rule', exc.code)}"] += 1
            return None
        except (IneligibleError, IllegalTransitionError, QuoteInputError) as exc:
            self.session.rollback()
            self.result.skipped[f"{what}: {type(exc).__name__}"] += 1
            return None

    def _start(self) -> dt.date:
        """A start day in the first quarter of the year."""
        return dt.date(self.year, 1, 1) + dt.timedelta(days=self.rng.randrange(90))

    def _draw(self, weights: pd.Series, count: int) -> list[str]:
        """`count` ids drawn without replacement, each in proportion to its weight.

        Each id gets the key u ** (1 / weight) for a uniform u; the largest keys are drawn.
        """
        keyed = sorted(((self.rng.random() ** (1.0 / float(w)), str(i))
                        for i, w in weights.items() if float(w) > 0), reverse=True)
        return [i for _, i in keyed[:count]]

    def _known(self, start: dt.date, party_column: str, other_column: str, value: str,
               ) -> list[KnownCircumstanceIn]:
        """What the insured knows at binding on `start` and declares.

        Suits of the world filed before `start` and still open then (pending suits), and a
        warning letter, dated before binding, about some of the suits of the next 120 days.
        """
        rows = self.cur.execute(
            f"SELECT patent_id, filed_date, closed_date, {other_column} FROM cases "
            f"WHERE {party_column} = ? AND filed_date <= ? + INTERVAL 120 DAY "
            f"AND {other_column} IS NOT NULL ORDER BY filed_date, case_id", [value, start],
        ).fetchall()
        known = []
        for pid, filed, closed, other in rows:
            if filed < start and (closed is None or closed >= start):
                known.append(KnownCircumstanceIn(kind=CircumstanceKind.PENDING_SUIT,
                                                 counterparty=other, patent_ids=[pid],
                                                 date=filed, description="pending suit"))
            elif filed >= start and self.rng.random() < WARNED_SHARE:
                known.append(KnownCircumstanceIn(
                    kind=CircumstanceKind.WARNING_LETTER, counterparty=other, patent_ids=[pid],
                    date=start - dt.timedelta(days=self.rng.randint(5, 60)),
                    description="warning letter before binding (simulated)"))
        return known

    def _bind(self, caller: Caller, quote: Any, name: str, start: dt.date,
              classes: list[str] | None = None,
              known: list[KnownCircumstanceIn] | None = None) -> dict[str, Any] | None:
        """Bind a quote unless declined; referred quotes bind with the simulated referral."""
        if quote is None or quote.decision == "decline":
            self.result.skipped["quote declined"] += int(quote is not None)
            return None
        req = BindRequest(
            quote_id=quote.assessment_id, insured=InsuredParty(name=name), start_date=start,
            product_classes=classes,
            referral_reason="referred; accepted by the simulated underwriter"
            if quote.decision == "refer" else None,
            known_circumstances=known or [],
        )
        body: dict[str, Any] | None = self._do("bind", lambda: bind_policy(
            self.session, self.policy, Actor(caller, _at(start)), req))
        if body is not None:
            self.result.policies[body["product"]] += 1
        return body

    # --- policies -------------------------------------------------------------------------

    def enforcement(self, count: int) -> list[tuple[dict[str, Any], str]]:
        """Bind enforcement cover on in-force patents drawn by their litigation probability."""
        as_of = self.ctx.as_of
        rows = self.cur.execute(
            """
            SELECT p.patent_id, p.assignee_id, coalesce(a.name, p.assignee_id)
            FROM patents p LEFT JOIN assignees a USING (assignee_id)
            WHERE p.grant_date <= ? AND p.expiry_date > ? + INTERVAL 2 YEAR
              AND p.assignee_id IS NOT NULL AND p.patent_type IN ('invention', 'utility')
              AND p.patent_id NOT IN (SELECT patent_id FROM legal_events
                  WHERE event_type IN ('lapsed', 'invalidated') AND event_date <= ?)
            ORDER BY p.patent_id
            """, [as_of, as_of, as_of],
        ).fetchall()
        if not rows:
            return []
        owners = {pid: (owner, name) for pid, owner, name in rows}
        features = stored_patent_features(self.cur, list(owners), as_of)
        chance = predict(self.models.require("litigation"), features)["probability"]
        chosen = self._draw(chance, count)
        # The quotes read these features instead of running the pipeline once per patent.
        self.ctx = dataclasses.replace(self.ctx, patent_features=features.loc[chosen])
        bound = []
        for pid in chosen:
            owner, name = owners[pid]
            applicant = Applicant(applicant_id=owner, role=ApplicantRole.PATENT_HOLDER,
                                  pilot_enterprise=self.rng.random() < 0.4,
                                  sme=self.rng.random() < 0.5)
            req = EnforcementQuoteRequest(
                patent=PatentRef(patent_id=pid), applicant=applicant,
                cover_limit=self.rng.choice([500_000.0, 1_000_000.0, 2_000_000.0]),
                deductible=self.rng.choice([0.0, 10_000.0]), period_months=12)
            quote = self._do("quote", partial(score_enforcement, self.ctx, req))
            start = self._start()
            body = self._bind(UNDERWRITER, quote, name, start,
                              known=self._known(start, "patent_id", "defendant_id", pid))
            if body is not None:
                bound.append((body, pid))
        self.ctx = dataclasses.replace(self.ctx, patent_features=None)
        return bound

    def liability(self, count: int) -> list[tuple[dict[str, Any], str]]:
        """Bind liability cover for product firms drawn by their probability of being sued."""
        rows = self.cur.execute(
            """
            SELECT t.assignee_id, arg_max(t.cpc_class, t.weight), coalesce(any_value(a.name), '')
            FROM firm_technology t JOIN firm_financials f USING (assignee_id)
            LEFT JOIN assignees a USING (assignee_id)
            GROUP BY t.assignee_id ORDER BY t.assignee_id
            """,
        ).fetchall()
        if not rows:
            return []
        firms = {firm: (main_class, name) for firm, main_class, name in rows}
        features = firm_features(self.cur, self.ctx.as_of, assignee_ids=list(firms))
        features = features.drop(columns="as_of").set_index("assignee_id")
        chance = predict(self.models.require("liability"), features)["probability"]
        bound = []
        for firm in self._draw(chance, count):
            main_class, name = firms[firm]
            req = LiabilityQuoteRequest(
                firm=FirmRef(assignee_id=firm), product_classes=[main_class],
                applicant=Applicant(applicant_id=firm, role=ApplicantRole.MANUFACTURER,
                                    high_tech_enterprise=self.rng.random() < 0.3),
                cover_limit=2_000_000.0, deductible=50_000.0, period_months=12)
            quote = self._do("quote", partial(score_liability, self.ctx, req))
            start = self._start()
            body = self._bind(UNDERWRITER, quote, name or firm, start,
                              known=self._known(start, "defendant_id", "plaintiff_id", firm))
            if body is not None:
                bound.append((body, firm))
        return bound

    def loans(self, count: int) -> list[tuple[dict[str, Any], str]]:
        """Guarantee the year's pledge loans (those that start in it) from their assessments."""
        rows = self.cur.execute(
            "SELECT loan_id, borrower_id, amount, term_months, start_date FROM loans "
            "WHERE year(start_date) = ? ORDER BY hash(loan_id || ?) LIMIT ?",
            [self.year, str(self.rng.random()), count],
        ).fetchall()
        bound = []
        for loan_id, borrower, amount, term, start in rows:
            pledged = [r[0] for r in self.cur.execute(
                "SELECT patent_id FROM loan_patents WHERE loan_id = ? ORDER BY 1 LIMIT 50",
                [loan_id]).fetchall()]
            if not pledged:
                continue
            req = LoanAssessmentRequest(
                borrower=FirmRef(assignee_id=borrower), requested_amount=float(amount),
                term_months=int(term), pledged=[PatentRef(patent_id=p) for p in pledged])
            assessment = self._do("loan assessment", partial(assess_loan, self.ctx, req))
            if assessment is not None and assessment.max_loan <= 0:
                self.result.skipped["loan: no loan value"] += 1
                continue
            body = self._bind(BANK, assessment, f"Lender of {loan_id}", start)
            if body is not None:
                bound.append((body, loan_id))
        return bound

    # --- claims ---------------------------------------------------------------------------

    def _claim_flow(self, policy: dict[str, Any], notify: NotifyRequest, on: dt.date,
                    decide: Callable[[dict[str, Any]], DecideRequest],
                    sale: SaleRequest | None = None,
                    advance: Callable[[dict[str, Any]], AdvanceRequest | None] | None = None,
                    ) -> None:
        """Take one claim from notice as far as the horizon allows, day by simulated day."""
        notifier = BANK if policy["product"] == "pledge_loan" else ADJUSTER
        if on > self.horizon:
            return
        case = (referenced_suit(self.cur, self.tables, notify.case_id)
                if notify.case_id is not None else None)
        body = self._do("notify", lambda: claims.notify_claim(
            self.session, self.policy, Actor(notifier, _at(on)), notify, case=case))
        if body is None:
            return
        cid = body["id"]
        on += dt.timedelta(days=self.rng.randint(1, 8))
        body = self._do("register", lambda: claims.register_claim(
            self.session, self.policy, Actor(ADJUSTER, _at(on)), cid, RegisterRequest()))
        if body is None or body["state"] != "registered":
            self._finish(cid, body, on)
            return
        body = self._do("assess", lambda: self._assess(cid, on))
        if body is None:
            return
        if sale is not None:
            on = max(on, sale.sold_on)
            if on > self.horizon:
                return
            self._do("sale", lambda: claims.record_sale(
                self.session, self.policy, Actor(ADJUSTER, _at(on)), cid, sale))
        delay = self.rng.choice(DECISION_DAYS)
        determined = advance(body) if advance is not None else None
        if determined is not None and delay >= ADVANCE_AFTER_DAYS:
            self._advance(cid, on + dt.timedelta(days=7), determined)
        on += dt.timedelta(days=delay)
        if on > self.horizon:
            self.result.claims["under_assessment"] += 1
            return
        body = self._do("decide", lambda: claims.decide_claim(
            self.session, self.policy, Actor(ADJUSTER, _at(on)), cid, decide(body)))
        if body is None:
            return
        on += dt.timedelta(days=self.rng.choice(PAYMENT_DAYS))
        advanced: dict[str, Decimal] = {}
        for e in body["ledger"]:
            if e["kind"] == "advance_payment":
                advanced[e["loss_kind"]] = advanced.get(e["loss_kind"], Decimal(0)) + Decimal(
                    e["amount"])
        for kind, agreed in (body["payable"] or {}).get("by_kind", {}).items():
            # the advances count against the agreed amount
            amount = Decimal(agreed) - advanced.get(kind, Decimal(0))
            if amount <= 0 or on > self.horizon:
                continue
            pay = PaymentRequest(amount=amount, loss_kind=kind)
            paid = self._do("pay", partial(claims.pay_claim, self.session, self.policy,
                                           Actor(ADJUSTER, _at(on)), cid, pay))
            for entry in (paid or {}).get("pending_payments", []):
                self._do("approve", partial(claims.approve_payment, self.session, self.policy,
                                            Actor(APPROVER, _at(on)), cid, entry,
                                            "second approval (simulated)"))
        self._finish(cid, None, on + dt.timedelta(days=1))

    def _advance(self, cid: str, on: dt.date, req: AdvanceRequest) -> None:
        """Advance the part already determined; a second adjuster approves it when needed."""
        if on > self.horizon:
            return
        body = self._do("advance", partial(claims.pay_advance, self.session, self.policy,
                                           Actor(ADJUSTER, _at(on)), cid, req))
        for entry in (body or {}).get("pending_payments", []):
            self._do("approve advance", partial(claims.approve_payment, self.session,
                                                self.policy, Actor(APPROVER, _at(on)), cid,
                                                entry, "second approval (simulated)"))

    def _assess(self, cid: str, on: dt.date) -> dict[str, Any]:
        """Open the assessment with the model's reserve (as the API route does)."""
        claim = claims.get_claim(self.session, cid)
        head = self.session.get(PolicyRecord, claim.policy_id)
        assert head is not None
        version = current_version(self.session, head)
        cover = schedule_from(version, head.currency)
        estimate = estimate_claim(self.ctx, claim, cover, version.document,
                                  claims.aggregate_left(self.session, head))
        return claims.open_assessment(self.session, self.policy, Actor(ADJUSTER, _at(on)), cid,
                                      AssessRequest(), estimate)

    def _finish(self, cid: str, body: dict[str, Any] | None, on: dt.date) -> None:
        """Close a paid or denied claim when the horizon allows; count its final state."""
        state = claims.get_claim(self.session, cid).state
        if state in ("paid", "denied") and on <= self.horizon:
            self._do("close", lambda: claims.close_claim(
                self.session, self.policy, Actor(ADJUSTER, _at(on)), cid, "settled (simulated)"))
            state = claims.get_claim(self.session, cid).state
        self.result.claims[state] += 1

    def enforcement_claims(self, bound: list[tuple[dict[str, Any], str]]) -> None:
        """Every suit on an insured patent filed during its policy period becomes a claim."""
        for policy, pid in bound:
            start, end = (dt.date.fromisoformat(policy["schedule"][k])
                          for k in ("start_date", "end_date"))
            for case_id, filed, venue, cost, defendant in self.cur.execute(
                "SELECT case_id, filed_date, venue, plaintiff_legal_cost, defendant_id "
                "FROM cases WHERE patent_id = ? AND filed_date BETWEEN ? AND ? ORDER BY 2",
                [pid, start, end]).fetchall():
                total = _money(cost)
                notify = NotifyRequest(
                    policy_id=policy["id"], incident_date=filed - dt.timedelta(days=60),
                    filed_date=filed, patent_ids=[pid], counterparty=defendant,
                    court_or_agency=venue, case_id=case_id,
                    description=f"world case {case_id}")

                def split(body: dict[str, Any], total: Decimal = total) -> tuple[Decimal, Decimal]:
                    cost = total if total > 0 else Decimal(
                        body["assessment"]["estimate"]["expected_cost"])
                    inv = rounded(cost * Decimal(str(INVESTIGATION_SHARE)), "CNY")
                    return inv, cost - inv

                def decide(body: dict[str, Any], split: Any = split,
                           case_id: str = case_id) -> DecideRequest:
                    inv, legal = split(body)
                    return DecideRequest(
                        assessed={"investigation_costs": inv, "legal_costs": legal},
                        reason=f"costs of world case {case_id}")

                def advance(body: dict[str, Any], split: Any = split) -> AdvanceRequest:
                    inv, _legal = split(body)
                    return AdvanceRequest(
                        determined={"investigation_costs": inv},
                        loss_kind="investigation_costs",
                        reason="investigation costs documented (notary, purchases)")

                self._claim_flow(policy, notify, filed + dt.timedelta(
                    days=self.rng.randint(3, 20)), decide, advance=advance)
            self._late_notices(policy, pid)

    def liability_claims(self, bound: list[tuple[dict[str, Any], str]]) -> None:
        """Every suit against an insured firm filed during its period becomes a claim."""
        for policy, firm in bound:
            start, end = (dt.date.fromisoformat(policy["schedule"][k])
                          for k in ("start_date", "end_date"))
            product_class = policy["product_classes"][0]
            for case_id, pid, filed, venue, damages, cost, plaintiff in self.cur.execute(
                "SELECT case_id, patent_id, filed_date, venue, damages, defendant_legal_cost, "
                "plaintiff_id FROM cases WHERE defendant_id = ? AND filed_date BETWEEN ? AND ? "
                "ORDER BY 3", [firm, start, end]).fetchall():
                notify = NotifyRequest(
                    policy_id=policy["id"], incident_date=filed - dt.timedelta(days=90),
                    filed_date=filed, patent_ids=[pid], product_class=product_class,
                    counterparty=plaintiff, court_or_agency=venue, case_id=case_id,
                    description=f"world case {case_id}")
                assessed = {"damages": _money(damages), "defence_costs": _money(cost)}

                def decide(body: dict[str, Any], assessed: dict[str, Decimal] = assessed,
                           case_id: str = case_id) -> DecideRequest:
                    if sum(assessed.values()) == 0:
                        est = Decimal(body["assessment"]["estimate"]["expected_cost"])
                        assessed = {"damages": Decimal(0), "defence_costs": est}
                    return DecideRequest(assessed=assessed,
                                         reason=f"damages and costs of world case {case_id}")

                def advance(body: dict[str, Any], cost: Decimal = _money(cost)
                            ) -> AdvanceRequest:
                    # half the defence costs are billed by then (an open case: of the estimate)
                    if cost <= 0:
                        cost = Decimal(body["assessment"]["estimate"]["expected_cost"])
                    return AdvanceRequest(
                        determined={"defence_costs": rounded(cost / 2, "CNY")},
                        loss_kind="defence_costs", reason="defence costs billed so far")

                self._claim_flow(policy, notify, filed + dt.timedelta(
                    days=self.rng.randint(3, 20)), decide, advance=advance)

    def _late_notices(self, policy: dict[str, Any], pid: str) -> None:
        """Some insureds notify a suit they declared as pending at binding: it is excluded."""
        start = dt.date.fromisoformat(policy["schedule"]["start_date"])
        for known in policy.get("known_circumstances", []):
            if known["kind"] != CircumstanceKind.PENDING_SUIT.value:
                continue
            if self.rng.random() >= LATE_NOTICE_SHARE:
                continue
            row = self.cur.execute(
                "SELECT case_id, filed_date, venue FROM cases WHERE patent_id = ? "
                "AND defendant_id = ? AND filed_date < ? ORDER BY filed_date DESC LIMIT 1",
                [pid, known["counterparty"], start]).fetchone()
            if row is None:
                continue
            case_id, filed, venue = row
            notify = NotifyRequest(
                policy_id=policy["id"], incident_date=max(filed - dt.timedelta(days=60),
                                                          dt.date(self.year - 2, 1, 1)),
                filed_date=filed, patent_ids=[pid], counterparty=known["counterparty"],
                court_or_agency=venue, case_id=case_id,
                description=f"world case {case_id}, declared pending at binding")
            self._claim_flow(policy, notify, start + dt.timedelta(days=self.rng.randint(10, 60)),
                             lambda _body: DecideRequest(reason="not reached"))

    def loan_claims(self, bound: list[tuple[dict[str, Any], str]]) -> None:
        """A guaranteed loan that defaulted during the term becomes a claim; the sale follows."""
        for policy, loan_id in bound:
            row = self.cur.execute(
                "SELECT default_date, recovery FROM loans WHERE loan_id = ? AND outcome = "
                "'defaulted'", [loan_id]).fetchone()
            end = dt.date.fromisoformat(policy["schedule"]["end_date"])
            if row is None or row[0] is None or row[0] > end:
                continue
            default, recovery = row
            outstanding = Decimal(policy["schedule"]["aggregate_limit"])
            notify = NotifyRequest(policy_id=policy["id"], incident_date=default,
                                   outstanding_amount=outstanding,
                                   description=f"borrower of {loan_id} defaulted")
            sold = default + dt.timedelta(days=60)
            proceeds = min(_money(recovery), outstanding)
            sale = SaleRequest(proceeds=proceeds, disposal_costs=rounded(
                proceeds * Decimal("0.05"), "CNY"), sold_on=sold)
            self._claim_flow(policy, notify, default + dt.timedelta(days=10),
                             lambda _body: DecideRequest(reason="loss after the sale"), sale)


def simulate_book(settings: Settings, year: int, *, enforcement: int = 120, liability: int = 60,
                  loans: int = 60, seed: int = 1) -> SimulatedBook:
    """Bind a year of policies from the world and run its cases and defaults as claims."""
    dataset = open_dataset(settings)
    if dataset is None:
        raise RuntimeError(f"no dataset at {settings.dataset_dir}: run patentrisk generate")
    end = dataset.end_date
    models = load_served_models(settings) if end is not None and year <= end.year else None
    missing = models.missing() if models is not None else []
    if end is None or models is None or missing:
        dataset.close()
        if models is None:
            raise RuntimeError(f"--year must be at most the data's last year {end and end.year}")
        raise RuntimeError(f"no champion model for {', '.join(missing)}: run patentrisk train")
    engine = make_engine(settings.resolved_database_url)
    try:
        migrate(engine)
        with make_sessionmaker(engine)() as session, dataset.cursor() as cur:
            horizon = min(dt.date.today(), end + dt.timedelta(days=365))
            sim = _Simulator(session, cur, dataset.tables, models, year, horizon, seed)
            sim.enforcement_claims(sim.enforcement(enforcement))
            sim.liability_claims(sim.liability(liability))
            sim.loan_claims(sim.loans(loans))
            return sim.result
    finally:
        engine.dispose()
        dataset.close()
