"""The service over a materialized online store: the same answers as on demand, in milliseconds.

A generated, trained world is materialized into the embedded store and into Redis; every
scoring answer of an app reading the store must equal the answer of an app that computes it
per request, facts are scored against the materialized context, a data change makes the store
stale and rebuilt, and a reload with a new champion during traffic never mixes versions.
"""

from __future__ import annotations

import math
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from features.settings import Settings
from features.store import TableStore
from serving.app import create_app
from serving.modelset import ModelSet, ServedModel, load_served_models
from serving.online.backends import open_online_store
from serving.online.materialize import materialize
from serving.online.view import OnlineView
from serving.scoring.entities import CLASS_ONLY_BASIS
from serving.tables import MonitoringBin
from tests.serving.conftest import make_keys

pytestmark = pytest.mark.slow

VOLATILE = {"assessment_id", "created_at"}


def _same(a: Any, b: Any, path: str = "") -> None:
    """Equal JSON answers (floats to 1e-12 relative)."""
    if isinstance(a, dict):
        assert set(a) - VOLATILE == set(b) - VOLATILE, path
        for k in set(a) - VOLATILE:
            _same(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, list):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _same(x, y, f"{path}[{i}]")
    elif isinstance(a, float) and isinstance(b, float):
        assert math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-12), (path, a, b)
    else:
        assert a == b, (path, a, b)


@pytest.fixture(scope="module")
def ids(trained_settings: Settings) -> dict[str, Any]:
    """Patents (in force, the riskiest first) and a firm with product classes to ask about."""
    con = TableStore(trained_settings.dataset_dir).connect()
    firm, = con.execute(
        "SELECT p.assignee_id FROM patents p JOIN firm_financials f USING (assignee_id) "
        "JOIN firm_technology t USING (assignee_id) WHERE p.grant_date IS NOT NULL "
        "GROUP BY 1 ORDER BY count(DISTINCT p.patent_id) DESC, 1 LIMIT 1").fetchone()
    patents = [r[0] for r in con.execute(
        "SELECT patent_id FROM patents WHERE assignee_id = ? AND grant_date IS NOT NULL "
        "AND expiry_date > DATE '2025-12-31' AND patent_type IN ('invention', 'utility') "
        "AND patent_id NOT IN (SELECT patent_id FROM legal_events WHERE event_type IN "
        "('lapsed', 'invalidated')) ORDER BY grant_date DESC LIMIT 3", [firm]).fetchall()]
    con.close()
    return {"firm": firm, "patents": patents}


