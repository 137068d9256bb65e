"""Patent lookup and search over the tiny hand-written dataset."""

from __future__ import annotations

import pytest


@pytest.fixture
def get(client, keys):
    def call(path: str, **params):
        return client.get(path, params=params, headers={"X-API-Key": keys["underwriter"]})

    return call


def _ids(body: dict) -> list[str]:
    return [i["patent_id"] for i in body["items"]]


def test_lookup_returns_facts_classes_owner_and_features(get) -> None:
    body = get("/v1/patents/CN100000001B").json()
    assert body["jurisdiction"] == "CN"
    assert body["filing_date"] == "2015-01-10"
    assert body["priority_date"] == "2014-12-01"
    assert body["num_claims"] == 10
    assert body["cpc_classes"] == ["H04L", "H04B"]
    assert body["assignee_name"] == "Shenzhen Lightwave Tech"
    assert body["as_of"] == "2024-12-31"  # today, capped at the dataset's end date
    assert body["features"]["num_claims"] == 10.0


def test_missing_values_are_null(get) -> None:
    body = get("/v1/patents/US10000004").json()
    assert body["first_claim_words"] is None
    assert body["priority_date"] is None


def test_unknown_patent_is_404(get) -> None:
    assert get("/v1/patents/CN000").status_code == 404


def test_search_by_assignee_id_or_name_part(get) -> None:
    assert _ids(get("/v1/patents", assignee="A2").json()) == ["US10000003", "US10000004"]
    assert _ids(get("/v1/patents", assignee="lightwave").json()) == [
        "CN100000001B", "CN100000002B"]


def test_search_by_cpc_prefix_any_class(get) -> None:
    assert _ids(get("/v1/patents", cpc="H04").json()) == ["CN100000001B", "CN100000002B"]
    assert _ids(get("/v1/patents", cpc="h04b").json()) == ["CN100000001B"]  # a secondary class


def test_search_by_words_and_combined_filters(get) -> None:
    assert _ids(get("/v1/patents", q="robot").json()) == ["US10000003", "US10000004"]
    assert _ids(get("/v1/patents", q="robot", cpc="D14").json()) == ["US10000004"]
    assert _ids(get("/v1/patents", q="us1000000").json()) == ["US10000003", "US10000004"]


def test_like_wildcards_in_input_match_literally(get) -> None:
    assert _ids(get("/v1/patents", q="50%").json()) == ["CN100000005U"]
    assert _ids(get("/v1/patents", q="%").json()) == ["CN100000005U"]
    assert _ids(get("/v1/patents", q="_").json()) == ["CN100000005U"]
    assert _ids(get("/v1/patents", assignee="100%").json()) == ["CN100000005U"]


def test_search_paginates_with_total(get) -> None:
    first = get("/v1/patents", limit=2).json()
    second = get("/v1/patents", limit=2, offset=2).json()
    third = get("/v1/patents", limit=2, offset=4).json()
    assert (first["total"], second["total"], third["total"]) == (5, 5, 5)
    assert _ids(first) + _ids(second) + _ids(third) == sorted(
        ["CN100000001B", "CN100000002B", "US10000003", "US10000004", "CN100000005U"])
    assert get("/v1/patents", limit=2, offset=10).json() == {"items": [], "total": 5}


def test_bad_cpc_filter_is_422(get) -> None:
    response = get("/v1/patents", cpc="H04L'; DROP")
    assert response.status_code == 422
    assert response.json()["detail"][0]["field"] == "cpc"
    assert response.json()["detail"][0]["rule"] == "string_pattern_mismatch"
