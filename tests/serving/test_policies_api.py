"""Binding, idempotency, subsidy caps under concurrency, cancellation, over HTTP on both stores."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from features.settings import Settings
from models.policy import load_policy
from tests.serving.conftest import api_headers as _h
from tests.serving.conftest import make_client, make_keys, write_tiny_world
from tests.serving.policy_fixtures import store_enforcement_quote

D = Decimal


@pytest.fixture
def store(tmp_path: Path, database_url: str) -> Iterator[tuple[TestClient, dict[str, str]]]:
    """A started app over the tiny world on each store backend, with a key per role."""
    settings = Settings(data_dir=tmp_path / "var", dataset="tiny", database_url=database_url)
    write_tiny_world(settings.dataset_dir)
    with make_client(settings) as client:
        yield client, make_keys(client)


def _bind(quote_id: str, start: dt.date | None = None) -> dict[str, object]:
    return {"quote_id": quote_id, "insured": {"name": "Shenzhen Lightwave Tech"},
            "start_date": (start or dt.date.today()).isoformat()}


def test_bind_gives_the_quote_terms_and_grants_the_subsidy(store: tuple) -> None:
    """Premium and subsidy are the quote's; a retry with the same key creates nothing new."""
    client, keys = store
    qid = store_enforcement_quote(client)
    quote = client.get(f"/v1/assessments/{qid}", headers=_h(keys, "regulator")).json()
    r = client.post("/v1/policies", json=_bind(qid), headers=_h(keys, "underwriter", "bind-1"))
    assert r.status_code == 201, r.text
    body = r.json()
    gross = D(str(quote["outputs"]["gross_premium"]))
    assert D(body["premium"]["gross_premium"]) == gross
    # pilot enterprise: 50 % subsidy, capped at 20,000 per policy
    assert D(body["premium"]["subsidy"]) == min(gross * D("0.5"), D(20000)).quantize(D("0.01"))
    assert D(body["premium"]["net_premium"]) == gross - D(body["premium"]["subsidy"])
    assert body["status"] == "in_force"
    assert body["insured_patents"] == ["CN100000001B"]
    assert body["schedule"]["sub_limits"] == {"investigation_costs": "300000.00",
                                              "legal_costs": "1000000.00"}
    assert body["schedule"]["co_pay"] == "0.1"
    again = client.post("/v1/policies", json=_bind(qid), headers=_h(keys, "underwriter", "bind-1"))
    assert again.status_code == 201
    assert again.json() == body
    listed = client.get("/v1/policies", headers=_h(keys, "regulator")).json()
    assert listed["total"] == 1
    other = _bind(qid, dt.date.today() + dt.timedelta(days=1))
    reused = client.post("/v1/policies", json=other, headers=_h(keys, "underwriter", "bind-1"))
    assert reused.status_code == 409
    assert reused.json()["rule"] == "key_reused"
    twice = client.post("/v1/policies", json=_bind(qid), headers=_h(keys, "underwriter"))
    assert twice.status_code == 409
    assert twice.json()["rule"] == "quote_already_bound"


def test_bad_binds_name_the_field_and_rule(store: tuple) -> None:
    """Unknown, expired, other policy version, past start, wrong role: 4xx and nothing written."""
    client, keys = store
    uw = _h(keys, "underwriter")
    r = client.post("/v1/policies", json=_bind("no-such-quote"), headers=uw)
    assert r.status_code == 404
    assert "quote_id" in r.json()["detail"]
    qid = store_enforcement_quote(client)
    past = client.post("/v1/policies", json=_bind(qid, dt.date(2020, 1, 1)), headers=uw)
    assert past.status_code == 422
    assert past.json()["detail"][0]["field"] == "start_date"
    assert client.post("/v1/policies", json=_bind(qid), headers=_h(keys, "bank")).status_code \
        == 403
    engine = client.app.state.engine
    with engine.begin() as con:
        con.execute(sa.text("UPDATE assessments SET created_at = :t WHERE id = :i"),
                    {"t": dt.datetime.now(dt.UTC) - dt.timedelta(days=31), "i": qid})
    expired = client.post("/v1/policies", json=_bind(qid), headers=uw)
    assert expired.status_code == 409
    assert expired.json()["rule"] == "quote_expired"
    qid2 = store_enforcement_quote(client)
    with engine.begin() as con:
        con.execute(sa.text("UPDATE assessments SET policy_version = '2024.9' WHERE id = :i"),
                    {"i": qid2})
    other = client.post("/v1/policies", json=_bind(qid2), headers=uw)
    assert other.status_code == 409
    assert other.json()["rule"] == "policy_version_changed"
    with engine.connect() as con:
        assert con.execute(sa.text("SELECT count(*) FROM policies")).scalar() == 0
        assert con.execute(sa.text("SELECT count(*) FROM subsidy_grants")).scalar() == 0