@pytest.fixture(scope="module", params=["sqlite", "redis"])
def online_settings(
    request: pytest.FixtureRequest, trained_settings: Settings,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Settings]:
    """The trained world's settings with a store of each backend, materialized."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('online')}"
    else:
        url = request.getfixturevalue("redis_url")
    settings = trained_settings.model_copy(update={"online_store_url": url,
                                                   "dataset": trained_settings.dataset})
    store = open_online_store(url, settings.data_dir, settings.dataset)
    report = materialize(settings, load_served_models(settings), store)
    assert report.rows["patent"] > 0
    assert report.rows["firm"] > 0
    yield settings
    if request.param == "redis":
        keys = list(store.client.scan_iter(f"{store.prefix}:*"))  # type: ignore[attr-defined]
        if keys:
            store.client.delete(*keys)  # type: ignore[attr-defined]
    store.close()


@pytest.fixture(scope="module")
def online_client(online_settings: Settings) -> Iterator[TestClient]:
    """An app reading the materialized store."""
    with TestClient(create_app(online_settings), raise_server_exceptions=False) as c:
        assert c.app.state.online.view is not None  # type: ignore[attr-defined]
        yield c


@pytest.fixture(scope="module")
def ondemand_client(
    trained_settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TestClient]:
    """An app over the same world that computes every answer per request (empty store)."""
    settings = trained_settings.model_copy(update={
        "online_store_url": f"sqlite:///{tmp_path_factory.mktemp('empty')}",
        "online_auto_materialize": False})
    with TestClient(create_app(settings), raise_server_exceptions=False) as c:
        assert c.app.state.online.view is None  # type: ignore[attr-defined]
        yield c


def _enforcement(patent: dict[str, Any]) -> dict[str, Any]:
    return {"patent": patent, "applicant": {"applicant_id": "ONLINE-1", "role": "patent_holder"},
            "cover_limit": 1_000_000, "deductible": 0, "period_months": 12}


def _requests(ids: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    firm = ids["firm"]
    return [
        *[("underwriter", "/v1/quotes/enforcement", _enforcement({"patent_id": p}))
          for p in ids["patents"]],
        ("underwriter", "/v1/quotes/liability", {
            "firm": {"assignee_id": firm}, "cover_limit": 2_000_000, "deductible": 50_000,
            "applicant": {"applicant_id": firm, "role": "manufacturer"}}),
        ("underwriter", "/v1/quotes/liability", {
            "firm": {"assignee_id": firm}, "product_classes": ["H04L", "G06F"],
            "cover_limit": 2_000_000, "deductible": 50_000,
            "applicant": {"applicant_id": firm, "role": "manufacturer"}}),
        ("bank", "/v1/valuations", {"patents": [{"patent_id": p} for p in ids["patents"]]}),
        ("bank", "/v1/loans/assessments", {
            "borrower": {"assignee_id": firm}, "requested_amount": 300_000, "term_months": 12,
            "pledged": [{"patent_id": p} for p in ids["patents"]]}),
    ]


def test_stored_answers_equal_on_demand_answers(
    online_client: TestClient, ondemand_client: TestClient, ids: dict[str, Any]
) -> None:
    keys_on, keys_off = make_keys(online_client), make_keys(ondemand_client)
    for role, path, body in _requests(ids):
        online = online_client.post(path, json=body, headers={"X-API-Key": keys_on[role]})
        ondemand = ondemand_client.post(path, json=body, headers={"X-API-Key": keys_off[role]})
        assert online.status_code == ondemand.status_code == 200, (path, online.text)
        _same(online.json(), ondemand.json(), path)


def _pending_counts(client: TestClient) -> dict[Any, list[int]]:
    """The app's monitoring counts not yet stored, by (day, task, version, variable)."""
    pending = client.app.state.monitor._pending  # type: ignore[attr-defined]
    return {key: counts.tolist() for key, counts in pending.items()}


def test_a_stored_quote_is_monitored_as_on_demand(
    online_client: TestClient, ondemand_client: TestClient, ids: dict[str, Any]
) -> None:
    """The record path bins the same feature and score rows as the per-request frames."""
    keys_on, keys_off = make_keys(online_client), make_keys(ondemand_client)
    for patent in ids["patents"]:
        added = []
        for client, keys in ((online_client, keys_on), (ondemand_client, keys_off)):
            # Stored first: nothing pending, and no flush falls due during the one request.
            client.app.state.monitor.flush()  # type: ignore[attr-defined]
            r = client.post("/v1/quotes/enforcement", json=_enforcement({"patent_id": patent}),
                            headers={"X-API-Key": keys["underwriter"]})
            assert r.status_code == 200, r.text
            added.append(_pending_counts(client))
        assert added[0] == added[1]
        assert {k[1] for k, v in added[0].items() if any(v)} == {"litigation", "severity"}


