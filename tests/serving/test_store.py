"""The assessment store on SQLite and PostgreSQL: migrations, round trips, filters, pages."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pytest
import sqlalchemy as sa
from alembic.script import ScriptDirectory

from serving import crud
from serving.auth import Caller, CallerRole
from serving.database import (
    alembic_config,
    current_revision,
    head_revision,
    make_engine,
    make_sessionmaker,
    migrate,
)
from serving.errors import AssessmentNotStoredError
from serving.tables import Assessment

UNDERWRITER = Caller("key_u", "u", CallerRole.underwriter)
BANK = Caller("key_b", "b", CallerRole.bank)

PAYLOAD = {
    "request": {"patent": {"patent_id": "CN100000001B"}, "cover_limit": 1_000_000,
                "deductible": 0, "period_months": 12, "flags": [True, False, None]},
    "features": {"forward_citations_5y": 42.0, "age_years": 6.5, "tiny": 1.5e-300,
                 "big": 1.7976931348623157e308, "third": 1 / 3, "neg": -0.1},
    "outputs": {"probability": 0.0312, "grade": "C", "premium": {"net": 12345.67, "parts": []}},
    "explanation": {"base_value": -3.2, "reasons_zh": ["五年内被引用42次：风险上升"],
                    "nested": {"a": [1, 2, {"b": "c"}]}},
    "model_versions": {"litigation": {"name": "patentrisk-litigation", "version": "3"}},
}


@pytest.fixture
def session_factory(database_url: str):
    engine = make_engine(database_url)
    migrate(engine)
    yield make_sessionmaker(engine)
    engine.dispose()


def _record(session, kind="enforcement_quote", caller=UNDERWRITER, **over):
    fields = {**PAYLOAD, **over}
    return crud.record_assessment(
        session, kind=kind, caller=caller, policy_version="2025.1", policy_hash="h" * 64,
        **fields,
    )


def test_migrations_reach_head_and_are_idempotent(database_url: str) -> None:
    engine = make_engine(database_url)
    migrate(engine)
    migrate(engine)
    assert len(ScriptDirectory.from_config(alembic_config()).get_heads()) == 1  # one line
    assert current_revision(engine) == head_revision()
    names = set(sa.inspect(engine).get_table_names())
    assert {"assessments", "api_keys", "console_users", "alembic_version", "policies",
            "policy_versions", "subsidy_accounts", "claims", "claim_ledger",
            "idempotency_records", "model_monitoring_bins"} <= names
    key_columns = {c["name"] for c in sa.inspect(engine).get_columns("api_keys")}
    assert {"expires_at", "last_used_at"} <= key_columns
    engine.dispose()


def test_migrations_match_the_table_definitions(database_url: str) -> None:
    """The migrated schema has every table and column the SQLAlchemy tables declare."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    import serving.claims.tables
    import serving.console.users
    import serving.policies.tables  # noqa: F401 - registers the tables on Base.metadata
    from serving.tables import Base

    engine = make_engine(database_url)
    migrate(engine)
    with engine.connect() as con:
        diff = compare_metadata(MigrationContext.configure(con), Base.metadata)
    structural = [d for d in diff if d[0] in {"add_table", "remove_table", "add_column",
                                               "remove_column"}]
    assert structural == []
    engine.dispose()


def test_assessment_reads_back_identically(session_factory) -> None:
    with session_factory() as s:
        written = _record(s)
    with session_factory() as s:
        read = crud.get_assessment(s, written.id)
    assert read is not None
    for field in ("request", "features", "outputs", "explanation", "model_versions"):
        assert getattr(read, field) == PAYLOAD[field], field
    assert read.features["third"] == 1 / 3  # exact float, not a rounded decimal
    assert (read.kind, read.caller_key_id, read.caller_role) == (
        "enforcement_quote", "key_u", "underwriter")
    assert (read.policy_version, read.policy_hash, read.status) == ("2025.1", "h" * 64,
                                                                     "completed")
    assert read.created_at == written.created_at
    assert read.created_at.tzinfo is not None
    assert read.created_at.utcoffset() == dt.timedelta(0)


def test_non_json_values_are_stored_as_json(session_factory) -> None:
    with session_factory() as s:
        row = _record(s, features={"nan": float("nan"), "inf": math.inf,
                                   "np": np.float64(2.5), "npint": np.int64(7),
                                   "day": dt.date(2024, 12, 31), "arr": np.array([1.0, 2.0])})
    expected = {"nan": None, "inf": None, "np": 2.5, "npint": 7, "day": "2024-12-31",
                "arr": [1.0, 2.0]}
    assert row.features == expected
    with session_factory() as s:
        assert crud.get_assessment(s, row.id).features == expected


def test_unknown_kind_is_refused(session_factory) -> None:
    with session_factory() as s, pytest.raises(ValueError, match="kind must be one of"):
        _record(s, kind="horoscope")


