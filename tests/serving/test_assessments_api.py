"""Assessments over HTTP on SQLite and PostgreSQL: stored first, read back identically."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from pydantic import SecretStr

from features.settings import Settings
from tests.serving.conftest import make_client, make_keys


@pytest.fixture
def api(world_settings: Settings, database_url: str) -> Iterator[tuple[TestClient, dict]]:
    settings = world_settings.model_copy(update={"database_url": SecretStr(database_url)})
    with make_client(settings) as client:
        yield client, make_keys(client)


def _quote(client: TestClient, key: str, cover: float = 1000.0) -> dict:
    response = client.post("/probe/quote", json={"cover_limit": cover, "period_months": 12},
                           headers={"X-API-Key": key})
    assert response.status_code == 200, response.text
    return response.json()


def test_answer_reads_back_identically(api) -> None:
    client, keys = api
    answer = _quote(client, keys["underwriter"], cover=2500.5)
    stored = client.get(f"/v1/assessments/{answer['assessment_id']}",
                        headers={"X-API-Key": keys["underwriter"]}).json()
    assert stored["outputs"] == answer["outputs"] == {"premium": 25.005, "grade": "B"}
    assert stored["request"] == {"cover_limit": 2500.5, "period_months": 12, "note": ""}
    assert stored["features"] == {"claims": 10.0, "missing": None}
    assert stored["explanation"] == {"base": -2.5, "reasons": ["专利 cited 42 times"]}
    assert stored["kind"] == "enforcement_quote"
    assert stored["caller_role"] == "underwriter"
    assert (stored["policy_version"], stored["policy_hash"]) == ("test-1", "abc")
    assert stored["created_at"].endswith("Z")
    again = client.get(f"/v1/assessments/{answer['assessment_id']}",
                       headers={"X-API-Key": keys["regulator"]}).json()
    assert again == stored


def test_store_failure_gives_503_and_no_answer(api) -> None:
    client, keys = api
    with client.app.state.engine.begin() as con:
        con.execute(sa.text("DROP TABLE assessments"))
    response = client.post("/probe/quote", json={"cover_limit": 1, "period_months": 1},
                           headers={"X-API-Key": keys["underwriter"]})
    assert response.status_code == 503
    assert response.json()["code"] == "assessment_not_stored"
    assert "premium" not in response.text


def test_callers_see_their_own_and_auditors_see_all(api) -> None:
    client, keys = api
    mine = _quote(client, keys["underwriter"])["assessment_id"]
    other = _quote(client, keys["admin"])["assessment_id"]

    def get(path: str, role: str):
        return client.get(path, headers={"X-API-Key": keys[role]})

    assert get(f"/v1/assessments/{other}", "underwriter").status_code == 404
    assert get(f"/v1/assessments/{mine}", "bank").status_code == 404
    own = get("/v1/assessments", "underwriter").json()
    assert [i["id"] for i in own["items"]] == [mine]
    assert own["total"] == 1
    assert get("/v1/assessments", "bank").json() == {"items": [], "total": 0}
    assert get("/v1/assessments", "regulator").json()["total"] == 2
    assert {i["id"] for i in get("/v1/assessments", "admin").json()["items"]} == {mine, other}


def test_list_filters_by_kind_and_time_and_paginates(api) -> None:
    client, keys = api
    ids = [_quote(client, keys["underwriter"], cover=float(i))["assessment_id"] for i in range(5)]
    headers = {"X-API-Key": keys["regulator"]}
    first = client.get("/v1/assessments?limit=2", headers=headers).json()
    rest = client.get("/v1/assessments?limit=2&offset=2", headers=headers).json()
    last = client.get("/v1/assessments?limit=2&offset=4", headers=headers).json()
    assert (first["total"], rest["total"], last["total"]) == (5, 5, 5)
    paged = [i["id"] for i in first["items"] + rest["items"] + last["items"]]
    assert sorted(paged) == sorted(ids)
    assert len(set(paged)) == 5
    assert client.get("/v1/assessments?kind=valuation", headers=headers).json()["total"] == 0
    assert client.get("/v1/assessments?kind=enforcement_quote",
                      headers=headers).json()["total"] == 5

    created = client.get(f"/v1/assessments/{ids[2]}", headers=headers).json()["created_at"]
    since = client.get("/v1/assessments", params={"since": created}, headers=headers).json()
    until = client.get("/v1/assessments", params={"until": created}, headers=headers).json()
    assert since["total"] + until["total"] == 5
    assert ids[2] in {i["id"] for i in since["items"]}
    assert client.get("/v1/assessments", params={"since": "2999-01-01T00:00:00"},
                      headers=headers).json()["total"] == 0
