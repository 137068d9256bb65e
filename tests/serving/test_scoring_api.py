"""Scoring endpoints over HTTP on a generated, trained world: answers, storage, roles, errors."""

from __future__ import annotations

import io
import re

import pytest
from fastapi.testclient import TestClient

from features.settings import Settings
from serving.app import create_app
from serving.modelset import SERVED_TASKS, ModelSet
from tests.serving.conftest import SCORING_MAX_BATCH, error_json, make_keys

pytestmark = pytest.mark.slow

CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture(scope="module")
def ids(trained_ids: dict[str, object]) -> dict[str, object]:
    """Patents and firms of the trained world to ask about."""
    return trained_ids


def _h(keys: dict[str, str], role: str) -> dict[str, str]:
    return {"X-API-Key": keys[role]}


def _enforcement(patent_id: str, applicant_id: str = "APP-1", **extra: object) -> dict:
    return {"patent": {"patent_id": patent_id},
            "applicant": {"applicant_id": applicant_id, "role": "patent_holder"},
            "cover_limit": 1_000_000, "deductible": 0, "period_months": 12, **extra}


def _loan(ids: dict, amount: float = 500_000, **extra: object) -> dict:
    return {"borrower": {"assignee_id": ids["firm"]}, "requested_amount": amount,
            "term_months": 12, "pledged": [{"patent_id": p} for p in ids["patents"]], **extra}


def _check_explanation(expl: dict, task: str) -> None:
    assert expl["task"] == task
    total = expl["base_value"] + sum(expl["contributions"].values())
    assert total == pytest.approx(expl["raw_score"], abs=1e-6)
    # In the answer's units: the effects add up to the answer minus its value at the base.
    assert sum(expl["effects"].values()) == pytest.approx(
        expl["output"] - expl["base_output"], abs=1e-9 * max(1.0, abs(expl["output"])))
    moving = sum(1 for v in expl["effects"].values() if v != 0.0)
    assert len(expl["reasons"]) == min(4, moving)
    for reason in expl["reasons"]:
        assert reason["feature"] in expl["contributions"]
        assert reason["effect"] == expl["effects"][reason["feature"]]
        # The words agree with the sign of the effect on the answer the user reads.
        raises = reason["text_en"].endswith(("raises risk", "raises value"))
        assert raises == (reason["effect"] > 0), reason
        assert reason["text_en"].endswith(("raises risk", "lowers risk", "raises value",
                                           "lowers value"))
        assert CJK.search(reason["text_zh"])


def _check_stored(client: TestClient, keys: dict, role: str, body: dict) -> dict:
    """The stored assessment reads back with the answer's outputs, explanation and versions."""
    stored = client.get(f"/v1/assessments/{body['assessment_id']}", headers=_h(keys, role))
    assert stored.status_code == 200
    record = stored.json()
    for key, value in record["outputs"].items():
        assert body[key] == value, key
    assert record["explanation"][body["explanation"]["task"]] == body["explanation"]
    assert record["model_versions"] == body["model"]
    assert record["policy_version"] == body["policy_version"]
    assert record["policy_hash"] == body["policy_hash"]
    return record


def test_ready_and_models_listed_with_versions(scoring_client, scoring_keys) -> None:
    assert scoring_client.get("/readyz").status_code == 200
    body = scoring_client.get("/v1/models", headers=_h(scoring_keys, "scientist")).json()
    assert sorted(m["task"] for m in body["items"]) == sorted(SERVED_TASKS)
    assert all(m["version"] == "1" for m in body["items"])
    assert body["missing"] == []
    assert body["policy_version"] == "2025.1"


