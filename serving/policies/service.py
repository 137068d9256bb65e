"""Bind, endorse and cancel policies; every change is a new immutable version (who, when, why).

Functions here take the request's session, the served policy file and an `Actor` (the caller and
the moment of the action), do their writes without committing (the route commits once, together
with the `Idempotency-Key` record), and return the response body built from the stored rows.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from models.policy import Applicant, ApplicantRole, Policy, Product
from models.policy.circumstances import KnownCircumstance
from models.policy.cover import CoverSchedule, pro_rata_change, schedule_cover
from models.policy.errors import QuoteInputError
from models.policy.lifecycle import (
    PolicyAction,
    PolicyStatus,
    check_policy_action,
    policy_actions,
    policy_status,
)
from models.policy.money import ZERO, from_minor, rounded, to_minor
from models.policy.scale import Decision
from serving.auth import Caller, CallerRole
from serving.crud import AssessmentKind, json_safe
from serving.errors import ConflictError, InvalidInputError, NotFoundError, PermissionDeniedError
from serving.policies.locks import lock_policy
from serving.policies.schemas import (
    BindRequest,
    CancelRequest,
    PolicyOut,
    PolicyPage,
    PremiumOut,
    ScheduleOut,
    VersionOut,
)
from serving.policies.subsidy import grant_subsidy, return_subsidy
from serving.policies.tables import PolicyRecord, PolicyVersion
from serving.tables import Assessment

PRODUCT_OF_KIND = {
    AssessmentKind.enforcement_quote.value: Product.ENFORCEMENT,
    AssessmentKind.liability_quote.value: Product.LIABILITY,
    AssessmentKind.loan_assessment.value: Product.PLEDGE_LOAN,
}
# Who may bind and change each product's policies (admin always may).
PRODUCT_ROLES = {
    Product.ENFORCEMENT: CallerRole.underwriter,
    Product.LIABILITY: CallerRole.underwriter,
    Product.PLEDGE_LOAN: CallerRole.bank,
}
NUMBER_PREFIX = {Product.ENFORCEMENT: "ENF", Product.LIABILITY: "LIA", Product.PLEDGE_LOAN: "PLG"}


@dataclass(frozen=True)
class Actor:
    """Who acts and when: the caller and the moment (UTC) the change is recorded at."""

    caller: Caller
    now: dt.datetime

    @property
    def today(self) -> dt.date:
        """The business day of the action."""
        return self.now.date()


def input_error(exc: QuoteInputError) -> InvalidInputError:
    """A rule refusal of the policy layer as a 422 naming the field and the rule."""
    return InvalidInputError(exc.field, exc.rule, str(exc))


def _money(value: Any, currency: str) -> Decimal:
    """A stored float amount of a quote as Decimal money (the quote rounded it to cents)."""
    return rounded(Decimal(str(value)), currency)


def require_product_role(caller: Caller, product: Product) -> None:
    """403 unless the caller handles policies of `product`."""
    role = PRODUCT_ROLES[product]
    if not caller.has_role(role):
        raise PermissionDeniedError(
            f"role {caller.role.value!r} may not bind or change {product.value} policies; "
            f"allowed: {role.value}, admin"
        )


def _quote(session: Session, quote_id: str) -> Assessment:
    """The stored quote or loan assessment `quote_id`; 404 naming the field otherwise."""
    row = session.get(Assessment, quote_id)
    if row is None or row.kind not in PRODUCT_OF_KIND or row.status != "completed":
        raise NotFoundError(f"quote_id {quote_id!r} is not a stored quote or loan assessment")
    return row


def check_bindable(quote: Assessment, policy: Policy, now: dt.datetime) -> None:
    """409 naming the rule unless the quote is unexpired and priced by the served policy."""
    validity = policy.binding.quote_validity_days
    if now - quote.created_at > dt.timedelta(days=validity):
        raise ConflictError(
            "quote_id", "quote_expired",
            f"quote {quote.id} was priced on {quote.created_at.date()} and is valid for "
            f"{validity} days (binding.quote_validity_days): quote again",
        )
    if quote.policy_version != policy.version or quote.policy_hash != policy.sha256:
        raise ConflictError(
            "quote_id", "policy_version_changed",
            f"quote {quote.id} was priced under policy version {quote.policy_version}; the "
            f"policy in service is {policy.version}: a quote binds only under the version that "
            "priced it, quote again",
        )


def _applicant(quote: Assessment) -> Applicant:
    """The applicant of a stored quote (a loan without one is the borrower's)."""
    data = (quote.request or {}).get("applicant")
    if data is None:
        return Applicant(applicant_id=quote.outputs["applicant_id"], role=ApplicantRole.BORROWER)
    return Applicant.model_validate(data)


def _terms_of(quote: Assessment, product: Product) -> tuple[int, Decimal, Decimal]:
    """Period in months, aggregate limit and deductible that a quote priced."""
    out = quote.outputs
    cur = out["currency"]
    if product is Product.PLEDGE_LOAN:
        exposure = min(Decimal(str(out["requested_amount"])), Decimal(str(out["max_loan"])))
        return int(out["term_months"]), rounded(exposure, cur), ZERO
    return int(out["period_months"]), _money(out["cover_limit"], cur), _money(
        out["deductible"], cur)


def _insured_objects(quote: Assessment, req: BindRequest, product: Product
                     ) -> tuple[list[str], list[str]]:
    """The insured (or pledged) patents and the insured product classes of a new policy."""
    request = quote.request or {}
    if product is Product.ENFORCEMENT:
        patent = request.get("patent") or {}
        pid = patent.get("patent_id") or (patent.get("facts") or {}).get("patent_id")
        return [str(pid)], []
    if product is Product.LIABILITY:
        classes = req.product_classes or request.get("product_classes")
        if not classes:
            raise InvalidInputError(
                "product_classes", "required_for_liability",
                "product_classes: name the CPC classes of the insured products (the quote did "
                "not)",
            )
        return [], list(classes)
    pledged = [p.get("patent_id") or (p.get("facts") or {}).get("patent_id")
               for p in request.get("pledged", [])]
    return [str(p) for p in pledged], []


def _schedule_doc(cover: CoverSchedule) -> dict[str, Any]:
    """A cover schedule as stored JSON (money as exact strings)."""
    doc: dict[str, Any] = json_safe({
        **cover.model_dump(mode="json"),
        "sub_limits": {k: str(v) for k, v in cover.sub_limits.items()},
    })
    return doc


def bind_policy(session: Session, policy: Policy, actor: Actor, req: BindRequest) -> dict[str, Any]:
    """Bind a quote: check it, grant the subsidy under its caps, write policy version 1."""
    quote = _quote(session, req.quote_id)
    product = PRODUCT_OF_KIND[quote.kind]
    require_product_role(actor.caller, product)
    check_bindable(quote, policy, actor.now)
    out = quote.outputs
    decision = Decision(out["decision"])
    if decision is Decision.DECLINE:
        raise ConflictError("quote_id", "quote_declined",
                            f"quote {quote.id} was declined (grade {out['grade']}): not bindable")
    if decision is Decision.REFER and req.referral_reason is None:
        raise ConflictError(
            "referral_reason", "quote_referred",
            f"quote {quote.id} was referred (grade {out['grade']}): an underwriter binds it "
            "only with a referral_reason",
        )
    latest = actor.today + dt.timedelta(days=policy.binding.max_start_delay_days)
    if not actor.today <= req.start_date <= latest:
        raise InvalidInputError(
            "start_date", "within_start_window",
            f"start_date must be between {actor.today} and {latest} "
            f"(binding.max_start_delay_days), got {req.start_date}",
        )
    if session.scalar(sa.select(PolicyRecord.id).where(PolicyRecord.quote_id == quote.id)):
        raise ConflictError("quote_id", "quote_already_bound",
                            f"quote {quote.id} is already bound to a policy")
    months, limit, deductible = _terms_of(quote, product)
    try:
        cover = schedule_cover(policy, product, req.start_date, months, limit, deductible)
    except QuoteInputError as exc:
        raise input_error(exc) from None
    patents, classes = _insured_objects(quote, req, product)
    known = _known_circumstances(req, product, actor.today)
    cur = policy.currency
    gross = _money(out["gross_premium"], cur)
    expected = _money(out["premium"]["expected_loss"], cur)
    applicant = _applicant(quote)

    policy_id = str(uuid.uuid4())
    head = PolicyRecord(
        id=policy_id,
        number=f"{NUMBER_PREFIX[product]}-{req.start_date.year}-{uuid.uuid4().hex[:8].upper()}",
        product=product.value, quote_id=quote.id, applicant_id=applicant.applicant_id,
        currency=cur, grade=out["grade"], policy_version=policy.version,
        start_date=cover.start_date, end_date=cover.end_date, cancelled_from=None,
        current_version=1, lock_seq=0, created_at=actor.now,
    )
    session.add(head)
    session.flush()
    # The subsidy lock is taken after the policy row exists (same transaction): the grant and the
    # policy commit together or not at all.
    subsidy = grant_subsidy(session, policy, product, applicant, gross, policy_id, actor)
    document = {
        "product": product.value,
        "applicant": applicant.model_dump(mode="json"),
        "insured": req.insured.model_dump(mode="json"),
        "insured_patents": patents,
        "product_classes": classes,
        "schedule": _schedule_doc(cover),
        "quotes": [quote.id],
        "model_versions": quote.model_versions,
        "policy_version": policy.version,
        "policy_hash": policy.sha256,
        "grade": out["grade"],
        "decision": decision.value,
        "referral_reason": req.referral_reason,
        "subsidy": json_safe(subsidy.model_dump(mode="json")),
        "quote_request": quote.request,
        "known_circumstances": known,
    }
    _add_version(session, head, 1, "bind", cover.start_date, actor, req.reason, gross,
                 rounded(Decimal(str(subsidy.amount)), cur), gross,
                 rounded(Decimal(str(subsidy.amount)), cur), expected, cover.aggregate_limit,
                 document)
    session.flush()
    return policy_body(session, head, actor.today)


def _known_circumstances(req: BindRequest, product: Product, today: dt.date
                         ) -> list[dict[str, Any]]:
    """The declared known circumstances as stored JSON; 422 naming the item when one is wrong."""
    if req.known_circumstances and product is Product.PLEDGE_LOAN:
        raise InvalidInputError(
            "known_circumstances", "insurance_only",
            "known_circumstances: declared for enforcement and liability cover only",
        )
    out = []
    for i, c in enumerate(req.known_circumstances):
        if c.date > today:
            raise InvalidInputError(
                f"known_circumstances[{i}].date", "not_after_binding",
                f"known_circumstances[{i}].date must be on or before the binding day {today}, "
                f"got {c.date}",
            )
        circumstance = KnownCircumstance(kind=c.kind, counterparty=c.counterparty.strip(),
                                         patent_ids=tuple(c.patent_ids), date=c.date,
                                         description=c.description)
        out.append(circumstance.model_dump(mode="json"))
    return out


def _add_version(
    session: Session, head: PolicyRecord, version: int, change: str, effective: dt.date,
    actor: Actor, reason: str, gross: Decimal, subsidy: Decimal, premium_change: Decimal,
    subsidy_change: Decimal, expected: Decimal, limit: Decimal, document: dict[str, Any],
) -> PolicyVersion:
    """Append one immutable version of a policy."""
    cur = head.currency
    row = PolicyVersion(
        id=str(uuid.uuid4()), policy_id=head.id, version=version, change=change,
        effective_date=effective, created_at=actor.now, created_by=actor.caller.key_id,
        created_role=actor.caller.role.value, reason=reason,
        gross_premium_minor=to_minor(gross, cur), subsidy_minor=to_minor(subsidy, cur),
        premium_change_minor=to_minor(premium_change, cur),
        subsidy_change_minor=to_minor(subsidy_change, cur),
        expected_loss_minor=to_minor(expected, cur), aggregate_limit_minor=to_minor(limit, cur),
        document=json_safe(document),
    )
    session.add(row)
    return row


def versions_of(session: Session, policy_id: str) -> list[PolicyVersion]:
    """Every version of a policy, oldest first."""
    return list(session.scalars(
        sa.select(PolicyVersion).where(PolicyVersion.policy_id == policy_id)
        .order_by(PolicyVersion.version)
    ))


def current_version(session: Session, head: PolicyRecord) -> PolicyVersion:
    """The current version of a policy."""
    row = session.scalar(sa.select(PolicyVersion).where(
        PolicyVersion.policy_id == head.id, PolicyVersion.version == head.current_version))
    assert row is not None, f"policy {head.id} has no version {head.current_version}"
    return row


def get_policy(session: Session, policy_id: str) -> PolicyRecord:
    """The policy with this id or number; 404 otherwise."""
    row = session.get(PolicyRecord, policy_id) or session.scalar(
        sa.select(PolicyRecord).where(PolicyRecord.number == policy_id))
    if row is None:
        raise NotFoundError(f"policy {policy_id!r} not found")
    return row


def status_of(head: PolicyRecord, on: dt.date) -> PolicyStatus:
    """The policy's status on a day."""
    return policy_status(head.start_date, head.end_date, head.cancelled_from, on)


def schedule_from(version: PolicyVersion, currency: str) -> CoverSchedule:
    """The cover schedule stored in a version."""
    doc = dict(version.document["schedule"])
    return CoverSchedule.model_validate(doc)


def policy_body(session: Session, head: PolicyRecord, today: dt.date,
                used: Decimal | None = None) -> dict[str, Any]:
    """The response body of a policy as of `today`, read from its stored head and version."""
    from serving.claims.ledger import policy_used

    version = current_version(session, head)
    cur = head.currency
    cover = schedule_from(version, cur)
    used = policy_used(session, head.id, cur) if used is None else used
    doc = version.document
    status = status_of(head, today)
    gross = from_minor(version.gross_premium_minor, cur)
    subsidy = from_minor(version.subsidy_minor, cur)
    out = PolicyOut(
        id=head.id, number=head.number, product=head.product, status=status.value,
        allowed_actions=policy_actions(status), quote_id=head.quote_id,
        applicant_id=head.applicant_id, insured=doc["insured"],
        insured_patents=doc["insured_patents"], product_classes=doc["product_classes"],
        currency=cur, grade=head.grade, policy_version=head.policy_version,
        policy_hash=doc["policy_hash"], version=version.version,
        schedule=ScheduleOut(
            start_date=cover.start_date, end_date=cover.end_date,
            retroactive_date=cover.retroactive_date, aggregate_limit=cover.aggregate_limit,
            remaining_aggregate_limit=rounded(max(ZERO, cover.aggregate_limit - used), cur),
            deductible=cover.deductible, co_pay=cover.co_pay,
            insurer_share=cover.insurer_share, sub_limits=cover.sub_limits,
        ),
        premium=PremiumOut(
            gross_premium=gross, subsidy=subsidy, net_premium=gross - subsidy,
            expected_loss=from_minor(version.expected_loss_minor, cur),
            change_due=from_minor(version.premium_change_minor, cur),
            subsidy_change=from_minor(version.subsidy_change_minor, cur),
        ),
        cancelled_from=head.cancelled_from, created_at=head.created_at,
        updated_at=version.created_at, bound_on=head.created_at.date(),
        known_circumstances=doc.get("known_circumstances", []),
    )
    return out.model_dump(mode="json")


def version_body(row: PolicyVersion, currency: str) -> dict[str, Any]:
    """One stored version as its response body."""
    return VersionOut(
        version=row.version, change=row.change, effective_date=row.effective_date,
        created_at=row.created_at, created_by=row.created_by, created_role=row.created_role,
        reason=row.reason, gross_premium=from_minor(row.gross_premium_minor, currency),
        subsidy=from_minor(row.subsidy_minor, currency),
        premium_change=from_minor(row.premium_change_minor, currency),
        subsidy_change=from_minor(row.subsidy_change_minor, currency),
        document=row.document,
    ).model_dump(mode="json")


def list_policies(
    session: Session, today: dt.date, *, product: str | None, status: str | None,
    applicant_id: str | None, limit: int, offset: int, grade: str | None = None,
    year: int | None = None,
) -> dict[str, Any]:
    """One page of policies, newest first, by product, status, applicant, grade and year."""
    query = sa.select(PolicyRecord)
    if product:
        query = query.where(PolicyRecord.product == product)
    if grade:
        query = query.where(PolicyRecord.grade == grade)
    if year is not None:  # the policy year is the year cover starts, as in the book
        query = query.where(sa.extract("year", PolicyRecord.start_date) == year)
    if applicant_id:
        query = query.where(PolicyRecord.applicant_id == applicant_id)
    cancelled = sa.and_(PolicyRecord.cancelled_from.is_not(None),
                        PolicyRecord.cancelled_from <= today)
    not_cancelled = sa.not_(cancelled)
    by_status = {
        PolicyStatus.CANCELLED.value: cancelled,
        PolicyStatus.BOUND.value: sa.and_(not_cancelled, PolicyRecord.start_date > today),
        PolicyStatus.IN_FORCE.value: sa.and_(not_cancelled, PolicyRecord.start_date <= today,
                                             PolicyRecord.end_date >= today),
        PolicyStatus.EXPIRED.value: sa.and_(not_cancelled, PolicyRecord.end_date < today),
    }
    if status:
        query = query.where(by_status[status])
    total = session.scalar(sa.select(sa.func.count()).select_from(query.subquery()))
    rows = session.scalars(query.order_by(PolicyRecord.created_at.desc(), PolicyRecord.id)
                           .limit(limit).offset(offset)).all()
    return PolicyPage.model_validate({
        "items": [policy_body(session, r, today) for r in rows], "total": int(total or 0),
    }).model_dump(mode="json")


Repricer = Callable[
    [dict[str, Any], Decimal, Decimal, list[str]], tuple[Decimal, Decimal, list[str]]
]


def endorse_policy(
    session: Session, policy: Policy, actor: Actor, policy_id: str, effective: dt.date,
    limit: Decimal | None, deductible: Decimal | None, add_patents: list[str], reason: str,
    reprice: Repricer,
) -> dict[str, Any]:
    """Change limit, deductible or insured patents; re-priced by `reprice`, due pro rata.

    `reprice(quote_request, limit, deductible, patents)` prices the changed cover through the
    models and policy in service and returns (gross premium, expected loss, new quote ids); it
    runs before the policy row is locked, because storing the new quotes commits.
    """
    head = get_policy(session, policy_id)
    product = Product(head.product)
    require_product_role(actor.caller, product)
    check_policy_action(status_of(head, actor.today), PolicyAction.ENDORSE)
    if head.policy_version != policy.version:
        raise ConflictError(
            "policy_version", "policy_version_changed",
            f"policy {head.number} was priced under policy version {head.policy_version}; the "
            f"policy in service is {policy.version}: an endorsement is re-priced only under the "
            "version that priced the policy",
        )
    earliest = max(head.start_date, actor.today)
    last = head.end_date if head.cancelled_from is None else (
        head.cancelled_from - dt.timedelta(days=1))
    if not earliest <= effective <= last:
        raise InvalidInputError(
            "effective_date", "within_remaining_period",
            f"effective_date must be between {earliest} and {last}, got {effective}",
        )
    if add_patents and product is not Product.ENFORCEMENT:
        raise InvalidInputError("add_patents", "enforcement_only",
                                "add_patents: only enforcement policies insure named patents")
    seen_version = head.current_version
    version = current_version(session, head)
    doc = dict(version.document)
    cover = schedule_from(version, head.currency)
    new_limit = limit if limit is not None else cover.aggregate_limit
    new_ded = deductible if deductible is not None else cover.deductible
    patents = list(doc["insured_patents"])
    dupes = [p for p in add_patents if p in patents]
    if dupes:
        raise InvalidInputError("add_patents", "not_already_insured",
                                f"add_patents: {', '.join(dupes)} already insured")
    patents += add_patents
    session.rollback()
    gross, expected, quote_ids = reprice(doc["quote_request"], new_limit, new_ded, patents)

    head = lock_policy(session, head.id)
    if head.current_version != seen_version:
        raise ConflictError("policy_id", "concurrent_change",
                            f"policy {head.number} changed while re-pricing; try again")
    from serving.claims.ledger import policy_used

    cur = head.currency
    used = policy_used(session, head.id, cur)
    if new_limit < used:
        raise InvalidInputError(
            "cover_limit", "not_below_paid",
            f"cover_limit must be at least the {used} {cur} already paid or awaiting approval",
        )
    months = _months_between(cover.start_date, cover.end_date)
    try:
        new_cover = schedule_cover(policy, product, cover.start_date, months, new_limit, new_ded)
    except QuoteInputError as exc:
        raise input_error(exc) from None
    old_gross = from_minor(version.gross_premium_minor, cur)
    due = pro_rata_change(gross - old_gross, head.start_date, head.end_date, effective, cur)
    doc.update({
        "insured_patents": patents, "schedule": _schedule_doc(new_cover),
        "quotes": [*doc["quotes"], *quote_ids],
    })
    head.current_version = seen_version + 1
    _add_version(session, head, head.current_version, "endorse", effective, actor, reason,
                 gross, from_minor(version.subsidy_minor, cur), due, ZERO, expected,
                 new_cover.aggregate_limit, doc)
    session.flush()
    return policy_body(session, head, actor.today, used)


def _months_between(start: dt.date, end: dt.date) -> int:
    """Whole months of a period [start, end] built by `period_end`."""
    from models.policy.cover import period_end

    for months in range(1, 121):
        if period_end(start, months) == end:
            return months
    raise ValueError(f"period {start} to {end} is not a whole number of months")


def cancel_policy(session: Session, actor: Actor, policy_id: str, req: CancelRequest
                  ) -> dict[str, Any]:
    """Cancel from a day: refund the unearned premium pro rata and return unearned subsidy."""
    head = lock_policy(session, get_policy(session, policy_id).id)
    product = Product(head.product)
    require_product_role(actor.caller, product)
    check_policy_action(status_of(head, actor.today), PolicyAction.CANCEL)
    if head.cancelled_from is not None:
        raise ConflictError("policy_id", "already_cancelled",
                            f"policy {head.number} is already cancelled from {head.cancelled_from}")
    earliest = max(head.start_date, actor.today)
    if not earliest <= req.effective_date <= head.end_date:
        raise InvalidInputError(
            "effective_date", "within_remaining_period",
            f"effective_date must be between {earliest} and {head.end_date}, "
            f"got {req.effective_date}",
        )
    cur = head.currency
    versions = versions_of(session, head.id)
    current = versions[-1]
    subsidy = from_minor(current.subsidy_minor, cur)
    refund, returned = cancellation_refund(head, versions, req.effective_date)
    if returned > 0:
        return_subsidy(session, head, returned, actor)
    head.cancelled_from = req.effective_date
    head.current_version = current.version + 1
    doc = dict(current.document)
    doc["refund"] = {"gross": str(refund), "subsidy_returned": str(returned),
                     "to_insured": str(refund - returned)}
    _add_version(session, head, head.current_version, "cancel", req.effective_date, actor,
                 req.reason, from_minor(current.gross_premium_minor, cur), subsidy - returned,
                 -refund, -returned, from_minor(current.expected_loss_minor, cur),
                 from_minor(current.aggregate_limit_minor, cur), doc)
    session.flush()
    return policy_body(session, head, actor.today)


def cancellation_refund(head: PolicyRecord, versions: list[PolicyVersion], from_day: dt.date
                        ) -> tuple[Decimal, Decimal]:
    """Premium refunded and subsidy returned if cover stops from `from_day` (both pro rata)."""
    cur = head.currency
    refund = unearned(versions, head.end_date, from_day, cur)
    subsidy = from_minor(versions[-1].subsidy_minor, cur)
    returned = rounded(
        subsidy * Decimal((head.end_date - from_day).days + 1)
        / Decimal((head.end_date - head.start_date).days + 1), cur)
    return refund, returned


def unearned(versions: list[PolicyVersion], end: dt.date, from_day: dt.date,
             currency: str) -> Decimal:
    """Premium not yet earned from `from_day`: each change earns evenly over [effective, end]."""
    exact = ZERO
    for v in versions:
        if v.change == "cancel":
            continue
        span = (end - v.effective_date).days + 1
        left = (end - max(from_day, v.effective_date)).days + 1
        exact += from_minor(v.premium_change_minor, currency) * Decimal(max(0, left)) / span
    return rounded(exact, currency)


def earned(versions: list[PolicyVersion], end: dt.date, cancelled_from: dt.date | None,
           on: dt.date, currency: str) -> Decimal:
    """Premium earned by the end of day `on` (cover stops the day before a cancellation)."""
    last = end if cancelled_from is None else min(end, cancelled_from - dt.timedelta(days=1))
    exact = ZERO
    for v in versions:
        if v.change == "cancel":
            continue
        span = (end - v.effective_date).days + 1
        run = (min(on, last) - v.effective_date).days + 1
        exact += from_minor(v.premium_change_minor, currency) * Decimal(max(0, run)) / span
    return rounded(exact, currency)