def test_list_filters_by_kind_caller_and_time_and_pages(session_factory) -> None:
    with session_factory() as s:
        quotes = [_record(s) for _ in range(5)]
        loans = [_record(s, kind="loan_assessment", caller=BANK) for _ in range(3)]
    with session_factory() as s:
        items, total = crud.list_assessments(s, crud.AssessmentFilters(), limit=100)
        assert total == 8
        assert [i.id for i in items] == [r.id for r in sorted(
            quotes + loans, key=lambda r: (r.created_at, r.id), reverse=True)]

        items, total = crud.list_assessments(
            s, crud.AssessmentFilters(kind="loan_assessment"), limit=2, offset=0)
        page2, total2 = crud.list_assessments(
            s, crud.AssessmentFilters(kind="loan_assessment"), limit=2, offset=2)
        assert (total, total2, len(items), len(page2)) == (3, 3, 2, 1)
        assert {i.id for i in items + page2} == {r.id for r in loans}

        _, total = crud.list_assessments(s, crud.AssessmentFilters(caller_key_id="key_u"))
        assert total == 5

        cut = quotes[2].created_at
        _, before = crud.list_assessments(s, crud.AssessmentFilters(until=cut))
        _, after = crud.list_assessments(s, crud.AssessmentFilters(since=cut))
        assert before + after == 8
        assert before == sum(r.created_at < cut for r in quotes + loans)

        later = max(r.created_at for r in quotes + loans) + dt.timedelta(seconds=1)
        assert crud.list_assessments(s, crud.AssessmentFilters(since=later)) == ([], 0)


def test_failed_write_raises_and_stores_nothing(session_factory) -> None:
    with session_factory() as s:
        s.execute(sa.text("DROP TABLE assessments"))
        s.commit()
    with session_factory() as s, pytest.raises(AssessmentNotStoredError):
        _record(s)


def test_naive_timestamps_are_refused(session_factory) -> None:
    with session_factory() as s:
        row = _record(s)
        naive = dt.datetime(2025, 1, 1)
        with pytest.raises(sa.exc.StatementError, match="timezone-aware"):
            s.execute(sa.update(Assessment).where(Assessment.id == row.id)
                      .values(created_at=naive))


def test_api_keys_store_only_the_hash(session_factory) -> None:
    import hashlib

    with session_factory() as s:
        row, raw = crud.create_api_key(s, CallerRole.bank, "bank")
    with session_factory() as s:
        stored = s.get(type(row), row.id)
        values = [str(v) for v in (stored.id, stored.name, stored.role, stored.key_hash)]
        assert raw not in " ".join(values)
        assert stored.key_hash == hashlib.sha256(raw.encode()).hexdigest()
        assert crud.caller_for_key(s, raw) == Caller(row.id, "bank", CallerRole.bank)
        crud.revoke_api_key(s, row.id)
        assert crud.caller_for_key(s, raw) is None
        assert crud.caller_for_key(s, raw + "x") is None


def test_assessment_table_counts(session_factory) -> None:
    with session_factory() as s:
        _record(s)
        assert s.scalar(sa.select(sa.func.count()).select_from(Assessment)) == 1


def test_json_safe_gives_what_walking_the_value_gives() -> None:
    """The orjson round trip of `json_safe` agrees with the Python walk on every kind of value."""
    import dataclasses
    import decimal
    import enum
    import json

    import pandas as pd
    from pydantic import BaseModel

    from serving.database import json_text

    class Grade(enum.Enum):
        C = "C"

    @dataclasses.dataclass
    class Part:
        amount: float
        when: dt.date

    class Model(BaseModel):
        x: float
        tags: list[str]

    value = {
        "float": 1 / 3, "nan": float("nan"), "inf": -math.inf, "neg_zero": -0.0,
        "np": np.float64(2.5), "np_nan": np.float64("nan"), "np32": np.float32(0.1),
        "npint": np.int64(7), "npbool": np.bool_(True), "arr": np.array([1.0, np.nan]),
        "bool": True, "none": None, "na": pd.NA, "nat": pd.NaT, "decimal": decimal.Decimal("1.25"),
        "day": dt.date(2024, 12, 31), "stamp": pd.Timestamp("2024-01-02 03:04:05"),
        "utc": dt.datetime(2024, 1, 2, 3, 4, 5, 6, tzinfo=dt.UTC), "enum": Grade.C,
        "tuple": (1, "a"), "set": {3}, "part": Part(1.5, dt.date(2020, 1, 1)),
        "model": Model(x=0.5, tags=["t"]), "text": "五年内被引用42次", "nested": [[{"a": 1}]],
    }
    walked = crud._json_safe(value)
    assert crud.json_safe(value) == walked
    assert walked["nan"] is None
    assert walked["np_nan"] is None
    assert walked["arr"] == [1.0, None]
    assert walked["np32"] == float(np.float32(0.1))  # the float32's own value, as before
    # What orjson refuses whole is walked: keys that are not strings, integers beyond 64 bits.
    assert crud.json_safe({1: 2, "big": 2**70}) == {"1": 2, "big": 2**70}
    with pytest.raises(TypeError, match="cannot store a value of type object"):
        crud.json_safe({"x": object()})
    # The JSON columns' text reads back as json.dumps's would (also for what orjson refuses).
    for v in (walked, {"big": 2**70}, {1: "int key"}):
        assert json.loads(json_text(v)) == json.loads(json.dumps(v))