def test_enforcement_quote_is_priced_explained_and_stored(
    scoring_client, scoring_keys, ids
) -> None:
    response = scoring_client.post("/v1/quotes/enforcement", json=_enforcement(ids["patents"][0]),
                                   headers=_h(scoring_keys, "underwriter"))
    assert response.status_code == 200, response.text
    body = response.json()
    assert 0.0 <= body["probability"] <= 1.0
    assert body["expected_claim_cost"] > 0
    assert set(body["model"]) == {"litigation", "severity"}
    assert body["premium"]["gross_premium"] == body["gross_premium"] >= 1000.0
    assert body["net_premium"] == pytest.approx(body["gross_premium"] - body["subsidy"]["amount"])
    assert body["grade"]
    assert body["decision"] in {"accept", "refer", "decline"}
    _check_explanation(body["explanation"], "litigation")
    _check_explanation(body["explanations"]["severity"], "severity")
    record = _check_stored(scoring_client, scoring_keys, "underwriter", body)
    assert record["request"]["patent"] == {"patent_id": ids["patents"][0]}
    assert record["features"]["severity"]["claim_kind"] == 0.0


def test_quotes_do_not_draw_on_the_subsidy(scoring_client, scoring_keys, ids) -> None:
    """Only a bound policy is granted subsidy: a second quote shows the same subsidy."""
    headers = _h(scoring_keys, "underwriter")
    request = _enforcement(ids["patents"][0], applicant_id="PILOT-7")
    request["applicant"]["pilot_enterprise"] = True
    first = scoring_client.post("/v1/quotes/enforcement", json=request, headers=headers).json()
    second = scoring_client.post("/v1/quotes/enforcement", json=request, headers=headers).json()
    assert first["subsidy"]["used_before_this_year"] == 0.0
    assert first["subsidy"]["amount"] > 0
    assert second["subsidy"] == first["subsidy"]


RISKY = {"patent_id": "NEW-RISKY", "jurisdiction": "CN", "patent_type": "invention",
         "filing_date": "2019-03-01", "grant_date": "2021-06-01", "num_claims": 40,
         "num_independent_claims": 6, "family_size": 12, "cpc_main": "H04L",
         "forward_citations": 80, "forward_citations_3y": 40, "forward_citations_5y": 70,
         "suits_on_patent": 4, "owner_suits_as_plaintiff": 30, "owner_kind": "npe",
         "transfers": 3, "invalidation_requests": 2}
SAFE = {"patent_id": "NEW-SAFE", "jurisdiction": "CN", "patent_type": "invention",
        "filing_date": "2019-03-01", "grant_date": "2021-06-01", "num_claims": 1,
        "num_independent_claims": 1, "family_size": 1, "cpc_main": "H04L",
        "forward_citations": 0, "forward_citations_3y": 0, "forward_citations_5y": 0,
        "suits_on_patent": 0, "owner_suits_as_plaintiff": 0, "owner_kind": "individual",
        "transfers": 0, "invalidation_requests": 0}


def test_risky_patent_facts_score_above_safe_ones(scoring_client, scoring_keys) -> None:
    headers = _h(scoring_keys, "underwriter")
    answers = {}
    for name, facts in (("risky", RISKY), ("safe", SAFE)):
        request = {"patent": {"facts": facts},
                   "applicant": {"applicant_id": "APP-F", "role": "patent_holder"},
                   "cover_limit": 1_000_000}
        response = scoring_client.post("/v1/quotes/enforcement", json=request, headers=headers)
        assert response.status_code == 200, response.text
        answers[name] = response.json()
        _check_stored(scoring_client, scoring_keys, "underwriter", answers[name])
    assert answers["risky"]["probability"] > answers["safe"]["probability"]
    assert answers["risky"]["patent_id"] == "NEW-RISKY"


