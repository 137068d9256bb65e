"""Readiness per component, Prometheus metrics in a per-app registry, model reload."""

from __future__ import annotations

import itertools
import shutil

from features.settings import Settings
from models.policy import load_policy
from serving.database import head_revision, make_engine
from serving.modelset import SERVED_TASKS, ModelSet, ServedModel
from tests.serving.conftest import make_client, make_keys


def _full_set(version: str) -> ModelSet:
    return ModelSet(
        models={t: ServedModel(t, f"patentrisk-{t}", version, model=None) for t in SERVED_TASKS},
        policy_version="2025.1", policy_hash="abc123",
    )


def test_readyz_reports_each_component_and_503_until_models_load(client) -> None:
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["ready"] is False
    assert body["components"]["database"] == {
        "ok": True, "detail": f"sqlite at revision {head_revision()}"}
    assert body["components"]["dataset"] == {
        "ok": True, "detail": "tiny: 3 tables, end 2024-12-31"}
    assert body["components"]["models"]["ok"] is False
    assert "litigation" in body["components"]["models"]["detail"]


def test_readyz_is_200_with_dataset_and_models(world_settings: Settings) -> None:
    with make_client(world_settings, loader=lambda s: _full_set("1")) as client:
        response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["ready"] is True


def test_readyz_without_dataset_names_it(world_settings: Settings) -> None:
    shutil.rmtree(world_settings.dataset_dir)
    with make_client(world_settings, loader=lambda s: _full_set("1")) as client:
        body = client.get("/readyz").json()
        keys = make_keys(client)
        patents = client.get("/v1/patents", headers={"X-API-Key": keys["bank"]})
    assert body["components"]["dataset"] == {"ok": False, "detail": "dataset 'tiny' not present"}
    assert patents.status_code == 503
    assert patents.json()["code"] == "dataset_unavailable"


def test_readyz_reports_unreachable_database(client) -> None:
    client.app.state.engine.dispose()
    client.app.state.engine = make_engine("postgresql+psycopg://nobody@127.0.0.1:1/none")
    body = client.get("/readyz").json()
    assert body["components"]["database"]["ok"] is False
    assert body["components"]["database"]["detail"].startswith("unreachable")


def test_models_list_and_reload_swap_the_set(world_settings: Settings) -> None:
    versions = itertools.count(1)
    with make_client(world_settings, loader=lambda s: _full_set(str(next(versions)))) as client:
        key = {"X-API-Key": make_keys(client)["scientist"]}
        before = client.get("/v1/models", headers=key).json()
        reloaded = client.post("/v1/models/reload", headers=key).json()
        after = client.get("/v1/models", headers=key).json()
    assert before["total"] == len(SERVED_TASKS)
    assert {m["version"] for m in before["items"]} == {"1"}
    assert {m["version"] for m in reloaded["items"]} == {"2"}
    assert after == reloaded
    assert after["policy_version"] == "2025.1"
    assert after["missing"] == []


def test_failed_reload_keeps_the_models_in_service(world_settings: Settings) -> None:
    calls = itertools.count()

    def loader(_s: Settings) -> ModelSet:
        if next(calls):
            raise RuntimeError("registry down")
        return _full_set("7")

    with make_client(world_settings, loader=loader) as client:
        key = {"X-API-Key": make_keys(client)["admin"]}
        failed = client.post("/v1/models/reload", headers=key)
        models = client.get("/v1/models", headers=key).json()
    assert failed.status_code == 503
    assert "previous models stay" in failed.json()["detail"]
    assert {m["version"] for m in models["items"]} == {"7"}


def test_no_models_lists_empty_with_missing_tasks(client, keys) -> None:
    body = client.get("/v1/models", headers={"X-API-Key": keys["regulator"]}).json()
    policy = load_policy()  # the default loader serves the packaged policy even without models
    assert body == {"items": [], "total": 0, "policy_version": policy.version,
                    "policy_hash": policy.sha256, "missing": list(SERVED_TASKS)}


def test_metrics_count_requests_by_route_and_status_and_assessments_by_kind(client, keys) -> None:
    headers = {"X-API-Key": keys["underwriter"]}
    for _ in range(2):
        client.post("/probe/quote", json={"cover_limit": 1, "period_months": 1}, headers=headers)
    client.get("/v1/patents/CN100000001B", headers=headers)
    client.get("/v1/patents/NOPE", headers=headers)
    client.get("/no/such/path")
    text = client.get("/metrics").text
    assert 'patentrisk_assessments_written_total{kind="enforcement_quote"} 2.0' in text
    assert ('patentrisk_http_requests_total{method="POST",route="/probe/quote",status="200"} 2.0'
            in text)
    assert ('patentrisk_http_requests_total{method="GET",route="/v1/patents/{patent_id}",'
            'status="404"} 1.0' in text)
    assert 'route="unmatched",status="404"} 1.0' in text
    assert ('patentrisk_http_request_duration_seconds_count{method="GET",'
            'route="/v1/patents/{patent_id}"} 2.0' in text)


def test_each_app_has_its_own_registry(world_settings: Settings) -> None:
    with make_client(world_settings) as first:
        first.get("/healthz")
        first.get("/healthz")
    with make_client(world_settings) as second:
        second.get("/healthz")
        text = second.get("/metrics").text
    assert 'route="/healthz",status="200"} 1.0' in text


def test_openapi_documents_key_header_and_examples(client) -> None:
    spec = client.get("/openapi.json").json()
    assert spec["components"]["securitySchemes"]["APIKeyHeader"]["name"] == "X-API-Key"
    assert "examples" in spec["components"]["schemas"]["AssessmentOut"]
    assert all(p.startswith(("/v1/", "/healthz", "/readyz", "/metrics", "/probe/"))
               for p in spec["paths"])
