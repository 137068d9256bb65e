"""Error answers: 413 body limit, 422 field and rule, 404, 503 no model, 500 without traces."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.serving.conftest import error_json


def test_declared_oversized_body_gets_413_before_the_route_runs(client, keys) -> None:
    big = b'{"cover_limit": 1, "period_months": 1, "note": "' + b"x" * 3000 + b'"}'
    response = client.post("/probe/quote", content=big,
                           headers={"X-API-Key": keys["underwriter"],
                                    "Content-Type": "application/json"})
    assert response.status_code == 413
    assert error_json(response) == {"detail": "request body must be at most 2000 bytes",
                               "code": "payload_too_large"}
    with client.app.state.sessionmaker() as s:
        from serving import crud

        assert crud.list_assessments(s, crud.AssessmentFilters())[1] == 0


def test_streamed_oversized_body_without_length_gets_413(client, keys) -> None:
    def chunks():
        yield b'{"cover_limit": 1, "period_months": 1, "note": "'
        for _ in range(10):
            yield b"y" * 500
        yield b'"}'

    response = client.post("/probe/quote", content=chunks(),
                           headers={"X-API-Key": keys["underwriter"],
                                    "Content-Type": "application/json"})
    assert "content-length" not in response.request.headers
    assert response.status_code == 413
    assert response.json()["code"] == "payload_too_large"


def test_body_at_the_limit_is_accepted(client, keys) -> None:
    base = b'{"cover_limit": 1, "period_months": 1, "note": ""}'
    body = base[:-2] + b"z" * (2000 - len(base)) + b'"}'
    assert len(body) == 2000
    response = client.post("/probe/quote", content=body,
                           headers={"X-API-Key": keys["underwriter"],
                                    "Content-Type": "application/json"})
    assert response.status_code == 200


def test_invalid_body_gets_422_naming_field_and_rule(client, keys) -> None:
    response = client.post("/probe/quote", json={"cover_limit": -5, "period_months": 240},
                           headers={"X-API-Key": keys["underwriter"]})
    assert response.status_code == 422
    detail = {d["field"]: d for d in response.json()["detail"]}
    assert detail["cover_limit"]["rule"] == "greater_than_equal"
    assert detail["cover_limit"]["constraint"] == {"ge": 0}
    assert detail["cover_limit"]["location"] == "body"
    assert detail["cover_limit"]["message"] == (
        "cover_limit: Input should be greater than or equal to 0, got -5")
    assert detail["period_months"]["rule"] == "less_than_equal"
    assert "got 240" in detail["period_months"]["message"]


def test_missing_field_and_bad_json_get_422(client, keys) -> None:
    headers = {"X-API-Key": keys["underwriter"], "Content-Type": "application/json"}
    missing = client.post("/probe/quote", json={"cover_limit": 1}, headers=headers).json()
    assert missing["detail"] == [{"field": "period_months", "location": "body",
                                  "rule": "missing", "message": "period_months: Field required"}]
    bad = client.post("/probe/quote", content=b"{not json", headers=headers)
    assert bad.status_code == 422
    assert bad.json()["detail"][0]["rule"] == "json_invalid"


def test_invalid_query_gets_422(client, keys) -> None:
    response = client.get("/v1/assessments?limit=0&kind=horoscope",
                          headers={"X-API-Key": keys["admin"]})
    assert response.status_code == 422
    detail = {d["field"]: d for d in response.json()["detail"]}
    assert detail["limit"]["location"] == "query"
    assert detail["limit"]["rule"] == "greater_than_equal"
    assert detail["kind"]["rule"] == "enum"
    assert "enforcement_quote" in detail["kind"]["message"]


def test_unknown_route_and_patent_get_404(client, keys) -> None:
    assert error_json(client.get("/v1/nothing")) == {"detail": "Not Found", "code": "not_found"}
    response = client.get("/v1/patents/CN999", headers={"X-API-Key": keys["bank"]})
    assert response.status_code == 404
    assert error_json(response) == {"detail": "patent_id 'CN999' is not in the active dataset",
                               "code": "patent_not_found"}


def test_no_model_loaded_gets_503(client) -> None:
    response = client.get("/probe/needs-model")
    assert response.status_code == 503
    assert response.json()["code"] == "model_not_loaded"
    assert "'litigation'" in response.json()["detail"]


def test_unexpected_error_gets_generic_500_without_trace(client: TestClient, caplog) -> None:
    response = client.get("/probe/boom")
    assert response.status_code == 500
    body = response.json()
    assert body["code"] == "internal_error"
    assert "secret" not in response.text
    assert "Traceback" not in response.text
    assert any(body["error_id"] in r.getMessage() and r.exc_info for r in caplog.records)
