"""`Idempotency-Key`: a retried request gets the first answer back and changes nothing.

The answer is stored in the same transaction as the change it reports, so either both exist or
neither does. Two requests racing with one key both try to insert the record; the loser's
transaction fails on the primary key, is rolled back whole, and it replays the winner's answer.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Header
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from serving.auth import Caller
from serving.errors import ConflictError, InvalidInputError
from serving.policies.tables import IdempotencyRecord
from serving.tables import utc_now

IDEMPOTENCY_HEADER = "Idempotency-Key"
_KEY = re.compile(r"[\x21-\x7e]{1,200}")


def check_key(key: str | None) -> str | None:
    """The header value, or a 422 naming the header when it is not 1-200 visible characters."""
    if key is None:
        return None
    if not _KEY.fullmatch(key):
        raise InvalidInputError(
            IDEMPOTENCY_HEADER, "visible_ascii_1_200",
            f"{IDEMPOTENCY_HEADER} must be 1 to 200 visible ASCII characters",
        )
    return key


IdempotencyKey = Annotated[
    str | None,
    Header(alias=IDEMPOTENCY_HEADER, description="Send the same key to retry safely: the first "
           "answer is returned and nothing is created again."),
]


def fingerprint(scope: str, payload: Any) -> str:
    """SHA-256 of the action and its request, to refuse a key reused for something else."""
    text = json.dumps({"scope": scope, "payload": payload}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _replay(session: Session, caller: Caller, key: str, digest: str) -> tuple[int, Any] | None:
    """The stored answer for this caller's key, or None; 409 if the key was used differently."""
    row = session.get(IdempotencyRecord, (caller.key_id, key), populate_existing=True)
    if row is None:
        return None
    if row.request_sha256 != digest:
        raise ConflictError(
            IDEMPOTENCY_HEADER, "key_reused",
            f"{IDEMPOTENCY_HEADER} {key!r} was already used for a different request",
        )
    return row.status_code, row.response


def run_once(
    session: Session,
    caller: Caller,
    key: str | None,
    scope: str,
    payload: Any,
    action: Callable[[], Any],
    status_code: int = 201,
) -> tuple[int, Any]:
    """Run `action` (writes, no commit) and commit it with its answer, or replay the first one."""
    key = check_key(key)
    digest = fingerprint(scope, payload)
    if key is not None:
        replay = _replay(session, caller, key, digest)
        session.rollback()
        if replay is not None:
            return replay
    try:
        body = action()
        if key is not None:
            session.add(IdempotencyRecord(
                caller_key_id=caller.key_id, key=key, scope=scope, request_sha256=digest,
                status_code=status_code, response=body, created_at=utc_now(),
            ))
        session.commit()
    except IntegrityError:
        session.rollback()
        replay = _replay(session, caller, key, digest) if key is not None else None
        session.rollback()
        if replay is None:
            raise ConflictError(
                "request", "concurrent_conflict",
                "the request conflicts with a change made at the same moment (for example the "
                "same quote bound twice); read the current state and retry",
            ) from None
        return replay
    except BaseException:
        session.rollback()
        raise
    return status_code, body
