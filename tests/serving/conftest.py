"""Fixtures for the service tests: a tiny hand-written dataset, apps over real databases, keys."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pandas as pd
import pytest
import sqlalchemy as sa
from fastapi import APIRouter, FastAPI
from fastapi.testclient import TestClient
from pydantic import BaseModel, Field

from features.settings import Settings
from features.store import TableStore
from serving import crud
from serving.app import create_app
from serving.auth import CallerRole
from serving.deps import ModelsDep, RecorderDep, UnderwriterDep
from serving.modelset import ModelLoader


def write_tiny_world(root: Path) -> None:
    """Three firms, five patents with CPC classes: small enough to work answers out by hand."""
    store = TableStore(root)
    store.write("assignees", pd.DataFrame({
        "assignee_id": ["A1", "A2", "A3"],
        "name": ["Shenzhen Lightwave Tech", "Acme Robotics Inc", "100% Pure_Labs"],
        "kind": ["large_firm", "sme", "university"],
        "industry": ["telecom", "machinery", None],
        "region": ["CN-GD", "US-CA", "CN-BJ"],
        "founded_year": [1998, 2010, 1950],
    }))
    d = pd.to_datetime
    store.write("patents", pd.DataFrame({
        "patent_id": ["CN100000001B", "CN100000002B", "US10000003", "US10000004", "CN100000005U"],
        "jurisdiction": ["CN", "CN", "US", "US", "CN"],
        "patent_type": ["invention", "invention", "utility", "design", "utility_model"],
        "filing_date": d(["2015-01-10", "2016-03-01", "2014-06-30", "2017-09-09", "2018-02-02"]),
        "priority_date": d(["2014-12-01", "2016-03-01", None, None, "2018-02-02"]),
        "grant_date": d(["2018-05-20", "2019-07-07", "2017-01-03", "2018-10-10", "2018-11-11"]),
        "expiry_date": d(["2035-01-10", "2036-03-01", "2034-06-30", "2032-10-10", "2028-02-02"]),
        "num_claims": [10, 3, 20, 1, 5],
        "num_independent_claims": [2, 1, 3, 1, 1],
        "first_claim_words": [150, 90, 210, None, 60],
        "family_size": [3, 1, 5, 1, 1],
        "num_inventors": [4, 2, 6, 1, 1],
        "cpc_main": ["H04L", "H04W", "B25J", "D14", "G06F"],
        "assignee_id": ["A1", "A1", "A2", "A2", "A3"],
        "title": ["Optical packet routing", "Wireless handover method", "Robot gripper",
                  "Ornamental design for a robot", "Data cache with 50% hit_rate"],
    }))
    store.write("patent_cpc", pd.DataFrame({
        "patent_id": ["CN100000001B", "CN100000001B", "CN100000002B", "US10000003",
                      "US10000004", "CN100000005U"],
        "cpc_class": ["H04L", "H04B", "H04W", "B25J", "D14", "G06F"],
        "cpc_section": ["H", "H", "H", "B", "Y", "G"],
        "sequence": [0, 1, 0, 0, 0, 0],
    }))
    store.write_meta({"source": "hand-written", "end_date": "2024-12-31", "currency": "CNY"})


class EchoQuote(BaseModel):
    """A stand-in scoring request, to drive the infrastructure the way scoring routers will."""

    cover_limit: float = Field(ge=0)
    period_months: int = Field(ge=1, le=60)
    note: str = ""


def probe_router() -> APIRouter:
    """Routes that exercise recording, body limits, validation and unexpected errors."""
    router = APIRouter(prefix="/probe")
    @router.post("/quote")
    def quote(
        body: EchoQuote, recorder: RecorderDep, models: ModelsDep, _caller: UnderwriterDep
    ) -> dict[str, object]:
        row = recorder.record(
            kind="enforcement_quote", request=body.model_dump(),
            features={"claims": 10.0, "missing": float("nan")},
            outputs={"premium": body.cover_limit * 0.01, "grade": "B"},
            explanation={"base": -2.5, "reasons": ["专利 cited 42 times"]},
            model_versions=models.versions(), policy_version="test-1", policy_hash="abc",
        )
        return {"assessment_id": row.id, "outputs": row.outputs}

    @router.get("/boom")
    def boom() -> dict[str, str]:
        raise RuntimeError("secret internal detail /etc/passwd")

    @router.get("/needs-model")
    def needs_model(models: ModelsDep) -> dict[str, str]:
        return {"version": models.require("litigation").version}

    return router


def make_client(settings: Settings, loader: ModelLoader | None = None) -> TestClient:
    """A TestClient (not yet started) on an app with the probe routes included."""
    app: FastAPI = create_app(settings, model_loader=loader)
    app.include_router(probe_router())
    return TestClient(app, raise_server_exceptions=False)


def make_keys(client: TestClient) -> dict[str, str]:
    """One raw API key per role, created in the started app's store."""
    keys = {}
    with client.app.state.sessionmaker() as session:  # type: ignore[attr-defined]
        for role in CallerRole:
            keys[role.value] = crud.create_api_key(session, role, f"test {role.value}")[1]
    return keys