def test_liability_quote_by_id_and_by_facts(scoring_client, scoring_keys, ids) -> None:
    headers = _h(scoring_keys, "underwriter")
    applicant = {"applicant_id": ids["firm"], "role": "manufacturer"}
    by_id = scoring_client.post("/v1/quotes/liability", headers=headers, json={
        "firm": {"assignee_id": ids["firm"]}, "applicant": applicant, "cover_limit": 2e6})
    assert by_id.status_code == 200, by_id.text
    body = by_id.json()
    assert set(body["model"]) == {"liability", "severity"}
    assert body["assignee_id"] == ids["firm"]
    _check_explanation(body["explanation"], "liability")
    _check_stored(scoring_client, scoring_keys, "underwriter", body)

    facts = {"assignee_id": "NEWCO", "name": "New Co", "kind": "sme", "industry": "telecom",
             "founded_year": 2015, "technology": {"H04L": 1.0},
             "financials": [{"year": 2023, "revenue": 5e7, "total_assets": 8e7, "debt": 2e7,
                             "net_income": 4e6}]}
    by_facts = scoring_client.post("/v1/quotes/liability", headers=headers, json={
        "firm": {"facts": facts}, "product_classes": ["H04W"], "applicant": applicant,
        "cover_limit": 2e6})
    assert by_facts.status_code == 200, by_facts.text
    assert by_facts.json()["assignee_id"] == "NEWCO"
    assert by_facts.json()["explanations"]["severity"]["contributions"]


def test_loan_assessment_values_the_portfolio_and_is_stored(
    scoring_client, scoring_keys, ids
) -> None:
    response = scoring_client.post("/v1/loans/assessments", json=_loan(ids),
                                   headers=_h(scoring_keys, "bank"))
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body["model"]) == {"default", "value"}
    assert [p["patent_id"] for p in body["patents"]] == ids["patents"]
    for part in body["patents"]:
        assert part["p10"] <= part["p50"] <= part["p90"]
        _check_explanation(part["explanation"], "value")
    for q in ("p10", "p50", "p90"):
        assert body["portfolio"][q] == pytest.approx(sum(p[q] for p in body["patents"]), abs=0.02)
    assert body["ltv_feature_basis"] == "portfolio_p50"
    assert body["max_loan_basis"] == "portfolio_p10"
    assert body["max_loan"] == pytest.approx(
        round(body["ltv_applied"] * body["portfolio"]["p10"], 2), abs=0.01)
    assert 0.0 <= body["default_probability"] <= 1.0
    assert body["max_loan"] >= 0
    for money in ("max_loan", "expected_loss", "gross_premium", "net_premium"):
        # Decimal money rounded once to the fen, a JSON number like a quote's premium
        assert isinstance(body[money], int | float)
        assert round(body[money], 2) == body[money], money
    schema = scoring_client.get("/openapi.json").json()["components"]["schemas"]
    loan_out = schema["LoanAssessmentOut"]["properties"]
    assert loan_out["max_loan"]["type"] == loan_out["expected_loss"]["type"] == schema[
        "InsuranceQuoteOut"]["properties"]["gross_premium"]["type"] == "number"
    assert body["premium"] is not None
    _check_explanation(body["explanation"], "default")
    _check_stored(scoring_client, scoring_keys, "bank", body)


def test_a_larger_loan_never_lowers_the_default_probability(
    scoring_client, scoring_keys, ids
) -> None:
    probabilities = []
    for amount in (1e4, 1e5, 1e6, 1e7, 1e8):
        response = scoring_client.post("/v1/loans/assessments", json=_loan(ids, amount),
                                       headers=_h(scoring_keys, "bank"))
        assert response.status_code == 200, response.text
        probabilities.append(response.json()["default_probability"])
    assert probabilities == sorted(probabilities)


def test_valuation_of_several_patents(scoring_client, scoring_keys, ids) -> None:
    request = {"patents": [{"patent_id": p} for p in ids["patents"]] + [{"facts": SAFE}]}
    response = scoring_client.post("/v1/valuations", json=request,
                                   headers=_h(scoring_keys, "bank"))
    assert response.status_code == 200, response.text
    body = response.json()
    assert [p["patent_id"] for p in body["patents"]] == [*ids["patents"], "NEW-SAFE"]
    assert body["total"]["p10"] <= body["total"]["p50"] <= body["total"]["p90"]
    assert body["grade"] is None
    assert body["premium"] is None
    assert set(body["model"]) == {"value"}
    _check_stored(scoring_client, scoring_keys, "bank", body)


