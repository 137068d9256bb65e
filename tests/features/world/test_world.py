import hashlib
import math
from pathlib import Path

import duckdb
import pytest

from features.schema import TABLES, validate_table
from features.store import TableStore
from features.world.generate import WorldSummary, generate_world


def _one(con: duckdb.DuckDBPyConnection, sql: str) -> tuple:
    row = con.execute(sql).fetchone()
    assert row is not None
    return row


@pytest.fixture(scope="module")
def con(store: TableStore) -> duckdb.DuckDBPyConnection:
    return store.connect()


def test_every_canonical_table_is_written_and_validates(store: TableStore) -> None:
    assert store.tables() == [t.name for t in TABLES]
    for name in store.tables():
        frame = store.read(name)
        assert len(frame) > 0, name
        validate_table(name, frame)


def test_every_foreign_key_resolves(store: TableStore) -> None:
    store.check_references()


def test_meta_names_source_seed_currency_and_end(store: TableStore) -> None:
    meta = store.meta()
    assert meta["source"] == "synthetic"
    assert meta["seed"] == 7
    assert meta["n_patents"] == 5000
    assert meta["currency"] == "CNY"
    assert meta["end_date"] == "2025-12-31"


def test_mixed_offices_types_and_about_thirty_classes(con: duckdb.DuckDBPyConnection) -> None:
    cn_share, n_cls = _one(con, "SELECT avg((jurisdiction = 'CN')::int), "
                                "count(DISTINCT cpc_main) FROM patents")
    assert 0.55 < cn_share < 0.65
    assert n_cls == 30
    pairs = {tuple(r) for r in con.execute(
        "SELECT DISTINCT jurisdiction, patent_type FROM patents").fetchall()}
    assert pairs == {("CN", "invention"), ("CN", "utility_model"), ("CN", "design"),
                     ("US", "utility"), ("US", "design")}


def test_lifetime_litigation_rate_is_one_to_two_percent(
    con: duckdb.DuckDBPyConnection, world: tuple[TableStore, WorldSummary]
) -> None:
    (rate,) = _one(con, """
        SELECT avg((patent_id IN (SELECT patent_id FROM cases))::int) FROM patents
        WHERE year(grant_date) <= 2015""")
    assert 0.008 <= rate <= 0.03
    assert world[1].lifetime_litigation_rate == pytest.approx(rate)


def test_litigated_patents_have_more_claims_and_citations(con: duckdb.DuckDBPyConnection) -> None:
    rows = con.execute("""
        WITH fwd AS (SELECT cited_patent_id AS patent_id, count(*) AS n FROM citations GROUP BY 1)
        SELECT p.patent_id IN (SELECT patent_id FROM cases) AS sued,
               avg(num_claims), avg(coalesce(fwd.n, 0)), count(*)
        FROM patents p LEFT JOIN fwd USING (patent_id)
        WHERE year(grant_date) <= 2020 GROUP BY 1""").fetchall()
    by = {r[0]: r[1:] for r in rows}
    assert by[True][2] >= 20
    assert by[True][0] > 1.2 * by[False][0]
    assert by[True][1] > 1.5 * by[False][1]


def test_npe_share_of_plaintiffs_exceeds_their_share_of_owners(
    con: duckdb.DuckDBPyConnection,
) -> None:
    (plaintiffs,) = _one(con, """
        SELECT avg((a.kind = 'npe')::int) FROM cases c
        JOIN assignees a ON a.assignee_id = c.plaintiff_id""")
    (owners,) = _one(con, """
        WITH o AS (SELECT assignee_id FROM patents
                   UNION SELECT counterparty_id FROM legal_events WHERE event_type = 'transferred')
        SELECT avg((a.kind = 'npe')::int) FROM o JOIN assignees a USING (assignee_id)""")
    assert plaintiffs > 2 * owners


def test_renewal_share_falls_with_age(con: duckdb.DuckDBPyConnection) -> None:
    shares = []
    for age in (2, 5, 8, 11):
        (share,) = _one(con, f"""
            SELECT avg((NOT EXISTS (SELECT 1 FROM legal_events e WHERE e.patent_id = p.patent_id
                   AND e.event_type = 'lapsed'
                   AND e.event_date <= p.grant_date + INTERVAL {age} YEAR))::int)
            FROM patents p
            WHERE p.jurisdiction = 'CN' AND p.patent_type = 'invention'
              AND p.grant_date + INTERVAL {age} YEAR <= DATE '2025-12-31'""")
        shares.append(share)
    assert shares == sorted(shares, reverse=True)
    assert shares[0] > 0.9
    assert shares[-1] < shares[0] - 0.2