@contextmanager
def insurance_app(trained: Settings, database_url: str
                  ) -> Iterator[tuple[TestClient, dict[str, str]]]:
    """A started app over `trained`'s world with its own store, a key per role and a second
    adjuster's key (`adjuster2`, for payments above the authority limit)."""
    settings = Settings(data_dir=trained.data_dir, train_trials=0, database_url=database_url)
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        keys = make_keys(client)
        with client.app.state.sessionmaker() as session:  # type: ignore[attr-defined]
            keys["adjuster2"] = crud.create_api_key(session, CallerRole.adjuster, "second")[1]
        yield client, keys


def api_headers(keys: dict[str, str], role: str, idem: str | None = None) -> dict[str, str]:
    """The headers of a call with `role`'s key (and an Idempotency-Key when given)."""
    headers = {"X-API-Key": keys[role]}
    if idem:
        headers["Idempotency-Key"] = idem
    return headers


def ok_json(response: httpx.Response, status: int = 200) -> dict:  # type: ignore[type-arg]
    """The JSON body of `response`, asserting its status first (the body shown when not)."""
    assert response.status_code == status, response.text
    return response.json()  # type: ignore[no-any-return]


@pytest.fixture
def world_settings(tmp_path: Path) -> Settings:
    """Settings over a temporary data dir holding the tiny world, with a small body limit."""
    # The tiny world's answers are computed per request; the online store has tests of its own.
    settings = Settings(data_dir=tmp_path / "var", dataset="tiny", max_body_bytes=2_000,
                        online_auto_materialize=False)
    write_tiny_world(settings.dataset_dir)
    return settings


@pytest.fixture
def client(world_settings: Settings) -> Iterator[TestClient]:
    """A started app over the tiny world and a SQLite store."""
    with make_client(world_settings) as c:
        yield c


@pytest.fixture
def keys(client: TestClient) -> dict[str, str]:
    """Raw keys by role for `client`."""
    return make_keys(client)


@pytest.fixture
def pg_schema_url(postgres_url: str) -> Iterator[str]:
    """A URL whose search_path is a fresh PostgreSQL schema, dropped after the test."""
    schema = f"patentrisk_test_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(postgres_url)
    with admin.begin() as con:
        con.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    url = sa.make_url(postgres_url).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as con:
            con.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The store URL of each backend: a SQLite file, and a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    return request.getfixturevalue("pg_schema_url")


# --- scoring: a small generated world with all five tasks trained (slow, built once) ---

SCORING_WORLD_PATENTS = 3000
SCORING_WORLD_SEED = 7
SCORING_MAX_BATCH = 5