def test_json_batch_answers_or_rejects_each_item(scoring_client, scoring_keys, ids) -> None:
    items = [_enforcement(ids["patents"][0]), _enforcement("CN000NOPE"),
             _enforcement(ids["patents"][1], cover_limit=-5), _enforcement(ids["patents"][1])]
    response = scoring_client.post("/v1/quotes/enforcement/batch", json=items,
                                   headers=_h(scoring_keys, "underwriter"))
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["total"], body["accepted"], body["rejected"]) == (4, 2, 2)
    status = {i["index"]: i for i in body["items"]}
    assert status[1]["error"]["status_code"] == 404
    assert status[1]["error"]["code"] == "patent_not_found"
    assert status[2]["error"]["detail"][0]["field"] == "cover_limit"
    assert status[2]["error"]["detail"][0]["rule"] == "greater_than"
    for i in (0, 3):
        _check_stored(scoring_client, scoring_keys, "underwriter", status[i]["result"])


@pytest.mark.parametrize(("path", "role", "csv_text"), [
    ("/v1/quotes/enforcement/batch", "underwriter",
     "patent.patent_id,applicant.applicant_id,applicant.role,cover_limit,period_months\n"
     "{p0},A1,patent_holder,1000000,12\n{p1},A2,manufacturer,1000000,12\n"),
    ("/v1/quotes/liability/batch", "underwriter",
     "firm.assignee_id,product_classes,applicant.applicant_id,applicant.role,cover_limit\n"
     "{firm},H04L;H04W,{firm},manufacturer,2000000\nNOFIRM,,X,manufacturer,2000000\n"),
    ("/v1/loans/assessments/batch", "bank",
     "borrower.assignee_id,requested_amount,term_months,pledged\n"
     "{firm},300000,12,{p0};{p1}\n{firm},300000,0,{p0}\n"),
    ("/v1/valuations/batch", "bank", "patents\n{p0};{p1}\nCN000NOPE\n"),
])
def test_csv_batch_upload(scoring_client, scoring_keys, ids, path, role, csv_text) -> None:
    text = csv_text.format(p0=ids["patents"][0], p1=ids["patents"][1], firm=ids["firm"])
    response = scoring_client.post(path, headers=_h(scoring_keys, role), files={
        "file": ("batch.csv", io.BytesIO(text.encode()), "text/csv")})
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["accepted"], body["rejected"]) == (1, 1)
    ok, bad = body["items"]
    assert (ok["index"], ok["status"], bad["index"], bad["status"]) == (0, "ok", 1, "rejected")
    assert bad["error"]["status_code"] in (404, 422)
    _check_stored(scoring_client, scoring_keys, role, ok["result"])


def test_batch_over_the_limit_is_refused_naming_it(scoring_client, scoring_keys, ids) -> None:
    items = [_enforcement(ids["patents"][0])] * (SCORING_MAX_BATCH + 1)
    response = scoring_client.post("/v1/quotes/enforcement/batch", json=items,
                                   headers=_h(scoring_keys, "underwriter"))
    assert response.status_code == 413
    assert response.json()["code"] == "batch_too_large"
    assert f"at most {SCORING_MAX_BATCH} items" in response.json()["detail"]


ENDPOINTS = {
    "/v1/quotes/enforcement": "underwriter",
    "/v1/quotes/liability": "underwriter",
    "/v1/loans/assessments": "bank",
    "/v1/valuations": "bank",
}


def _body_for(path: str, ids: dict) -> dict:
    return {
        "/v1/quotes/enforcement": _enforcement(ids["patents"][0]),
        "/v1/quotes/liability": {"firm": {"assignee_id": ids["firm"]}, "cover_limit": 1e6,
                                 "applicant": {"applicant_id": "A", "role": "manufacturer"}},
        "/v1/loans/assessments": _loan(ids),
        "/v1/valuations": {"patents": [{"patent_id": ids["patents"][0]}]},
    }[path]


@pytest.mark.parametrize("path", list(ENDPOINTS))
def test_roles(scoring_client, scoring_keys, ids, path) -> None:
    body = _body_for(path, ids)
    assert scoring_client.post(path, json=body).status_code == 401
    assert scoring_client.post(path + "/batch", json=[body]).status_code == 401
    for role in ("underwriter", "bank", "scientist", "regulator", "admin"):
        allowed = role in (ENDPOINTS[path], "admin")
        response = scoring_client.post(path, json=body, headers=_h(scoring_keys, role))
        assert response.status_code == (200 if allowed else 403), (role, response.text)
        batch = scoring_client.post(path + "/batch", json=[body], headers=_h(scoring_keys, role))
        assert batch.status_code == (200 if allowed else 403), (role, batch.text)


