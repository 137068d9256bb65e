"""Reads and writes of the assessment store: assessments and API keys."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import math
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from enum import Enum, StrEnum
from typing import Any, cast

import orjson
import pandas as pd
import sqlalchemy as sa
from pydantic import BaseModel
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from serving.auth import Caller, CallerRole, generate_key, hash_key
from serving.errors import ApiKeyNotFoundError, AssessmentNotFoundError, AssessmentNotStoredError
from serving.tables import ApiKey, Assessment, utc_now

log = logging.getLogger(__name__)


class AssessmentKind(StrEnum):
    """What an assessment answered; stored as plain text, so adding a kind needs no migration."""

    enforcement_quote = "enforcement_quote"
    liability_quote = "liability_quote"
    loan_assessment = "loan_assessment"
    valuation = "valuation"
    patent_screening = "patent_screening"


@dataclass(frozen=True)
class AssessmentFilters:
    """Which assessments to list: by kind, creation time window [since, until) and caller key."""

    kind: str | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    caller_key_id: str | None = None


def json_safe(value: Any) -> Any:
    """`value` as plain JSON (dicts, lists, str, finite float, int, bool, None).

    Numpy and pandas scalars become Python numbers, dates ISO strings, and NaN or infinite floats
    become None: JSON has no NaN, PostgreSQL's JSONB refuses it, and a missing feature is a null.
    """
    # A round trip through orjson (C) gives the same for the plain types an answer is made of
    # (its floats NaN and infinities become null, dates ISO strings, enums their values), about
    # ten times faster than walking a record of a few hundred floats in Python; every other
    # type goes through `_json_safe` (numpy scalars, Decimal, pandas NA, models, sets). What
    # orjson refuses whole (keys that are not strings, integers beyond 64 bits) is walked.
    try:
        return orjson.loads(orjson.dumps(value, default=_json_safe_other))
    except orjson.JSONEncodeError:
        return _json_safe(value)


def _json_safe_other(value: Any) -> Any:
    """The JSON of a value orjson does not serialize itself (numpy, Decimal, pandas NA, ...)."""
    if isinstance(value, BaseModel):
        # A pydantic model (a quote's premium parts, subsidy, reasons): its JSON dump, which
        # orjson serializes on (NaN to null as `_json_safe` would), without a Python walk.
        return value.model_dump(mode="json")
    return _json_safe(value)


def _json_safe(value: Any) -> Any:
    """`json_safe` walking `value` in Python (every type `json_safe` takes)."""
    # The plain types an answer is mostly made of first, by exact type (a record holds a few
    # hundred floats); subclasses and the rest take the general checks below.
    kind = type(value)
    if kind is float:
        return value if math.isfinite(value) else None
    if kind is str:
        return value
    if kind is dict:
        return {str(k): _json_safe(v) for k, v in value.items()}
    if kind is list:
        return [_json_safe(v) for v in value]
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, bool | str):
        return value
    if isinstance(value, Enum):
        return _json_safe(value.value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float | Decimal):
        f = float(value)
        return f if math.isfinite(f) else None
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _json_safe(dataclasses.asdict(value))
    if hasattr(value, "model_dump"):  # pydantic models
        return _json_safe(value.model_dump(mode="json"))
    if isinstance(value, list | tuple | set | frozenset):
        return [_json_safe(v) for v in value]
    if hasattr(value, "tolist"):  # numpy arrays and scalars
        return _json_safe(value.tolist())
    if hasattr(value, "item"):
        return _json_safe(value.item())
    raise TypeError(f"cannot store a value of type {type(value).__name__} as JSON")


ASSESSMENT_KINDS = frozenset(k.value for k in AssessmentKind)
_INSERT_ASSESSMENT = sa.insert(cast(sa.Table, Assessment.__table__))


def assessment_values(
    *,
    kind: str,
    caller: Caller,
    request: Any,
    features: Any,
    outputs: Any,
    explanation: Any,
    model_versions: Any,
    policy_version: str | None,
    policy_hash: str | None,
    status: str = "completed",
) -> dict[str, Any]:
    """The column values of a new assessment row (a fresh id, JSON fields made JSON-safe)."""
    if kind not in ASSESSMENT_KINDS:
        raise ValueError(f"assessment kind must be one of {sorted(ASSESSMENT_KINDS)}, got {kind!r}")
    return {
        "id": str(uuid.uuid4()),
        "kind": kind,
        "created_at": utc_now(),
        "caller_key_id": caller.key_id,
        "caller_role": caller.role.value,
        "request": json_safe(request),
        "features": json_safe(features),
        "outputs": json_safe(outputs),
        "explanation": json_safe(explanation),
        "model_versions": json_safe(model_versions),
        "policy_version": policy_version,
        "policy_hash": policy_hash,
        "status": status,
    }


def record_assessment(
    session: Session,
    *,
    kind: str,
    caller: Caller,
    request: Any,
    features: Any,
    outputs: Any,
    explanation: Any,
    model_versions: Any,
    policy_version: str | None,
    policy_hash: str | None,
    status: str = "completed",
) -> Assessment:
    """Write one assessment and commit it; raise `AssessmentNotStoredError` if that fails.

    Call it before returning the answer, and build the answer from the returned row (its JSON
    fields are what was stored, with NaN as null), so a stored record reads back identically.
    The session's commit also commits whatever else its transaction holds (the API's scoring
    routes commit through the app's `AssessmentWriter` instead, sharing commits).
    """
    return insert_assessment(session, assessment_values(
        kind=kind, caller=caller, request=request, features=features, outputs=outputs,
        explanation=explanation, model_versions=model_versions, policy_version=policy_version,
        policy_hash=policy_hash, status=status,
    ))


def insert_assessment(session: Session, values: dict[str, Any]) -> Assessment:
    """Insert the row `values` (see `assessment_values`) in the session's transaction; commit."""
    # One Core INSERT on the session's connection (its transaction), not the ORM's unit of work
    # or bulk path (which track, flush and refresh an object): the row is written once and
    # never changed, so nothing is lost, and the commit below is the session's as before.
    try:
        session.connection().execute(_INSERT_ASSESSMENT, values)
        session.commit()
    except SQLAlchemyError as exc:
        session.rollback()
        log.error("assessment %s of kind %s not stored", values["id"], values["kind"], exc_info=exc)
        raise AssessmentNotStoredError(
            "the assessment could not be stored, so no answer is given; try again"
        ) from exc
    return Assessment(**values)


