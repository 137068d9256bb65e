from pathlib import Path

import pandas as pd
import pytest

from features.schema import TABLES, SchemaError, check_rows, schema_markdown, table, validate_table
from features.store import TableStore


def _patents(**overrides: list) -> pd.DataFrame:
    base = {
        "patent_id": ["US1", "CN2"],
        "jurisdiction": ["US", "CN"],
        "patent_type": ["utility", "invention"],
        "filing_date": ["2010-01-05", "2011-03-01"],
        "grant_date": ["2012-06-01", "2013-01-01"],
        "num_claims": [20, 8],
        "assignee_id": ["A1", "A2"],
    }
    base.update(overrides)
    return pd.DataFrame(base)


def test_valid_rows_are_cast_to_canonical_dtypes() -> None:
    valid, rejects = check_rows(table("patents"), _patents())
    assert rejects.empty
    assert str(valid["filing_date"].dtype) == "datetime64[ms]"
    assert str(valid["num_claims"].dtype) == "Int64"
    assert list(valid.columns) == table("patents").column_names


@pytest.mark.parametrize(
    ("overrides", "column", "rule"),
    [
        ({"jurisdiction": ["US", "JP"]}, "jurisdiction", "must be one of CN, US"),
        ({"patent_type": ["utility", "utility"]}, "patent_type", "patent type of its jurisdiction"),
        ({"grant_date": ["2009-01-01", "2013-01-01"]}, "grant_date", "on or after filing_date"),
        ({"num_claims": [-1, 8]}, "num_claims", "must be >= 0"),
        ({"num_claims": ["many", 8]}, "num_claims", "must be of type int"),
        ({"filing_date": [None, "2011-03-01"]}, "filing_date", "must not be empty"),
        ({"patent_id": ["US1", "US1"]}, "patent_id", "duplicate key"),
    ],
)
def test_each_rule_rejects_the_bad_row_only(overrides: dict, column: str, rule: str) -> None:
    valid, rejects = check_rows(table("patents"), _patents(**overrides))
    assert len(rejects) == 1
    assert len(valid) == 1
    assert rejects.loc[0, "column"] == column
    assert rule in rejects.loc[0, "rule"]


def test_missing_required_column_names_table_and_column() -> None:
    with pytest.raises(SchemaError, match=r"patents\.filing_date: required column is missing"):
        check_rows(table("patents"), _patents().drop(columns=["filing_date"]))


def test_validate_table_raises_with_table_column_and_rule() -> None:
    with pytest.raises(SchemaError) as info:
        validate_table("patents", _patents(num_claims=[-3, 1]))
    assert info.value.table == "patents"
    assert info.value.column == "num_claims"
    assert "must be >= 0" in str(info.value)


def test_unknown_table_is_refused() -> None:
    with pytest.raises(SchemaError, match="unknown table"):
        table("nope")


def test_every_table_has_its_key_columns_and_documents_them() -> None:
    doc = schema_markdown()
    for t in TABLES:
        assert set(t.key) <= set(t.column_names)
        assert f"## `{t.name}`" in doc
        for fk in t.foreign_keys:
            assert fk.column in t.column_names
            assert fk.target in table(fk.table).column_names


def test_store_round_trip_keeps_values_and_types(tmp_path: Path) -> None:
    store = TableStore(tmp_path)
    store.write("patents", _patents())
    back = store.read("patents")
    assert back["patent_id"].tolist() == ["US1", "CN2"]
    assert back["grant_date"].tolist() == [pd.Timestamp("2012-06-01"), pd.Timestamp("2013-01-01")]
    assert back["num_claims"].tolist() == [20, 8]
    assert back["cpc_main"].isna().all()
    con = store.connect()
    assert con.execute("SELECT typeof(filing_date) FROM patents LIMIT 1").fetchone() == ("DATE",)
    assert store.tables() == ["patents"]


def test_store_refuses_bad_file_and_keeps_the_old_one(tmp_path: Path) -> None:
    store = TableStore(tmp_path)
    store.write("patents", _patents())
    with pytest.raises(SchemaError):
        store.write("patents", _patents(num_claims=[-1, 1]))
    assert len(store.read("patents")) == 2


def test_foreign_keys_are_checked(tmp_path: Path) -> None:
    store = TableStore(tmp_path)
    store.write("patents", _patents())
    store.write(
        "assignees",
        pd.DataFrame({"assignee_id": ["A1"], "name": ["Acme, Inc."], "kind": ["large_firm"]}),
    )
    with pytest.raises(SchemaError, match=r"patents\.assignee_id: must exist in assignees"):
        store.check_references()


def test_fingerprint_changes_with_content(tmp_path: Path) -> None:
    store = TableStore(tmp_path)
    store.write("patents", _patents())
    before = store.fingerprint()
    store.write("patents", _patents().iloc[:1])
    assert store.fingerprint() != before
    store.write_meta({"source": "test", "end_date": "2020-12-31"})
    assert store.meta()["end_date"] == "2020-12-31"