def test_loan_default_rate_in_range_and_higher_at_higher_ltv(
    con: duckdb.DuckDBPyConnection,
) -> None:
    n_loans, n_patents = _one(con, "SELECT (SELECT count(*) FROM loans), "
                                   "(SELECT count(*) FROM patents)")
    assert n_loans > 0.3 * n_patents
    (rate,) = _one(con, "SELECT avg((outcome = 'defaulted')::int) FROM loans "
                        "WHERE outcome <> 'open'")
    assert 0.02 <= rate <= 0.07
    rows = con.execute("""
        WITH t AS (SELECT ntile(3) OVER (ORDER BY amount / appraised_value) AS band, outcome,
                          p_default
                   FROM loans JOIN truth_loans USING (loan_id) WHERE outcome <> 'open')
        SELECT band, avg((outcome = 'defaulted')::int), avg(p_default)
        FROM t GROUP BY 1 ORDER BY 1""").fetchall()
    assert rows[2][1] > rows[0][1]
    assert rows[2][2] > 1.5 * rows[0][2]


def test_loan_dates_and_outcomes_are_consistent(con: duckdb.DuckDBPyConnection) -> None:
    bad = _one(con, """
        SELECT count(*) FILTER (WHERE outcome = 'defaulted' AND (default_date IS NULL
                   OR default_date > start_date + to_months(term_months::int)
                   OR default_date > DATE '2025-12-31')),
               count(*) FILTER (WHERE outcome = 'open'
                   AND start_date + to_months(term_months::int) <= DATE '2025-12-31'),
               count(*) FILTER (WHERE outcome = 'repaid' AND default_date IS NOT NULL),
               count(*) FILTER (WHERE amount / appraised_value > 1)
        FROM loans""")
    assert bad == (0, 0, 0, 0)


def test_pledged_patents_belong_to_the_borrower_and_are_in_force(
    con: duckdb.DuckDBPyConnection,
) -> None:
    (bad,) = _one(con, """
        WITH lp AS (SELECT l.loan_id, l.borrower_id, l.start_date, lp.patent_id
                    FROM loans l JOIN loan_patents lp USING (loan_id)),
        owner AS (
            SELECT lp.loan_id, lp.patent_id, lp.borrower_id,
                   coalesce((SELECT arg_max(e.counterparty_id, e.event_date) FROM legal_events e
                             WHERE e.patent_id = lp.patent_id AND e.event_type = 'transferred'
                               AND e.event_date <= lp.start_date), p.assignee_id) AS holder,
                   p.grant_date, p.expiry_date, lp.start_date,
                   (SELECT min(e.event_date) FROM legal_events e WHERE e.patent_id = lp.patent_id
                      AND e.event_type IN ('lapsed', 'invalidated')) AS ended
            FROM lp JOIN patents p USING (patent_id))
        SELECT count(*) FROM owner
        WHERE holder <> borrower_id OR grant_date >= start_date OR expiry_date <= start_date
           OR ended <= start_date""")
    assert bad == 0


def test_no_citation_points_forward_in_time(con: duckdb.DuckDBPyConnection) -> None:
    bad_dir, bad_date, per_patent = _one(con, """
        SELECT count(*) FILTER (WHERE d.grant_date >= c.citation_date),
               count(*) FILTER (WHERE c.citation_date <> g.grant_date),
               count(*) / (SELECT count(*) FROM patents)
        FROM citations c JOIN patents g ON g.patent_id = c.citing_patent_id
        JOIN patents d ON d.patent_id = c.cited_patent_id""")
    assert (bad_dir, bad_date) == (0, 0)
    assert 6 <= per_patent <= 14


def test_cases_are_on_patents_in_force_with_practising_defendants(
    con: duckdb.DuckDBPyConnection,
) -> None:
    no_truth, bad_defendant, bad_dates, open_with_outcome = _one(con, """
        SELECT
          count(*) FILTER (WHERE NOT EXISTS (SELECT 1 FROM truth_patent_year t
              WHERE t.patent_id = c.patent_id AND t.year = year(c.filed_date))),
          count(*) FILTER (WHERE c.defendant_id IS NOT NULL AND NOT EXISTS (
              SELECT 1 FROM firm_technology f JOIN patents p ON p.cpc_main = f.cpc_class
              WHERE p.patent_id = c.patent_id AND f.assignee_id = c.defendant_id)),
          count(*) FILTER (WHERE c.closed_date < c.filed_date OR c.defendant_id = c.plaintiff_id),
          count(*) FILTER (WHERE (c.outcome IS NULL) <> (c.closed_date IS NULL))
        FROM cases c""")
    assert (no_truth, bad_defendant, bad_dates, open_with_outcome) == (0, 0, 0, 0)
    (open_cases,) = _one(con, "SELECT count(*) FROM cases WHERE outcome IS NULL")
    assert open_cases > 0