def get_assessment(session: Session, assessment_id: str) -> Assessment | None:
    """The assessment with `assessment_id`, or None."""
    return session.get(Assessment, assessment_id)


def visible_assessment(session: Session, assessment_id: str, caller: Caller) -> Assessment:
    """The assessment if `caller` may read it (auditors all, others their own), else 404.

    Another key's assessment is 'not found' rather than forbidden: its existence is not disclosed.
    """
    row = session.get(Assessment, assessment_id)
    if row is None or not (caller.reads_all_assessments or row.caller_key_id == caller.key_id):
        raise AssessmentNotFoundError(assessment_id)
    return row


def list_assessments(
    session: Session, filters: AssessmentFilters, limit: int = 50, offset: int = 0
) -> tuple[list[Assessment], int]:
    """One page of assessments matching `filters`, newest first, and the total that match."""
    conditions = []
    if filters.kind is not None:
        conditions.append(Assessment.kind == filters.kind)
    if filters.since is not None:
        conditions.append(Assessment.created_at >= filters.since)
    if filters.until is not None:
        conditions.append(Assessment.created_at < filters.until)
    if filters.caller_key_id is not None:
        conditions.append(Assessment.caller_key_id == filters.caller_key_id)
    total = session.scalar(sa.select(sa.func.count()).select_from(Assessment).where(*conditions))
    items = session.scalars(
        sa.select(Assessment)
        .where(*conditions)
        .order_by(Assessment.created_at.desc(), Assessment.id.desc())
        .limit(limit)
        .offset(offset)
    ).all()
    return list(items), int(total or 0)


# A key's last use is written at most this often: one write per request would serialize the
# service on the key row, and "used in the last minute" is as precise as an audit needs.
LAST_USED_RESOLUTION = dt.timedelta(minutes=1)


def create_api_key(
    session: Session,
    role: CallerRole,
    name: str | None = None,
    expires_in: dt.timedelta | None = None,
) -> tuple[ApiKey, str]:
    """Create and commit a key for `role` (expiring after `expires_in` if given).

    Returns the row and the raw key, which is shown only once.
    """
    if expires_in is not None and expires_in <= dt.timedelta(0):
        raise ValueError(f"expires_in must be positive, got {expires_in}")
    raw = generate_key()
    key_id = "key_" + uuid.uuid4().hex[:12]
    now = utc_now()
    row = ApiKey(
        id=key_id,
        name=name or f"{role.value} key",
        role=role.value,
        key_hash=hash_key(raw),
        created_at=now,
        expires_at=now + expires_in if expires_in is not None else None,
    )
    session.add(row)
    session.commit()
    return row, raw


def list_api_keys(session: Session, include_revoked: bool = True) -> list[ApiKey]:
    """Every API key, oldest first (hashes only; raw keys are never stored)."""
    query = sa.select(ApiKey).order_by(ApiKey.created_at, ApiKey.id)
    if not include_revoked:
        query = query.where(ApiKey.revoked_at.is_(None))
    return list(session.scalars(query).all())


def revoke_api_key(session: Session, key_id: str) -> ApiKey:
    """Mark key `key_id` revoked from now on (idempotent); raise if the id is unknown."""
    row = session.get(ApiKey, key_id)
    if row is None:
        raise ApiKeyNotFoundError(f"api key {key_id!r} not found")
    if row.revoked_at is None:
        row.revoked_at = utc_now()
        session.commit()
    return row


def caller_for_key(session: Session, raw_key: str) -> Caller | None:
    """The caller owning the active key `raw_key`, or None for unknown, revoked or expired keys."""
    return caller_for_key_hash(session, hash_key(raw_key))


def caller_for_key_hash(session: Session, key_hash: str) -> Caller | None:
    """The caller owning the active, unexpired key whose SHA-256 is `key_hash`, or None.

    Records the key's use (`last_used_at`, at most once per `LAST_USED_RESOLUTION`).
    """
    now = utc_now()
    row = session.execute(
        sa.select(ApiKey.id, ApiKey.name, ApiKey.role, ApiKey.expires_at, ApiKey.last_used_at)
        .where(ApiKey.key_hash == key_hash, ApiKey.revoked_at.is_(None))
    ).first()
    if row is None or (row.expires_at is not None and row.expires_at <= now):
        return None
    if row.last_used_at is None or now - row.last_used_at >= LAST_USED_RESOLUTION:
        # A conditional update, so concurrent requests of one key write it once.
        stale = now - LAST_USED_RESOLUTION
        session.execute(
            sa.update(ApiKey)
            .where(ApiKey.id == row.id,
                   sa.or_(ApiKey.last_used_at.is_(None), ApiKey.last_used_at <= stale))
            .values(last_used_at=now)
        )
        session.commit()
    return Caller(key_id=row.id, name=row.name, role=CallerRole(row.role))