@pytest.fixture(scope="session")
def trained_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Settings over a generated world whose five tasks are trained into a private MLflow."""
    from features.world.generate import generate_world
    from models.tasks import TASK_NAMES
    from training.runs import train_tasks

    settings = Settings(
        data_dir=tmp_path_factory.mktemp("scoring") / "var", train_trials=0,
        max_batch_items=SCORING_MAX_BATCH, rate_limit_per_minute=0,  # limits: test_reliability
    )
    generate_world(TableStore(settings.dataset_dir), SCORING_WORLD_PATENTS, SCORING_WORLD_SEED)
    results = train_tasks(settings, TASK_NAMES, trials=0)
    not_trained = {r.task: r.reason for r in results if r.status != "trained"}
    if not_trained:
        pytest.fail(f"the scoring world did not train every task: {not_trained}")
    return settings


@pytest.fixture(scope="session")
def scoring_client(trained_settings: Settings) -> Iterator[TestClient]:
    """A started app over the trained world with the default (champion) loader.

    Its online store is materialized at start (in the background): wait for it, so the scoring
    tests read stored rows as the service does in production.
    """
    with TestClient(create_app(trained_settings), raise_server_exceptions=False) as c:
        assert c.app.state.online.wait_idle(600)  # type: ignore[attr-defined]
        yield c


@pytest.fixture(scope="session")
def scoring_keys(scoring_client: TestClient) -> dict[str, str]:
    """Raw keys by role for `scoring_client`."""
    return make_keys(scoring_client)


@pytest.fixture(scope="session")
def trained_ids(trained_settings: Settings) -> dict[str, object]:
    """Patents and firms of the trained world to ask about: a firm with financials and
    technology, three of its patents in force, an expired and a lapsed patent."""
    con = TableStore(trained_settings.dataset_dir).connect()
    firm, = con.execute(
        "SELECT p.assignee_id FROM patents p JOIN firm_financials f USING (assignee_id) "
        "JOIN firm_technology t USING (assignee_id) WHERE p.grant_date IS NOT NULL "
        "GROUP BY 1 ORDER BY count(DISTINCT p.patent_id) DESC, 1 LIMIT 1"
    ).fetchone()
    in_force = (
        "grant_date IS NOT NULL AND expiry_date > DATE '2025-12-31' AND patent_id NOT IN "
        "(SELECT patent_id FROM legal_events WHERE event_type IN ('lapsed', 'invalidated'))"
    )
    owned = [r[0] for r in con.execute(
        f"SELECT patent_id FROM patents WHERE assignee_id = ? AND {in_force} "
        "AND patent_type IN ('invention', 'utility') ORDER BY grant_date DESC LIMIT 3", [firm],
    ).fetchall()]
    expired, = con.execute(
        "SELECT patent_id FROM patents WHERE expiry_date <= DATE '2025-12-31' LIMIT 1"
    ).fetchone()
    lapsed, = con.execute(
        "SELECT patent_id FROM legal_events WHERE event_type = 'lapsed' "
        "AND event_date <= DATE '2025-12-31' LIMIT 1"
    ).fetchone()
    makers = [r[0] for r in con.execute(
        "SELECT DISTINCT assignee_id FROM firm_technology JOIN firm_financials "
        "USING (assignee_id) ORDER BY 1 LIMIT 40").fetchall()]
    con.close()
    return {"firm": firm, "patents": owned, "expired": expired, "lapsed": lapsed,
            "makers": makers}


def error_json(response: httpx.Response) -> dict[str, object]:
    """An error body without its `request_id`, after checking it is the response's header."""
    body = dict(response.json())
    assert body.pop("request_id") == response.headers["x-request-id"]
    return body


@pytest.fixture(scope="session")
def pledge_collateral(trained_settings: Settings, trained_ids: dict[str, object]) -> list[str]:
    """The firm's three most cited patents in force (citations known by the world's end).

    Citations are what a lender values in a pledge (the default model's `pledged_citations_*`),
    and the tiny world's default model declines a pledge of uncited patents; the firm's newest
    patents (`trained_ids["patents"]`) are not yet cited.
    """
    con = TableStore(trained_settings.dataset_dir).connect()
    rows = con.execute(
        "SELECT p.patent_id FROM patents p LEFT JOIN citations c "
        "ON c.cited_patent_id = p.patent_id AND c.citation_date <= DATE '2025-12-31' "
        "WHERE p.assignee_id = ? AND p.grant_date IS NOT NULL "
        "AND p.expiry_date > DATE '2025-12-31' AND p.patent_id NOT IN (SELECT patent_id "
        "FROM legal_events WHERE event_type IN ('lapsed', 'invalidated')) "
        "GROUP BY 1 ORDER BY count(c.citing_patent_id) DESC, 1 LIMIT 3", [trained_ids["firm"]],
    ).fetchall()
    con.close()
    return [r[0] for r in rows]
