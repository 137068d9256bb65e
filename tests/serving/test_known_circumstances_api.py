"""Known circumstances over HTTP: declared at binding, claims from them denied at registration.

Runs on the tiny world with a small litigation table of its own, on SQLite and PostgreSQL; no
trained model is needed (binding uses a stored quote, registration no model).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from features.settings import Settings
from features.store import TableStore
from tests.serving.conftest import make_client, make_keys, write_tiny_world
from tests.serving.policy_fixtures import store_enforcement_quote

PATENT = "CN100000001B"  # the patent the stored quote insures
TODAY = dt.date.today()


@pytest.fixture
def store(tmp_path: Path, database_url: str) -> Iterator[tuple[TestClient, dict[str, str]]]:
    """The tiny world plus two suits on the insured patent: one filed before today, one today."""
    settings = Settings(data_dir=tmp_path / "var", dataset="tiny", database_url=database_url)
    write_tiny_world(settings.dataset_dir)
    TableStore(settings.dataset_dir).write("cases", pd.DataFrame({
        "case_id": ["CASE-OLD", "CASE-NEW"],
        "patent_id": [PATENT, PATENT],
        "filed_date": pd.to_datetime([TODAY - dt.timedelta(days=40), TODAY]),
        "plaintiff_id": ["A1", "A1"],
        "defendant_id": ["A2", "A3"],
        "venue": ["Shenzhen Intermediate Court", "Beijing IP Court"],
    }))
    with make_client(settings) as client:
        yield client, make_keys(client)


def _h(keys: dict[str, str], role: str) -> dict[str, str]:
    return {"X-API-Key": keys[role]}


def _bind(client: TestClient, keys: dict[str, str], known: list[dict[str, object]]
          ) -> dict[str, object]:
    qid = store_enforcement_quote(client)
    r = client.post("/v1/policies", headers=_h(keys, "underwriter"), json={
        "quote_id": qid, "insured": {"name": "Shenzhen Lightwave Tech"},
        "start_date": TODAY.isoformat(), "known_circumstances": known})
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


def _notify_and_register(client: TestClient, keys: dict[str, str], policy: dict[str, object],
                         counterparty: str, **extra: object) -> dict[str, object]:
    r = client.post("/v1/claims", headers=_h(keys, "adjuster"), json={
        "policy_id": policy["number"], "incident_date": TODAY.isoformat(),
        "filed_date": TODAY.isoformat(), "patent_ids": [PATENT],
        "counterparty": counterparty, **extra})
    assert r.status_code == 201, r.text
    r = client.post(f"/v1/claims/{r.json()['id']}/registration", headers=_h(keys, "adjuster"),
                    json={})
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


LETTER = {"kind": "warning_letter", "counterparty": "Acme Robotics Inc", "patent_ids": [PATENT],
          "date": (TODAY - dt.timedelta(days=20)).isoformat(),
          "description": "warning letter sent about the gripper"}


def test_declared_circumstances_are_stored_on_the_policy_version(store: tuple) -> None:
    """The declaration is part of version 1 and of the policy's answer, with the binding day."""
    client, keys = store
    policy = _bind(client, keys, [LETTER])
    assert policy["bound_on"] == TODAY.isoformat()
    assert policy["known_circumstances"] == [{**LETTER, "patent_ids": [PATENT]}]
    versions = client.get(f"/v1/policies/{policy['id']}/versions",
                          headers=_h(keys, "regulator")).json()
    assert versions[0]["document"]["known_circumstances"] == policy["known_circumstances"]


def test_claim_from_a_declared_circumstance_is_a_reasoned_denial(store: tuple) -> None:
    """Same counterparty and patent: denied naming the rule; another infringer is registered."""
    client, keys = store
    policy = _bind(client, keys, [LETTER])
    denied = _notify_and_register(client, keys, policy, "acme robotics  inc")
    assert denied["state"] == "denied"
    assert [r["code"] for r in denied["denial_reasons"]] == ["known_circumstance"]
    assert "warning letter with Acme Robotics Inc" in denied["denial_reasons"][0]["message"]
    assert "已知情况除外" in denied["denial_reasons"][0]["message_zh"]
    covered = _notify_and_register(client, keys, policy, "Copycat Devices Ltd")
    assert covered["state"] == "registered"


def test_suit_filed_before_binding_is_denied_from_the_litigation_data(store: tuple) -> None:
    """The claim names a case whose filing precedes binding: denied, whatever the notice says."""
    client, keys = store
    policy = _bind(client, keys, [])
    old = _notify_and_register(client, keys, policy, "Acme Robotics Inc", case_id="CASE-OLD")
    assert old["state"] == "denied"
    assert [r["code"] for r in old["denial_reasons"]] == ["suit_before_binding"]
    filed = (TODAY - dt.timedelta(days=40)).isoformat()
    assert f"CASE-OLD was filed on {filed}" in old["denial_reasons"][0]["message"]
    assert old["incident"]["case"] == {"case_id": "CASE-OLD", "filed_date": filed,
                                       "patent_ids": [PATENT]}
    new = _notify_and_register(client, keys, policy, "100% Pure_Labs", case_id="CASE-NEW")
    assert new["state"] == "registered"


def test_bad_declarations_and_unknown_cases_are_refused(store: tuple) -> None:
    """A circumstance dated after binding, a bad kind, an unknown case: 422 naming the field."""
    client, keys = store
    qid = store_enforcement_quote(client)
    body = {"quote_id": qid, "insured": {"name": "X"}, "start_date": TODAY.isoformat(),
            "known_circumstances": [{**LETTER, "date": (TODAY + dt.timedelta(days=1))
                                     .isoformat()}]}
    r = client.post("/v1/policies", headers=_h(keys, "underwriter"), json=body)
    assert r.status_code == 422
    assert r.json()["detail"][0]["field"] == "known_circumstances[0].date"
    assert r.json()["detail"][0]["rule"] == "not_after_binding"
    body["known_circumstances"] = [{**LETTER, "kind": "rumour"}]
    r = client.post("/v1/policies", headers=_h(keys, "underwriter"), json=body)
    assert r.status_code == 422
    assert "known_circumstances" in r.text
    policy = _bind(client, keys, [])
    r = client.post("/v1/claims", headers=_h(keys, "adjuster"), json={
        "policy_id": policy["number"], "incident_date": TODAY.isoformat(),
        "filed_date": TODAY.isoformat(), "patent_ids": [PATENT], "case_id": "NO-SUCH-CASE"})
    assert r.status_code == 422
    assert r.json()["detail"][0]["rule"] == "known_case"
