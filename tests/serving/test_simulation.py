"""`simulate-book`: a year of the trained world's cases becomes policies, claims and a report."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from features.settings import Settings
from features.store import TableStore
from serving.app import create_app
from serving.simulation import simulate_book
from tests.serving.conftest import make_keys

pytestmark = pytest.mark.slow


def test_simulated_year_fills_the_book(trained_settings: Settings, tmp_path: Path) -> None:
    """Bound policies and the claims from the year's suits and defaults show in the report."""
    settings = Settings(data_dir=trained_settings.data_dir, train_trials=0,
                        database_url=f"sqlite:///{tmp_path / 'book.db'}")
    year = int(TableStore(settings.dataset_dir).meta()["end_date"][:4]) - 1
    book = simulate_book(settings, year, enforcement=12, liability=6, loans=8, seed=3)
    assert sum(book.policies.values()) >= 10, book
    assert sum(book.claims.values()) > 0, book
    with TestClient(create_app(settings)) as client:
        keys = make_keys(client)
        report = client.get("/v1/reports/book", headers={"X-API-Key": keys["regulator"]}).json()
        claims = client.get("/v1/claims?limit=500", headers={"X-API-Key": keys["adjuster"]}
                            ).json()
    rows = report["rows"]
    assert {r["year"] for r in rows} == {year}
    assert sum(r["policies"] for r in rows) == sum(book.policies.values())
    assert sum(r["claims_reported"] for r in rows) == sum(book.claims.values()) == claims["total"]
    assert any(float(r["claims_paid"]) > 0 for r in rows)
    # 12-month insurance policies of a past year are fully earned; loans may run for years
    for r in rows:
        written, earned = float(r["written_premium"]), float(r["earned_premium"])
        assert earned == written if r["product"] != "pledge_loan" else 0 < earned <= written
    closed = [c for c in claims["items"] if c["state"] == "closed"]
    assert closed, claims
    for r in rows:
        assert 0 <= float(r["claims_advanced"]) <= float(r["claims_paid"])
        assert r["known_circumstance_denials"] <= r["claims_reported"]


def test_simulated_claims_name_their_case_and_declarations_precede_binding(
    trained_settings: Settings, tmp_path: Path
) -> None:
    """Every insurance claim refers to its world case; declared circumstances predate binding."""
    settings = Settings(data_dir=trained_settings.data_dir, train_trials=0,
                        database_url=f"sqlite:///{tmp_path / 'book.db'}")
    year = int(TableStore(settings.dataset_dir).meta()["end_date"][:4]) - 1
    simulate_book(settings, year, enforcement=10, liability=8, loans=0, seed=5)
    with TestClient(create_app(settings)) as client:
        keys = make_keys(client)
        h = {"X-API-Key": keys["adjuster"]}
        policies = client.get("/v1/policies?limit=500", headers=h).json()["items"]
        listed = client.get("/v1/claims?limit=500", headers=h).json()["items"]
        claims = [client.get(f"/v1/claims/{c['id']}", headers=h).json() for c in listed]
    assert policies
    for p in policies:
        for known in p["known_circumstances"]:
            assert known["date"] <= p["bound_on"], p
    con = TableStore(settings.dataset_dir).connect()
    for c in claims:
        if c["product"] == "pledge_loan":
            continue
        case = c["incident"]["case"]
        filed, = con.execute("SELECT CAST(min(filed_date) AS DATE) FROM cases WHERE case_id = ?",
                             [case["case_id"]]).fetchone()
        assert case["filed_date"] == filed.isoformat()
        codes = {r["code"] for r in c["denial_reasons"] or []}
        bound_on = next(p["bound_on"] for p in policies if p["id"] == c["policy_id"])
        assert ("suit_before_binding" in codes) == (case["filed_date"] < bound_on), c
        advanced = [e for e in c["ledger"] if e["kind"] == "advance_payment"]
        if advanced:
            assert c["state"] in ("under_assessment", "paid", "partially_paid", "closed"), c
    con.close()
