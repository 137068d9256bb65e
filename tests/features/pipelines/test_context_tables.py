"""Facts scored against materialized context tables equal the full pipeline over the dataset."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from datetime import date

import duckdb
import pandas as pd
import pytest

from features.pipelines import (
    ContextDatabase,
    FirmFacts,
    FirmYear,
    LoanFacts,
    PatentFacts,
    context_tables,
    firm_features,
    firm_features_for_facts,
    loan_features,
    loan_features_from_frames,
    patent_features,
    patent_features_for_facts,
)

T = date(2015, 12, 31)

FACTS = [
    # In force, owned by A (a firm with suits and a portfolio), in a class with suits.
    PatentFacts(patent_id="NEW1", jurisdiction="CN", patent_type="invention",
                filing_date=date(2013, 5, 1), grant_date=date(2015, 2, 1), num_claims=9,
                cpc_main="H04L", assignee_id="A", forward_citations=4),
    # Owner unknown to the dataset, class unknown to it, not yet granted.
    PatentFacts(patent_id="NEW2", jurisdiction="US", patent_type="utility",
                filing_date=date(2014, 1, 1), cpc_main="C07D", assignee_id="Z9"),
    # Owned by C, an H04W patent (the class's only patent lapsed): the facts add one in force.
    PatentFacts(patent_id="NEW3", jurisdiction="CN", patent_type="utility_model",
                filing_date=date(2012, 1, 1), grant_date=date(2013, 1, 1), cpc_main="H04W",
                assignee_id="C", owner_kind="sme", suits_on_patent=2),
]


_THREADS = ("SELECT current_setting('threads'), current_setting('external_threads'), "
            "current_setting('async_threads')")


def _frame_equal(got: pd.DataFrame, want: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(got.reset_index(drop=True), want.reset_index(drop=True),
                                  check_exact=False, rtol=1e-12, atol=1e-12)


def test_context_counts_reproduce_the_features_of_facts(
    world_con: duckdb.DuckDBPyConnection,
) -> None:
    context = context_tables(world_con, T)
    full = patent_features_for_facts(world_con, FACTS, T)
    fast = patent_features_for_facts(world_con, FACTS, T, context=context)
    _frame_equal(fast, full)
    # The facts count themselves in their owner's portfolio and their class, as stored ones do.
    new1 = fast.set_index("patent_id").loc["NEW1"]
    stored = patent_features(world_con, T).set_index("patent_id")
    assert new1["owner_portfolio_size"] == stored.loc["P2", "owner_portfolio_size"] + 1
    assert not fast.set_index("patent_id")["class_suit_rate"].isna().all()


def test_context_firm_facts_equal_the_full_pipeline(world_con: duckdb.DuckDBPyConnection) -> None:
    context = context_tables(world_con, T)
    firms = [
        FirmFacts(assignee_id="A", kind="large_firm", industry="electronics", founded_year=2000,
                  financials=(FirmYear(year=2014, revenue=900, total_assets=2000, debt=100,
                                       net_income=50),),
                  technology={"H04L": 0.5, "H04W": 0.5}),
        FirmFacts(assignee_id="NEWFIRM", kind="sme", technology={"A61K": 1.0}),
    ]
    _frame_equal(firm_features_for_facts(world_con, firms, T, context=context),
                 firm_features_for_facts(world_con, firms, T))


def test_context_database_equals_the_full_pipeline_also_under_concurrency(
    world_con: duckdb.DuckDBPyConnection,
) -> None:
    context = context_tables(world_con, T)
    db = ContextDatabase(context)
    try:
        full = patent_features_for_facts(world_con, FACTS, T)
        # `con` is not used with a context database: the query runs on one of its cursors.
        _frame_equal(patent_features_for_facts(world_con, FACTS, T, context=db), full)
        # Threads scoring at once each take their own cursor and get the same answer.
        with ThreadPoolExecutor(4) as pool:
            frames = list(pool.map(
                lambda i: patent_features_for_facts(world_con, [FACTS[i % 3]], T, context=db),
                range(12)))
        for i, frame in enumerate(frames):
            want = full[full["patent_id"] == FACTS[i % 3].patent_id]
            _frame_equal(frame, want)
        firm = FirmFacts(assignee_id="NEWFIRM", kind="sme", technology={"A61K": 1.0})
        _frame_equal(firm_features_for_facts(world_con, [firm], T, context=db),
                     firm_features_for_facts(world_con, [firm], T))
        with pytest.raises(ValueError, match="context is as of 2015-12-31"):
            patent_features_for_facts(world_con, FACTS[:1], date(2014, 12, 31), context=db)
    finally:
        db.close()


def test_context_is_for_one_date(world_con: duckdb.DuckDBPyConnection) -> None:
    context = context_tables(world_con, T)
    with pytest.raises(ValueError, match="context is as of 2015-12-31"):
        patent_features_for_facts(world_con, FACTS[:1], date(2014, 12, 31), context=context)


def test_loans_from_stored_frames_equal_the_full_pipeline(
    world_con: duckdb.DuckDBPyConnection,
) -> None:
    loan = LoanFacts(loan_id="R1", as_of=T, borrower_id="A", amount=80.0, term_months=12,
                     appraised_value=300.0, pledged_patent_ids=("P1", "P2"))
    patents = patent_features(world_con, T, patent_ids=["P1", "P2"])
    firms = firm_features(world_con, T, assignee_ids=["A"])
    _frame_equal(loan_features_from_frames(world_con, [loan], patents, firms),
                 loan_features(world_con, [loan]))


def test_context_database_cursor_scores_each_request_alone(
    world_con: duckdb.DuckDBPyConnection,
) -> None:
    # One pooled cursor serves request after request through its view of the feature query:
    # each answer equals the full pipeline for those facts alone (nothing of an earlier request
    # stays registered), whatever the order and the number of facts.
    context = context_tables(world_con, T)
    db = ContextDatabase(context)
    try:
        for batch in ([FACTS[0]], [FACTS[1]], FACTS, [FACTS[2]], [FACTS[0]], FACTS[1:]):
            _frame_equal(patent_features_for_facts(world_con, batch, T, context=db),
                         patent_features_for_facts(world_con, batch, T))
        # A patent stated twice is one target, as in the full pipeline.
        twice = [FACTS[0], FACTS[0]]
        _frame_equal(patent_features_for_facts(world_con, twice, T, context=db),
                     patent_features_for_facts(world_con, twice, T))
    finally:
        db.close()


def test_context_database_skips_optimizers_of_its_own_database_only(
    world_con: duckdb.DuckDBPyConnection,
) -> None:
    db = ContextDatabase(context_tables(world_con, T))
    try:
        with db.cursor() as cur:
            skipped = cur.execute("SELECT current_setting('disabled_optimizers')").fetchone()
            threads = cur.execute(_THREADS).fetchone()
        assert skipped is not None
        assert "join_order" in str(skipped[0])
        # Three threads counted (small aggregate tables), all of them callers': no worker.
        assert threads == (3, 3, 0)
        # The dataset's connection (training, materialization) plans with every pass and runs
        # its own worker threads.
        here = world_con.execute("SELECT current_setting('disabled_optimizers')").fetchone()
        assert here is not None
        assert "join_order" not in str(here[0])
        theirs = world_con.execute(_THREADS).fetchone()
        assert theirs is not None
        assert theirs[1] == 1
    finally:
        db.close()


def test_context_database_runs_queries_on_the_callers_thread_alone(
    world_con: duckdb.DuckDBPyConnection,
) -> None:
    # Three threads counted but none started: the process has as many threads after scoring
    # as before (a worker or I/O thread would stay).
    before = len(os.listdir("/proc/self/task"))
    db = ContextDatabase(context_tables(world_con, T))
    try:
        _frame_equal(patent_features_for_facts(world_con, FACTS, T, context=db),
                     patent_features_for_facts(world_con, FACTS, T))
        assert len(os.listdir("/proc/self/task")) == before
    finally:
        db.close()


# Facts of every shape the pruned query must get right: each kind of patent and term rule, with
# and without grant, class, owner, stated counts, and dates on either side of T.
VARIED = [
    PatentFacts(patent_id="V1", jurisdiction="US", patent_type="design",
                filing_date=date(2014, 1, 1), grant_date=date(2015, 6, 1), cpc_main="H04L",
                assignee_id="A", num_inventors=2, family_size=3),
    PatentFacts(patent_id="V2", jurisdiction="CN", patent_type="design",
                filing_date=date(2010, 1, 1), grant_date=date(2011, 1, 1), assignee_id="B",
                num_independent_claims=2, first_claim_words=150),
    PatentFacts(patent_id="V3", jurisdiction="US", patent_type="utility",
                filing_date=date(1994, 1, 1), grant_date=date(1996, 1, 1), cpc_main="C07D",
                assignee_id="C"),  # expired by T
    PatentFacts(patent_id="V4", jurisdiction="CN", patent_type="invention",
                filing_date=date(2015, 1, 1), grant_date=date(2016, 6, 1), cpc_main="H04W",
                assignee_id="A"),  # granted after T
    PatentFacts(patent_id="V5", jurisdiction="CN", patent_type="invention",
                filing_date=date(2012, 1, 1), grant_date=date(2013, 1, 1),
                expiry_date=date(2015, 6, 1), cpc_main="H04L"),  # no owner, stated expiry
    PatentFacts(patent_id="V6", jurisdiction="CN", patent_type="invention",
                filing_date=date(2011, 1, 1), grant_date=date(2012, 1, 1), cpc_main="G06F",
                assignee_id="Z1", backward_citations=3, forward_citations=7,
                forward_citations_3y=2, forward_citations_5y=5, renewals_paid=3, lapsed=False,
                transfers=1, licences=2, pledges=1, invalidation_requests=1,
                invalidations_upheld=1, invalidated=False, suits_on_patent=1,
                owner_suits_as_plaintiff=4, owner_suits_as_defendant=2, owner_kind="npe",
                owner_portfolio_size=40),
]


@pytest.mark.parametrize("batch", [VARIED, *([f] for f in VARIED)],
                         ids=["all", *(f.patent_id for f in VARIED)])
def test_context_database_equals_the_full_pipeline_for_varied_facts(
    world_con: duckdb.DuckDBPyConnection, batch: list[PatentFacts]
) -> None:
    db = ContextDatabase(context_tables(world_con, T))
    try:
        _frame_equal(patent_features_for_facts(world_con, batch, T, context=db),
                     patent_features_for_facts(world_con, batch, T))
    finally:
        db.close()
