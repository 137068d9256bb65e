"""Snapshots: populations, labels, truth, parity with serving, and the leakage guard."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from features.pipelines import (
    FeatureBlock,
    FirmFacts,
    FirmYear,
    LeakageError,
    LoanFacts,
    PatentFacts,
    build_snapshots,
    dataset_end_date,
    default_snapshot_dates,
    firm_features,
    firm_features_for_facts,
    loan_features,
    loan_features_for_ids,
    patent_features,
    patent_features_for_facts,
    task_features,
)
from features.registry import TASKS
from features.store import TableStore

from .conftest import hand_tables

T = date(2015, 12, 31)


def test_default_dates_fit_label_window(world_con: duckdb.DuckDBPyConnection) -> None:
    end = dataset_end_date(world_con)
    assert end == date(2017, 12, 31)
    # First case in 2014 plus 2 years of history; T = 2016-12-31 is the last whose 12-month
    # window (2017) ends by end_date.
    assert default_snapshot_dates(world_con, end) == [date(2016, 12, 31)]


def test_litigation_population_and_labels(world_con: duckdb.DuckDBPyConnection) -> None:
    snap = build_snapshots(world_con, "litigation", [date(2014, 12, 31), T])
    assert list(snap.columns) == ["entity_id", "as_of", *task_features("litigation"),
                                  "label", "truth", "label_date"]
    got = {(r.entity_id, r.as_of.date()): r.label for r in snap.itertuples()}
    # 2014: P1-P4 in force (P3 lapses 2015-01-01); K1 on P1 is filed in 2015.
    # 2015: P3 lapsed, P5 not yet granted; K3 on P1 is filed in 2016.
    assert got == {
        ("P1", date(2014, 12, 31)): 1.0, ("P2", date(2014, 12, 31)): 0.0,
        ("P3", date(2014, 12, 31)): 0.0, ("P4", date(2014, 12, 31)): 0.0,
        ("P1", T): 1.0, ("P2", T): 0.0, ("P4", T): 0.0,
    }
    assert snap["truth"].isna().all()
    assert snap[task_features("litigation")].dtypes.eq("float64").all()


def test_liability_default_severity_value(world_con: duckdb.DuckDBPyConnection) -> None:
    li = build_snapshots(world_con, "liability", [T])
    assert dict(zip(li["entity_id"], li["label"], strict=True)) == {"A": 1.0, "C": 0.0}
    de = build_snapshots(world_con, "default")
    assert dict(zip(de["entity_id"], de["label"], strict=True)) == {"L1": 1.0, "L2": 0.0}
    assert list(de["as_of"].dt.date) == [date(2015, 6, 30), date(2015, 12, 31)]
    se = build_snapshots(world_con, "severity")
    rows = {(r.entity_id, r.claim_kind): (r.as_of.date(), r.label, r.label_date.date())
            for r in se.itertuples()}
    # K1 (filed 2015-04-01) closed, but its cohort had under 3 years to close by 2017-12-31
    assert rows == {
        ("K2", 0.0): (date(2014, 2, 28), 100.0, date(2014, 12, 1)),
        ("K2", 1.0): (date(2014, 2, 28), 5400.0, date(2014, 12, 1)),
    }
    assert list(de["label_date"].dt.date) == [date(2017, 7, 1), date(2017, 1, 1)]
    va = build_snapshots(world_con, "value")
    assert va[["entity_id", "label"]].values.tolist() == [["P2", 5000.0]]
    assert va["as_of"].dt.date.tolist() == [date(2015, 7, 31)]


def test_late_dates_and_unknown_task_are_refused(world_con: duckdb.DuckDBPyConnection) -> None:
    with pytest.raises(ValueError, match="12-month label window"):
        build_snapshots(world_con, "litigation", [date(2017, 6, 30)])
    with pytest.raises(ValueError, match="task must be one of"):
        build_snapshots(world_con, "nonsense")


def test_truth_tables_feed_truth(make_world: Callable[..., duckdb.DuckDBPyConnection]) -> None:
    tables = hand_tables()
    tables["truth_patent_year"] = pd.DataFrame(
        {"patent_id": ["P1", "P1"], "year": [2016, 2015], "p_litigation": [0.3, 0.9]}
    )
    snap = build_snapshots(make_world(tables), "litigation", [T])
    truth = dict(zip(snap["entity_id"], snap["truth"], strict=True))
    assert truth["P1"] == 0.3
    assert pd.isna(truth["P2"])


def test_leaky_feature_fails_the_build(world_con: duckdb.DuckDBPyConnection) -> None:
    leaky = FeatureBlock(
        "patent",
        "SELECT t.patent_id, t.as_of, count(c.citing_patent_id) AS all_citations "
        "FROM {targets} t LEFT JOIN {citations} c ON c.cited_patent_id = t.patent_id "
        "GROUP BY ALL",
        ("all_citations",),
    )
    with pytest.raises(LeakageError, match="all_citations of P1 as of 2015-12-31"):
        build_snapshots(world_con, "litigation", [T], extra_blocks=[leaky])
    honest = FeatureBlock("patent", leaky.sql.replace(
        "c.cited_patent_id = t.patent_id", "c.cited_patent_id = t.patent_id "
        "AND c.citation_date <= t.as_of"), ("all_citations",))
    snap = build_snapshots(world_con, "litigation", [T], extra_blocks=[honest])
    assert snap.set_index("entity_id").loc["P1", "all_citations"] == 3


@pytest.mark.parametrize("task", TASKS)
def test_every_task_builds_with_guard(world_con: duckdb.DuckDBPyConnection, task: str) -> None:
    snap = build_snapshots(world_con, task)
    assert len(snap) > 0
    assert snap["label"].notna().all()


def _same(a: pd.DataFrame, b: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(a.reset_index(drop=True), b.reset_index(drop=True),
                                  check_exact=True)


def test_serving_matches_training_patent(world_con: duckdb.DuckDBPyConnection) -> None:
    names = task_features("litigation")
    snap = build_snapshots(world_con, "litigation", [T])
    train = snap[snap["entity_id"] == "P1"][names]
    one = patent_features(world_con, T, ["P1"])[names]
    _same(train, one)
    row = hand_tables()["patents"].iloc[0]
    facts = PatentFacts(
        patent_id="P1", jurisdiction=row.jurisdiction, patent_type=row.patent_type,
        filing_date=row.filing_date.date(), grant_date=row.grant_date.date(),
        num_claims=10, num_independent_claims=2, first_claim_words=150, family_size=3,
        num_inventors=2, cpc_main="H04L", assignee_id="A",
    )
    _same(patent_features_for_facts(world_con, [facts], T)[names], one)
    # The same patent under a new id, with the counts the requester knows.
    counted = facts.model_copy(update={
        "patent_id": "NEW1", "forward_citations": 3, "forward_citations_3y": 3,
        "forward_citations_5y": 3, "renewals_paid": 2, "transfers": 1, "licences": 1,
        "pledges": 1, "suits_on_patent": 1, "owner_kind": "npe", "owner_portfolio_size": 2,
        "owner_suits_as_plaintiff": 2, "owner_suits_as_defendant": 0,
    })
    new = patent_features_for_facts(world_con, [counted], T)
    skip = {"self_citation_share", "generality", "owner_portfolio_size", "class_suit_rate"}
    cols = [n for n in names if n not in skip]
    _same(new[cols], one[cols])


def test_serving_matches_training_firm_and_loan(world_con: duckdb.DuckDBPyConnection) -> None:
    names = task_features("liability")
    snap = build_snapshots(world_con, "liability", [T])
    train = snap[snap["entity_id"] == "A"][names]
    _same(train, firm_features(world_con, T, ["A"])[names])
    a = FirmFacts(
        assignee_id="A", kind="large_firm", industry="electronics", founded_year=2000,
        financials=(FirmYear(year=2014, revenue=1000, total_assets=2000, debt=500,
                             net_income=100),
                    FirmYear(year=2015, revenue=1200, total_assets=2400, debt=600,
                             net_income=120)),
        technology={"H04L": 0.75, "G06F": 0.25},
    )
    _same(firm_features_for_facts(world_con, [a], T)[names], train)

    loan_names = task_features("default")
    snap = build_snapshots(world_con, "default")
    l1 = snap[snap["entity_id"] == "L1"][loan_names]
    _same(loan_features_for_ids(world_con, ["L1"])[loan_names], l1)
    by_ids = LoanFacts(loan_id="L1", as_of=date(2015, 6, 30), borrower_id="C", amount=100,
                       term_months=24, appraised_value=400, pledged_patent_ids=("P1", "P3"))
    _same(loan_features(world_con, [by_ids])[loan_names], l1)
    c = FirmFacts(assignee_id="C", kind="sme", industry="pharma", founded_year=2005,
                  technology={"A61K": 1.0})
    by_facts = by_ids.model_copy(update={"borrower_id": None, "borrower": c})
    _same(loan_features(world_con, [by_facts])[loan_names], l1)


def test_facts_validation_names_field_and_rule() -> None:
    with pytest.raises(ValueError, match="patent_type must be one of utility, design"):
        PatentFacts(patent_id="X", jurisdiction="US", patent_type="invention",
                    filing_date=date(2020, 1, 1))
    with pytest.raises(ValueError, match="num_claims"):
        PatentFacts(patent_id="X", jurisdiction="CN", patent_type="invention",
                    filing_date=date(2020, 1, 1), num_claims=-1)
    with pytest.raises(ValueError, match="term_months"):
        LoanFacts(as_of=date(2020, 1, 1), borrower_id="A", amount=1, term_months=240,
                  pledged_patent_ids=("P1",))
    with pytest.raises(ValueError, match="exactly one of borrower_id and borrower"):
        LoanFacts(as_of=date(2020, 1, 1), amount=1, term_months=12, pledged_patent_ids=("P1",))


def test_default_leaves_out_every_loan_whose_term_runs_past_the_end(
    make_world: Callable[[dict[str, pd.DataFrame]], duckdb.DuckDBPyConnection],
) -> None:
    # End 2017-12-31: L3 (term to 2018-06) defaulted already, L4 (term to 2018-06) is open.
    # Keeping L3 but not L4 would select on the label, so both are left out.
    tables = hand_tables()
    extra = pd.DataFrame({
        "loan_id": ["L3", "L4"], "borrower_id": ["C", "A"], "lender": ["Bank1", "Bank1"],
        "start_date": [pd.Timestamp("2017-06-01")] * 2, "term_months": [12, 12],
        "amount": [10.0, 10.0], "appraised_value": [40.0, 40.0], "currency": ["CNY", "CNY"],
        "outcome": ["defaulted", "open"], "default_date": [pd.Timestamp("2017-10-01"), None],
        "recovery": [1.0, None],
    })
    tables["loans"] = pd.concat([tables["loans"], extra], ignore_index=True)
    pledges = pd.DataFrame({"loan_id": ["L3", "L4"], "patent_id": ["P1", "P2"]})
    tables["loan_patents"] = pd.concat([tables["loan_patents"], pledges], ignore_index=True)
    con = make_world(tables)
    de = build_snapshots(con, "default")
    assert sorted(de["entity_id"]) == ["L1", "L2"]


def test_severity_keeps_only_cohorts_that_had_time_to_close(tmp_path: Path) -> None:
    # 40 old cases taking 100..490 days, then recent fast cheap ones: only the old ones count
    from features.pipelines.labels import severity_last_filing, severity_maturity_days

    store = TableStore(tmp_path / "w")
    base = pd.Timestamp("2000-01-01")
    filed = [base + pd.Timedelta(days=30 * i) for i in range(40)]
    closed = [f + pd.Timedelta(days=100 + 10 * i) for i, f in enumerate(filed)]
    recent = [pd.Timestamp("2019-06-01") + pd.Timedelta(days=i) for i in range(10)]
    n = len(filed) + len(recent)
    store.write("patents", pd.DataFrame({
        "patent_id": ["P1"], "jurisdiction": ["CN"], "patent_type": ["invention"],
        "filing_date": [pd.Timestamp("1998-01-01")], "grant_date": [pd.Timestamp("1999-01-01")],
        "cpc_main": ["H04L"], "assignee_id": ["A"]}))
    store.write("cases", pd.DataFrame({
        "case_id": [f"K{i}" for i in range(n)], "patent_id": ["P1"] * n,
        "plaintiff_id": ["A"] * n, "defendant_id": ["B"] * n,
        "filed_date": filed + recent,
        "closed_date": closed + [r + pd.Timedelta(days=20) for r in recent],
        "outcome": ["settled"] * n, "damages": [1000.0] * 40 + [10.0] * 10,
        "plaintiff_legal_cost": [100.0] * n, "defendant_legal_cost": [100.0] * n}))
    store.write_meta({"source": "test", "end_date": "2019-12-31", "currency": "CNY"})
    con = store.connect()
    end = date(2019, 12, 31)
    days = severity_maturity_days(con, end)
    assert 460 <= days <= 490  # 95th percentile of 100..490 days
    assert severity_last_filing(con, end) == end - pd.Timedelta(days=days)
    se = build_snapshots(con, "severity", check_leakage=False)
    assert set(se["entity_id"]) == {f"K{i}" for i in range(40)}  # the recent fast ones are out
    assert (se["label_date"] <= pd.Timestamp(end)).all()
    con.close()
