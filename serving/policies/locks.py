"""Row locks that serialise changes to one policy or one subsidy account, on SQLite and PostgreSQL.

Each lock is an UPDATE of the row, issued as the first write of the transaction: PostgreSQL holds
the row lock until commit (a concurrent UPDATE waits, then every later read sees the winner's
commit), and SQLite takes its database write lock there, waiting through `busy_timeout`. Reads
that decide an amount (subsidy left, aggregate limit left) come after the lock.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from serving.errors import NotFoundError
from serving.policies.tables import PolicyRecord, SubsidyAccount


def lock_policy(session: Session, policy_id: str) -> PolicyRecord:
    """Lock a policy's row for this transaction and return it freshly read."""
    result = session.execute(
        sa.update(PolicyRecord).where(PolicyRecord.id == policy_id)
        .values(lock_seq=PolicyRecord.lock_seq + 1)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount == 0:  # type: ignore[attr-defined]
        raise NotFoundError(f"policy {policy_id!r} not found")
    row = session.get(PolicyRecord, policy_id, populate_existing=True)
    assert row is not None
    return row


def lock_subsidy_account(
    session: Session, applicant_id: str, year: int, currency: str
) -> SubsidyAccount:
    """Create (if new) and lock an applicant's subsidy account of `year`; return it fresh."""
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    session.execute(
        insert(SubsidyAccount)
        .values(applicant_id=applicant_id, year=year, currency=currency, granted_minor=0,
                lock_seq=0)
        .on_conflict_do_nothing(index_elements=["applicant_id", "year"])
    )
    session.execute(
        sa.update(SubsidyAccount)
        .where(SubsidyAccount.applicant_id == applicant_id, SubsidyAccount.year == year)
        .values(lock_seq=SubsidyAccount.lock_seq + 1)
        .execution_options(synchronize_session=False)
    )
    row = session.get(SubsidyAccount, (applicant_id, year), populate_existing=True)
    assert row is not None
    return row
