"""A liability quote prices the claim on the patents such suits were brought on, not on a blank."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from features.settings import Settings
from features.store import TableStore

pytestmark = pytest.mark.slow

CASE_COST = (
    "SELECT p.cpc_main AS cls, count(*) AS n, avg(coalesce(k.dmg, 0) + coalesce(k.dlc, 0)) AS cost "
    "FROM (SELECT case_id, min(patent_id) AS patent_id, max(damages) AS dmg, "
    "      max(defendant_legal_cost) AS dlc FROM cases "
    "      WHERE closed_date IS NOT NULL AND filed_date > DATE '2015-12-31' GROUP BY case_id) k "
    "JOIN patents p ON p.patent_id = k.patent_id GROUP BY 1 ORDER BY n DESC, 1 LIMIT 3"
)


def test_liability_claim_cost_follows_the_cost_of_the_class_cases(
    trained_settings: Settings, scoring_client: TestClient, scoring_keys: dict[str, str],
) -> None:
    con = TableStore(trained_settings.dataset_dir).connect()
    classes = con.execute(CASE_COST).fetchall()
    firm, = con.execute(
        "SELECT assignee_id FROM firm_financials JOIN firm_technology USING (assignee_id) "
        "GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1").fetchone()
    con.close()
    for cls, n, mean_cost in classes:
        response = scoring_client.post(
            "/v1/quotes/liability", headers={"X-API-Key": scoring_keys["underwriter"]},
            json={"firm": {"assignee_id": firm}, "product_classes": [cls],
                  "applicant": {"applicant_id": firm, "role": "manufacturer"},
                  "cover_limit": 5e6, "deductible": 0})
        assert response.status_code == 200, response.text
        body = response.json()
        ratio = body["expected_claim_cost"] / mean_cost
        assert 0.67 <= ratio <= 1.5, (cls, n, mean_cost, body["expected_claim_cost"])
        record = scoring_client.get(
            f"/v1/assessments/{body['assessment_id']}",
            headers={"X-API-Key": scoring_keys["regulator"]}).json()
        basis = record["features"]["severity_basis"]
        assert basis["rows"] >= 1
        assert cls[:3] in basis["basis"]
        assert "sued" in basis["basis"]