def test_bad_input_names_field_and_rule(scoring_client, scoring_keys, ids) -> None:
    headers = _h(scoring_keys, "underwriter")
    bad = scoring_client.post("/v1/quotes/enforcement", headers=headers,
                              json=_enforcement(ids["patents"][0], cover_limit=0))
    assert bad.status_code == 422
    assert bad.json()["detail"][0]["field"] == "cover_limit"
    both = scoring_client.post("/v1/quotes/enforcement", headers=headers, json={
        **_enforcement(ids["patents"][0]), "patent": {"patent_id": "X", "facts": SAFE}})
    assert both.status_code == 422
    assert both.json()["detail"][0]["field"] == "patent"
    too_long = scoring_client.post("/v1/quotes/enforcement", headers=headers,
                                   json=_enforcement(ids["patents"][0], period_months=48))
    assert too_long.status_code == 422
    assert too_long.json()["detail"][0]["field"] == "period_months"
    assert "between 1 and 36" in too_long.json()["detail"][0]["rule"]


def test_ineligible_applicant_is_422_with_the_rule(scoring_client, scoring_keys, ids) -> None:
    request = _enforcement(ids["patents"][0])
    request["applicant"] = {"applicant_id": "L1", "role": "licensee", "licence_type": "ordinary"}
    response = scoring_client.post("/v1/quotes/enforcement", json=request,
                                   headers=_h(scoring_keys, "underwriter"))
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "ineligible"
    assert body["detail"][0]["field"] == "applicant.contract_allows_enforcement"
    assert body["detail"][0]["rule"] == "products.enforcement.licensee.if_contract_allows"
    request["applicant"] = {"applicant_id": "M1", "role": "manufacturer"}
    refused = scoring_client.post("/v1/quotes/enforcement", json=request,
                                  headers=_h(scoring_keys, "underwriter")).json()
    assert refused["detail"][0]["rule"] == "products.enforcement.eligible_roles"
    assert refused["detail"][0]["field"] == "applicant.role"


def test_unknown_ids_are_404(scoring_client, scoring_keys, ids) -> None:
    quote = scoring_client.post("/v1/quotes/enforcement", json=_enforcement("CN000NOPE"),
                                headers=_h(scoring_keys, "underwriter"))
    assert quote.status_code == 404
    assert error_json(quote) == {"detail": "patent_id 'CN000NOPE' is not in the active dataset",
                            "code": "patent_not_found"}
    loan = scoring_client.post("/v1/loans/assessments", headers=_h(scoring_keys, "bank"),
                               json={**_loan(ids), "borrower": {"assignee_id": "NOFIRM"}})
    assert loan.status_code == 404
    assert loan.json()["code"] == "firm_not_found"


def test_reload_keeps_serving(scoring_client, scoring_keys, ids) -> None:
    reloaded = scoring_client.post("/v1/models/reload", headers=_h(scoring_keys, "scientist"))
    assert reloaded.status_code == 200
    assert reloaded.json()["missing"] == []
    quote = scoring_client.post("/v1/quotes/enforcement", json=_enforcement(ids["patents"][0]),
                                headers=_h(scoring_keys, "underwriter"))
    assert quote.status_code == 200
    assert quote.json()["model"]["litigation"]["version"] == "1"


def test_no_model_loaded_is_503(trained_settings: Settings, tmp_path, ids) -> None:
    settings = Settings(**{**trained_settings.model_dump(),
                           "database_url": f"sqlite:///{tmp_path / 'store.db'}"})
    with TestClient(create_app(settings, model_loader=lambda s: ModelSet()),
                    raise_server_exceptions=False) as client:
        keys = make_keys(client)
        for path, role in ENDPOINTS.items():
            response = client.post(path, json=_body_for(path, ids), headers=_h(keys, role))
            assert response.status_code == 503, path
            assert response.json()["code"] == "model_not_loaded"
            assert "Traceback" not in response.text