def test_concurrent_binds_never_exceed_the_yearly_subsidy_cap(store: tuple) -> None:
    """20 binds at once, each worth 5,000 of subsidy: exactly the 50,000 yearly cap is granted."""
    client, keys = store
    policy = load_policy()
    # gross 10,000 each (expected loss x loading + expense): pilot share 50 % -> 5,000 each
    quotes = [store_enforcement_quote(client, "A-CAP", probability=0.01, expected_cost=950_000)
              for _ in range(20)]
    gross = D(str(client.get(f"/v1/assessments/{quotes[0]}",
                             headers=_h(keys, "regulator")).json()["outputs"]["gross_premium"]))
    share = (gross * D("0.5")).quantize(D("0.01"))
    cap = D(str(policy.subsidy.cap_per_applicant_year))
    assert share * 20 > cap  # the cap must bite

    def bind(qid: str) -> dict:
        r = client.post("/v1/policies", json=_bind(qid), headers=_h(keys, "underwriter"))
        assert r.status_code == 201, r.text
        return r.json()

    with ThreadPoolExecutor(max_workers=20) as pool:
        bound = list(pool.map(bind, quotes))
    granted = sorted(D(b["premium"]["subsidy"]) for b in bound)
    assert sum(granted) == cap
    assert all(g <= D(str(policy.subsidy.cap_per_policy)) for g in granted)
    with client.app.state.engine.connect() as con:
        total = con.execute(sa.text(
            "SELECT sum(amount_minor) FROM subsidy_grants WHERE applicant_id = 'A-CAP'")).scalar()
        account = con.execute(sa.text(
            "SELECT granted_minor FROM subsidy_accounts WHERE applicant_id = 'A-CAP'")).scalar()
    assert total == account == int(cap * 100)


def test_cancellation_refunds_pro_rata_and_is_final(store: tuple) -> None:
    """Cancelled from day 74 of 365 (starting today): 292/365 of the premium and subsidy go back."""
    client, keys = store
    qid = store_enforcement_quote(client, "A-CXL")
    start = dt.date.today()
    body = client.post("/v1/policies", json=_bind(qid, start), headers=_h(keys, "underwriter")
                       ).json()
    end = dt.date.fromisoformat(body["schedule"]["end_date"])
    days = (end - start).days + 1
    cancel_on = start + dt.timedelta(days=73)
    r = client.post(f"/v1/policies/{body['id']}/cancellation",
                    json={"effective_date": cancel_on.isoformat(), "reason": "insured sold patent"},
                    headers=_h(keys, "underwriter", "cxl-1"))
    assert r.status_code == 201, r.text
    out = r.json()
    left = (end - cancel_on).days + 1
    gross = D(body["premium"]["gross_premium"])
    subsidy = D(body["premium"]["subsidy"])
    refund = (gross * left / days).quantize(D("0.01"))
    returned = (subsidy * left / days).quantize(D("0.01"))
    assert D(out["premium"]["change_due"]) == -refund
    assert D(out["premium"]["subsidy_change"]) == -returned
    assert D(out["premium"]["subsidy"]) == subsidy - returned
    assert out["cancelled_from"] == cancel_on.isoformat()
    versions = client.get(f"/v1/policies/{body['id']}/versions", headers=_h(keys, "regulator"))
    assert [v["change"] for v in versions.json()] == ["bind", "cancel"]
    assert versions.json()[1]["reason"] == "insured sold patent"
    again = client.post(f"/v1/policies/{body['id']}/cancellation",
                        json={"effective_date": cancel_on.isoformat(),
                              "reason": "insured sold patent"},
                        headers=_h(keys, "underwriter", "cxl-1"))
    assert again.json() == out  # replayed, not cancelled twice
    twice = client.post(f"/v1/policies/{body['id']}/cancellation",
                        json={"effective_date": cancel_on.isoformat(), "reason": "again"},
                        headers=_h(keys, "underwriter"))
    assert twice.status_code == 409
    assert twice.json()["rule"] == "already_cancelled"
    with client.app.state.engine.connect() as con:
        account = con.execute(sa.text(
            "SELECT granted_minor FROM subsidy_accounts WHERE applicant_id = 'A-CXL'")).scalar()
    assert D(account) / 100 == subsidy - returned