def test_a_stored_patent_not_in_force_is_refused_as_on_demand(
    online_client: TestClient, ondemand_client: TestClient, trained_settings: Settings
) -> None:
    con = TableStore(trained_settings.dataset_dir).connect()
    row = con.execute(
        "SELECT patent_id FROM patents WHERE grant_date IS NOT NULL AND (expiry_date <= DATE "
        "'2025-12-31' OR patent_id IN (SELECT patent_id FROM legal_events WHERE event_type IN "
        "('lapsed', 'invalidated'))) ORDER BY patent_id LIMIT 1").fetchone()
    con.close()
    assert row is not None
    expired = row[0]
    body = _enforcement({"patent_id": expired})
    online = online_client.post("/v1/quotes/enforcement", json=body,
                                headers={"X-API-Key": make_keys(online_client)["underwriter"]})
    ondemand = ondemand_client.post(
        "/v1/quotes/enforcement", json=body,
        headers={"X-API-Key": make_keys(ondemand_client)["underwriter"]})
    assert online.status_code == ondemand.status_code == 422, online.text
    assert online.json()["detail"] == ondemand.json()["detail"]
    assert online.json()["detail"][0]["rule"] == "in_force"


def test_a_stored_patent_is_quoted_without_pipeline_or_model(
    online_client: TestClient, ids: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*_args: object, **_kwargs: object) -> pd.DataFrame:
        raise AssertionError("the online path must not run the pipeline or the model")

    monkeypatch.setattr("serving.scoring.entities.patent_features", refuse)
    monkeypatch.setattr("serving.scoring.explanations.predict", refuse)
    # Nor open a dataset cursor (the request's cursor is opened on first use only).
    monkeypatch.setattr("serving.dataset.DatasetHandle._open_cursor", refuse)
    key = make_keys(online_client)["underwriter"]
    response = online_client.post("/v1/quotes/enforcement",
                                  json=_enforcement({"patent_id": ids["patents"][0]}),
                                  headers={"X-API-Key": key})
    assert response.status_code == 200, response.text