@pytest.mark.postgres
def test_scoring_answers_are_stored_in_postgresql(
    trained_settings: Settings, pg_schema_url: str, ids
) -> None:
    settings = Settings(**{**trained_settings.model_dump(), "database_url": pg_schema_url})
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        keys = make_keys(client)
        for path, role in ENDPOINTS.items():
            response = client.post(path, json=_body_for(path, ids), headers=_h(keys, role))
            assert response.status_code == 200, response.text
            _check_stored(client, keys, role, response.json())


def test_an_expired_patent_cannot_be_insured(scoring_client, scoring_keys, ids) -> None:
    response = scoring_client.post("/v1/quotes/enforcement", json=_enforcement(ids["expired"]),
                                   headers=_h(scoring_keys, "underwriter"))
    assert response.status_code == 422, response.text
    detail = response.json()["detail"][0]
    assert detail["field"] == "patent"
    assert detail["rule"] == "in_force"
    assert "has expired" in detail["message"]


def test_a_lapsed_patent_cannot_be_pledged(scoring_client, scoring_keys, ids) -> None:
    request = _loan(ids, 1e6)
    request["pledged"] = [*request["pledged"], {"patent_id": ids["lapsed"]}]
    response = scoring_client.post("/v1/loans/assessments", json=request,
                                   headers=_h(scoring_keys, "bank"))
    assert response.status_code == 422, response.text
    detail = response.json()["detail"][0]
    assert detail["field"] == f"pledged[{len(request['pledged']) - 1}]"
    assert detail["rule"] == "in_force"


def test_an_expired_patent_is_valued_at_zero_with_a_note(scoring_client, scoring_keys, ids) -> None:
    request = {"patents": [{"patent_id": ids["expired"]}, {"patent_id": ids["patents"][0]}]}
    response = scoring_client.post("/v1/valuations", json=request,
                                   headers=_h(scoring_keys, "bank"))
    assert response.status_code == 200, response.text
    expired, alive = response.json()["patents"]
    assert (expired["p10"], expired["p50"], expired["p90"]) == (0.0, 0.0, 0.0)
    assert expired["in_force"] is False
    assert "has expired" in expired["note"]
    assert alive["in_force"] is True
    assert alive["p50"] > 0
    assert response.json()["total"]["p50"] == pytest.approx(alive["p50"], abs=0.01)


def test_a_batch_answers_exactly_like_single_requests(scoring_client, scoring_keys, ids) -> None:
    # The batch builds all its patents' features in one run; each answer must not change.
    headers = _h(scoring_keys, "underwriter")
    requests = [_enforcement(p, applicant_id=f"APP-B{i}") for i, p in enumerate(ids["patents"])]
    batch = scoring_client.post("/v1/quotes/enforcement/batch",
                                json=[*requests, _enforcement(ids["expired"])], headers=headers)
    assert batch.status_code == 200, batch.text
    items = batch.json()["items"]
    assert items[-1]["error"]["detail"][0]["rule"] == "in_force"
    singles = [scoring_client.post("/v1/quotes/enforcement", json=r, headers=headers).json()
               for r in requests]
    for item, single in zip(items, singles, strict=False):
        got = item["result"]
        assert got["probability"] == single["probability"]
        assert got["premium"] == single["premium"]
        assert got["explanation"]["contributions"] == single["explanation"]["contributions"]

    loans = [_loan(ids, 1e6), _loan(ids, 2e6)]
    bank = _h(scoring_keys, "bank")
    batch = scoring_client.post("/v1/loans/assessments/batch", json=loans, headers=bank).json()
    for item, request in zip(batch["items"], loans, strict=True):
        single = scoring_client.post("/v1/loans/assessments", json=request, headers=bank).json()
        assert item["result"]["default_probability"] == single["default_probability"]
        assert item["result"]["portfolio"] == single["portfolio"]