def test_truth_rows_cover_patents_in_force_on_1_january(con: duckdb.DuckDBPyConnection) -> None:
    (bad,) = _one(con, """
        SELECT count(*) FROM truth_patent_year t JOIN patents p USING (patent_id)
        WHERE make_date(t.year::int, 1, 1) <= p.grant_date
           OR make_date(t.year::int, 1, 1) > p.expiry_date""")
    assert bad == 0


def _within(observed: float, expected: float, variance: float, z: float = 4.0) -> bool:
    return abs(observed - expected) <= z * math.sqrt(variance) + 1.0


def test_oracle_litigation_probability_is_calibrated(con: duckdb.DuckDBPyConnection) -> None:
    expected, var, observed = _one(con, """
        SELECT sum(p_litigation), sum(p_litigation * (1 - p_litigation)),
               (SELECT count(*) FROM (SELECT DISTINCT patent_id, year(filed_date) FROM cases))
        FROM truth_patent_year""")
    assert _within(observed, expected, var)


def test_oracle_firm_probability_is_calibrated(con: duckdb.DuckDBPyConnection) -> None:
    expected, var, observed, outside = _one(con, """
        SELECT sum(p_sued), sum(p_sued * (1 - p_sued)),
               (SELECT count(*) FROM (SELECT DISTINCT defendant_id, year(filed_date) FROM cases
                WHERE defendant_id IS NOT NULL)),
               (SELECT count(*) FROM cases c WHERE c.defendant_id IS NOT NULL AND NOT EXISTS (
                SELECT 1 FROM truth_firm_year t WHERE t.assignee_id = c.defendant_id
                AND t.year = year(c.filed_date)))
        FROM truth_firm_year""")
    assert outside == 0
    assert _within(observed, expected, var)


def test_oracle_default_probability_is_calibrated(con: duckdb.DuckDBPyConnection) -> None:
    expected, var, observed = _one(con, """
        SELECT sum(p_default), sum(p_default * (1 - p_default)),
               sum((outcome = 'defaulted')::int)
        FROM loans JOIN truth_loans USING (loan_id)
        WHERE start_date + to_months(term_months::int) <= DATE '2025-12-31'""")
    assert _within(observed, expected, var)


def test_truth_value_drives_observables(con: duckdb.DuckDBPyConnection) -> None:
    (corr_claims, corr_family, corr_fwd) = _one(con, """
        WITH fwd AS (SELECT cited_patent_id AS patent_id, count(*) AS n FROM citations GROUP BY 1)
        SELECT corr(ln(v.value), ln(p.num_claims)), corr(ln(v.value), p.family_size),
               corr(ln(v.value), ln(1 + coalesce(fwd.n, 0)))
        FROM patents p JOIN truth_value v USING (patent_id) LEFT JOIN fwd USING (patent_id)
        WHERE p.jurisdiction = 'US' AND p.patent_type = 'utility'
          AND year(p.grant_date) <= 2018""")
    assert corr_claims > 0.2
    assert corr_family > 0.2
    assert corr_fwd > 0.3


def test_every_practising_firm_has_technology_classes(con: duckdb.DuckDBPyConnection) -> None:
    (missing,) = _one(con, """
        SELECT count(*) FROM assignees a WHERE a.kind IN ('large_firm', 'sme')
        AND NOT EXISTS (SELECT 1 FROM firm_technology f WHERE f.assignee_id = a.assignee_id)""")
    assert missing == 0


def _digest(root: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(root.iterdir())}


def test_same_seed_gives_identical_files_and_another_seed_differs(tmp_path: Path) -> None:
    roots = [tmp_path / name for name in ("a", "b", "c")]
    for root, seed in zip(roots, (3, 3, 4), strict=True):
        generate_world(TableStore(root), 600, seed)
    assert _digest(roots[0]) == _digest(roots[1])
    assert _digest(roots[0])["patents.parquet"] != _digest(roots[2])["patents.parquet"]
    assert _digest(roots[0])["citations.parquet"] != _digest(roots[2])["citations.parquet"]


def test_too_small_a_world_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="n_patents must be at least 100"):
        generate_world(TableStore(tmp_path), 10, 1)