def test_a_stored_quote_is_scored_on_the_event_loop_only_over_local_records(
    online_client: TestClient, ondemand_client: TestClient, ids: dict[str, Any],
    online_settings: Settings, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Embedded store and SQLite: on the loop; Redis: a worker thread; computed: a thread."""
    import serving.scoring.insurance as insurance

    threads: list[str] = []
    price = insurance._quote

    def spy(*args: Any, **kwargs: Any) -> Any:
        threads.append(threading.current_thread().name)
        return price(*args, **kwargs)

    monkeypatch.setattr(insurance, "_quote", spy)
    loop_thread = online_client.portal.call(_async_thread_name)  # type: ignore[union-attr]
    body = _enforcement({"patent_id": ids["patents"][0]})
    for client in (online_client, ondemand_client):
        r = client.post("/v1/quotes/enforcement", json=body,
                        headers={"X-API-Key": make_keys(client)["underwriter"]})
        assert r.status_code == 200, r.text
    embedded = online_settings.online_store_url.startswith("sqlite")  # type: ignore[union-attr]
    assert online_client.app.state.loop_scoring is embedded  # type: ignore[attr-defined]
    stored_on, computed_on = threads
    assert (stored_on == loop_thread) is embedded
    assert computed_on != loop_thread  # features computed per request: never on the loop


def test_a_flush_due_during_a_stored_quote_stores_its_counts(
    online_settings: Settings, ids: dict[str, Any]
) -> None:
    """On the event loop the due flush runs in a thread of its own; the counts still land."""
    settings = online_settings.model_copy(update={"monitoring_flush_seconds": 0.0,
                                                  "online_auto_materialize": False})
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        sessions = client.app.state.sessionmaker  # type: ignore[attr-defined]

        def stored_rows() -> int:
            with sessions() as session:
                total = session.execute(sa.select(sa.func.sum(MonitoringBin.rows)).where(
                    MonitoringBin.task == "litigation", MonitoringBin.variable == "score")
                ).scalar()
            return int(total or 0)

        before = stored_rows()
        key = make_keys(client)["underwriter"]
        for patent in ids["patents"]:
            r = client.post("/v1/quotes/enforcement", json=_enforcement({"patent_id": patent}),
                            headers={"X-API-Key": key})
            assert r.status_code == 200, r.text
        deadline = time.monotonic() + 20
        while stored_rows() < before + len(ids["patents"]):
            assert time.monotonic() < deadline, "the due flushes stored nothing"
            time.sleep(0.02)
        assert stored_rows() == before + len(ids["patents"])  # each row once


async def _async_thread_name() -> str:
    return threading.current_thread().name


def test_a_stored_firms_liability_claim_patents_are_read_from_the_store(
    online_client: TestClient, ondemand_client: TestClient, ids: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    body = {"firm": {"assignee_id": ids["firm"]}, "cover_limit": 2_000_000,
            "deductible": 50_000, "applicant": {"applicant_id": ids["firm"],
                                                "role": "manufacturer"}}
    ondemand = ondemand_client.post(
        "/v1/quotes/liability", json=body,
        headers={"X-API-Key": make_keys(ondemand_client)["underwriter"]})

    def refuse(*_args: object, **_kwargs: object) -> pd.DataFrame:
        raise AssertionError("stored claim patents must not go through the pipeline")

    monkeypatch.setattr("serving.scoring.entities.patent_features", refuse)
    online = online_client.post("/v1/quotes/liability", json=body,
                                headers={"X-API-Key": make_keys(online_client)["underwriter"]})
    assert online.status_code == ondemand.status_code == 200, online.text
    stored = online_client.get(
        f"/v1/assessments/{online.json()['assessment_id']}",
        headers={"X-API-Key": make_keys(online_client)["regulator"]}).json()
    assert stored["features"]["severity_basis"]["rows"] >= 1
    assert stored["features"]["severity_basis"]["basis"] != CLASS_ONLY_BASIS
    _same(online.json(), ondemand.json())


def test_facts_are_scored_against_the_context_and_equal_the_full_pipeline(
    online_client: TestClient, ondemand_client: TestClient, ids: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import serving.scoring.entities as entities

    used: list[bool] = []
    real = entities.patent_features_for_facts

    def spy(*args: Any, **kwargs: Any) -> pd.DataFrame:
        used.append(kwargs.get("context") is not None)
        return real(*args, **kwargs)

    monkeypatch.setattr(entities, "patent_features_for_facts", spy)
    facts = {"patent_id": "NEW-ONLINE-1", "jurisdiction": "CN", "patent_type": "invention",
             "filing_date": "2019-03-01", "grant_date": "2021-06-01", "num_claims": 12,
             "cpc_main": "H04L", "assignee_id": ids["firm"], "forward_citations": 3}
    body = _enforcement({"facts": facts})
    online = online_client.post("/v1/quotes/enforcement", json=body,
                                headers={"X-API-Key": make_keys(online_client)["underwriter"]})
    ondemand = ondemand_client.post(
        "/v1/quotes/enforcement", json=body,
        headers={"X-API-Key": make_keys(ondemand_client)["underwriter"]})
    assert online.status_code == ondemand.status_code == 200, online.text
    assert used == [True, False]  # the store's context, then the full pipeline
    _same(online.json(), ondemand.json())
    # Facts for an id the dataset holds are not scored against the context alone.
    used.clear()
    known = {**facts, "patent_id": ids["patents"][0]}
    online_client.post("/v1/quotes/enforcement", json=_enforcement({"facts": known}),
                       headers={"X-API-Key": make_keys(online_client)["underwriter"]})
    assert used == [False]


def test_explanations_are_in_the_answers_units(
    online_client: TestClient, ids: dict[str, Any]
) -> None:
    keys = make_keys(online_client)
    for role, path, body in _requests(ids):
        answer = online_client.post(path, json=body, headers={"X-API-Key": keys[role]}).json()
        explained = [*answer.get("explanations", {}).values(),
                     *(p["explanation"] for p in answer.get("patents", []))]
        assert explained, path
        for expl in explained:
            effects = expl["effects"]
            assert sum(effects.values()) == pytest.approx(
                expl["output"] - expl["base_output"], rel=1e-9, abs=1e-12)
            for name, effect in effects.items():
                assert effect * expl["contributions"][name] >= 0  # never the opposite sign
            for reason in expl["reasons"]:
                assert reason["text_en"].endswith(("raises risk", "raises value")) == (
                    reason["effect"] > 0)
        if path == "/v1/quotes/liability":
            assert answer["explanation"]["output"] == answer["probability"]


def test_a_patent_not_in_force_is_explained_on_demand_as_if_materialized(
    online_settings: Settings, online_client: TestClient, ondemand_client: TestClient
) -> None:
    store = open_online_store(online_settings.online_store_url, online_settings.data_dir,
                              online_settings.dataset)
    reader = store.current()
    assert reader is not None
    view = OnlineView(reader)
    try:
        explained = view.manifest["explained"]["patent"]
        assert explained["rows"] == view.manifest["rows"]["patent"]
        index = view.patent_index.to_pandas()
        for task in ("litigation", "severity", "value"):
            assert explained["tasks"][task] == {"rule": "in_force",
                                                "rows": int(index["in_force"].sum())}
        assert 0 < int(index["in_force"].sum()) < len(index)
        dead = index.loc[~index["in_force"], "patent_id"].head(3).tolist()
        stored = view.rows("patent", dead)
        assert len(stored) == len(dead)
        # Plain outputs stored, SHAP not materialized (NaN, never zero) and so not served.
        assert stored["value.p50"].notna().all()
        assert stored["litigation.probability"].notna().all()
        assert stored["value.shap_base"].isna().all()
        assert view.task_rows("patent", "value", dead).empty
    finally:
        view.close()
        store.close()
    body = {"patents": [{"patent_id": p} for p in dead]}
    online = online_client.post("/v1/valuations", json=body,
                                headers={"X-API-Key": make_keys(online_client)["bank"]})
    ondemand = ondemand_client.post("/v1/valuations", json=body,
                                    headers={"X-API-Key": make_keys(ondemand_client)["bank"]})
    assert online.status_code == ondemand.status_code == 200, online.text
    _same(online.json(), ondemand.json(), "/v1/valuations")
    for item in online.json()["patents"]:
        assert not item["in_force"]
        assert any(v != 0 for v in item["explanation"]["contributions"].values())


def test_readyz_names_the_generation(online_client: TestClient) -> None:
    body = online_client.get("/readyz").json()
    online = body["components"]["online_store"]
    assert online["ok"] is True
    assert online["stale"] is False
    assert "generation" in online["detail"]


def test_search_filters_by_grade_and_in_force(
    online_client: TestClient, ids: dict[str, Any]
) -> None:
    key = {"X-API-Key": make_keys(online_client)["underwriter"]}
    everything = online_client.get("/v1/patents?limit=500", headers=key).json()
    graded = [p for p in everything["items"] if p["grade"] is not None]
    assert graded, "every stored patent carries its grade"
    grade = graded[0]["grade"]
    same = online_client.get(f"/v1/patents?grade_from={grade}&grade_to={grade}&limit=500",
                             headers=key).json()
    assert same["total"] >= 1
    assert {p["grade"] for p in same["items"]} == {grade}
    alive = online_client.get("/v1/patents?in_force=true&jurisdiction=CN&patent_type=invention"
                              "&limit=500", headers=key).json()
    assert alive["total"] > 0
    assert all(p["in_force"] and p["jurisdiction"] == "CN" and p["patent_type"] == "invention"
               for p in alive["items"])
    dead = online_client.get("/v1/patents?in_force=false&limit=1", headers=key).json()
    assert dead["total"] + online_client.get(
        "/v1/patents?in_force=true&limit=1", headers=key).json()["total"] == everything["total"]
    bad = online_client.get("/v1/patents?grade_from=B&grade_to=AA", headers=key)
    assert bad.status_code == 422
    assert "grade_from must be at or better than grade_to" in bad.text


def _copy_world(trained: Settings, root: Path) -> Settings:
    """A copy of the trained world's dataset that a test may change, same models."""
    settings = Settings(data_dir=root / "var", mlflow_tracking_uri=trained.resolved_tracking_uri,
                        train_trials=0, rate_limit_per_minute=0)  # traffic, not limits
    shutil.copytree(trained.dataset_dir, settings.dataset_dir)
    return settings


def _wait(predicate: Any, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


def test_a_data_change_makes_the_store_stale_and_it_is_rebuilt(
    trained_settings: Settings, tmp_path: Path
) -> None:
    settings = _copy_world(trained_settings, tmp_path)
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        online = client.app.state.online  # type: ignore[attr-defined]
        assert online.wait_idle(600)  # materialized at start: nothing was there
        first = online.view.generation
        assert client.get("/readyz").json()["components"]["online_store"]["stale"] is False
        store = TableStore(settings.dataset_dir)
        events = store.read("legal_events")
        extra = events.iloc[[0]].assign(event_id="E-NEW", event_type="licensed")
        store.write("legal_events", pd.concat([events, extra], ignore_index=True))
        seen: list[dict[str, Any]] = []

        def reported() -> bool:
            component = client.get("/readyz").json()["components"]["online_store"]
            seen.append(component)
            return bool(component.get("stale") or component.get("rebuilding"))

        assert _wait(reported, 30), seen[-1:]
        assert "fingerprint" in seen[-1]["detail"] or seen[-1].get("rebuilding")
        assert _wait(lambda: online.view.generation != first and not online.stale, 600)
        assert client.get("/readyz").json()["components"]["online_store"]["stale"] is False


class _Halved:
    """A served model whose probabilities are half the wrapped one's (a 'new champion')."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.feature_names = inner.feature_names
        self.pyfunc = self

    def predict(self, X: pd.DataFrame) -> pd.DataFrame:
        out = self.inner.pyfunc.predict(X)
        out["probability"] = out["probability"] / 2
        out["base_output"] = out["base_output"] / 2
        return out


def test_reload_during_traffic_never_mixes_versions(
    trained_settings: Settings, tmp_path: Path, ids: dict[str, Any]
) -> None:
    settings = _copy_world(trained_settings, tmp_path)
    base = load_served_models(settings)
    lit = base.models["litigation"]
    v2 = ModelSet(
        models={**base.models, "litigation": ServedModel("litigation", lit.name, "2",
                                                         _Halved(lit.model))},
        policy=base.policy, policy_version=base.policy_version, policy_hash=base.policy_hash)
    sets = iter([base, v2])
    with TestClient(create_app(settings, model_loader=lambda _s: next(sets)),
                    raise_server_exceptions=False) as client:
        assert client.app.state.online.wait_idle(600)  # type: ignore[attr-defined]
        keys = make_keys(client)
        body = _enforcement({"patent_id": ids["patents"][0]})
        answers: list[tuple[int, dict[str, Any]]] = []
        stop = threading.Event()

        def traffic() -> None:
            while not stop.is_set():
                r = client.post("/v1/quotes/enforcement", json=body,
                                headers={"X-API-Key": keys["underwriter"]})
                answers.append((r.status_code, r.json()))

        workers = [threading.Thread(target=traffic) for _ in range(3)]
        for w in workers:
            w.start()
        time.sleep(1.0)
        reload = client.post("/v1/models/reload", headers={"X-API-Key": keys["scientist"]})
        time.sleep(1.0)
        stop.set()
        for w in workers:
            w.join()
    assert reload.status_code == 200, reload.text
    assert {s for s, _ in answers} == {200}
    by_version: dict[str, set[float]] = {}
    for _, a in answers:
        by_version.setdefault(a["model"]["litigation"]["version"], set()).add(a["probability"])
    assert set(by_version) == {"1", "2"}
    assert len(by_version["1"]) == len(by_version["2"]) == 1  # no answer mixes the two
    assert by_version["2"].pop() == pytest.approx(by_version["1"].pop() / 2)
