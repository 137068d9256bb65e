"""API keys over HTTP: 401 without a valid key, 403 with the wrong role, per endpoint."""

from __future__ import annotations

import hashlib
import time

import pytest
from fastapi.testclient import TestClient

from features.settings import Settings
from serving import crud
from serving.auth import Caller, CallerRole
from serving.key_cache import CallerCache
from serving.tables import ApiKey
from tests.serving.conftest import make_client, make_keys

ALL = {r.value for r in CallerRole}
ENDPOINTS: list[tuple[str, str, set[str]]] = [
    ("GET", "/v1/assessments", ALL),
    ("GET", "/v1/assessments/unknown-id", set()),  # 404 for every role: nothing to read
    ("GET", "/v1/patents", {"underwriter", "bank", "scientist", "admin"}),
    ("GET", "/v1/patents/CN100000001B", {"underwriter", "bank", "scientist", "admin"}),
    ("GET", "/v1/models", {"scientist", "regulator", "admin"}),
    ("POST", "/v1/models/reload", {"scientist", "admin"}),
    ("POST", "/probe/quote", {"underwriter", "admin"}),
]


@pytest.fixture(scope="module")
def started(tmp_path_factory: pytest.TempPathFactory):
    from tests.serving.conftest import write_tiny_world

    with pytest.MonkeyPatch.context() as mp:
        for key in [k for k in __import__("os").environ if k.startswith("PATENTRISK_")]:
            mp.delenv(key)
        settings = Settings(data_dir=tmp_path_factory.mktemp("auth") / "var", dataset="tiny",
                            admin_api_key="bootstrap-admin-key-0123456789")
    write_tiny_world(settings.dataset_dir)
    with make_client(settings) as client:
        yield client, make_keys(client)


def _call(client: TestClient, method: str, path: str, key: str | None):
    headers = {"X-API-Key": key} if key is not None else {}
    body = {"cover_limit": 1000, "period_months": 12} if method == "POST" else None
    return client.request(method, path, headers=headers, json=body)


@pytest.mark.parametrize(("method", "path", "allowed"), ENDPOINTS)
def test_each_role_gets_200_or_403_and_no_key_401(started, method, path, allowed) -> None:
    client, keys = started
    for bad in (None, "", "prk_not-a-real-key"):
        response = _call(client, method, path, bad)
        assert response.status_code == 401, (path, bad)
        assert response.headers["www-authenticate"] == "APIKey"
    for role, key in keys.items():
        status = _call(client, method, path, key).status_code
        if role in allowed:
            assert status == 200, (path, role)
        elif path.endswith("unknown-id"):
            assert status == 404, (path, role)
        else:
            assert status == 403, (path, role)


def test_forbidden_answer_names_role_and_allowed_roles(started) -> None:
    client, keys = started
    body = _call(client, "GET", "/v1/patents", keys["regulator"]).json()
    assert body["code"] == "forbidden"
    assert "'regulator'" in body["detail"]
    assert "admin, bank, scientist, underwriter" in body["detail"]


def test_settings_admin_key_is_accepted_as_admin(started) -> None:
    client, _ = started
    response = _call(client, "POST", "/v1/models/reload", "bootstrap-admin-key-0123456789")
    assert response.status_code == 200


def test_revoked_key_gets_401_once_the_cache_time_passed(world_settings: Settings) -> None:
    settings = world_settings.model_copy(update={"api_key_cache_seconds": 0.5})
    with make_client(settings) as client:
        with client.app.state.sessionmaker() as s:  # type: ignore[attr-defined]
            row, raw = crud.create_api_key(s, CallerRole.bank)
        assert _call(client, "GET", "/v1/patents", raw).status_code == 200
        with client.app.state.sessionmaker() as s:  # type: ignore[attr-defined]
            crud.revoke_api_key(s, row.id)
        # Within the cache time the key's caller may still be served from memory ...
        started = time.monotonic()
        kept = _call(client, "GET", "/v1/patents", raw).status_code
        assert kept == 200 or time.monotonic() - started >= 0.5
        # ... and once it passed the revocation holds.
        time.sleep(0.6)
        response = _call(client, "GET", "/v1/patents", raw)
        assert response.status_code == 401
        assert response.json()["detail"] == "invalid, expired or revoked API key"


def test_revoked_key_gets_401_at_once_without_cache(world_settings: Settings) -> None:
    settings = world_settings.model_copy(update={"api_key_cache_seconds": 0.0})
    with make_client(settings) as client:
        with client.app.state.sessionmaker() as s:  # type: ignore[attr-defined]
            row, raw = crud.create_api_key(s, CallerRole.bank)
        assert _call(client, "GET", "/v1/patents", raw).status_code == 200
        with client.app.state.sessionmaker() as s:  # type: ignore[attr-defined]
            crud.revoke_api_key(s, row.id)
        assert _call(client, "GET", "/v1/patents", raw).status_code == 401


def test_caller_cache_is_bounded_and_expires() -> None:
    cache = CallerCache(ttl_seconds=0.2, max_entries=3)
    callers = [Caller(f"key_{i}", f"k{i}", CallerRole.bank) for i in range(5)]
    for i, caller in enumerate(callers):
        cache.put(f"h{i}", caller)
    assert [cache.get(f"h{i}") for i in range(5)] == [None, None, *callers[2:]]
    time.sleep(0.25)
    assert cache.get("h4") is None
    assert CallerCache(ttl_seconds=0).get("h0") is None


def test_raw_key_is_not_in_the_database_file(client: TestClient, world_settings) -> None:
    keys = make_keys(client)
    client.app.state.engine.dispose()  # flush the WAL into the main file
    db_files = list(world_settings.data_dir.glob("assessments.db*"))
    content = b"".join(p.read_bytes() for p in db_files)
    for raw in keys.values():
        assert raw.encode() not in content
        assert hashlib.sha256(raw.encode()).hexdigest().encode() in content
    with client.app.state.sessionmaker() as s:
        assert s.query(ApiKey).count() == len(CallerRole)


# --- the role matrix: every route x every role, from this one table ---

PUBLIC = None  # no key needed
UNDERWRITING = {"underwriter", "admin"}
LENDING = {"bank", "admin"}
PATENT_DATA = {"underwriter", "bank", "scientist", "admin"}
POLICY_WRITERS = {"underwriter", "bank", "admin"}
POLICY_READERS = {"underwriter", "bank", "regulator", "adjuster", "admin"}
CLAIM_NOTIFIERS = {"adjuster", "bank", "admin"}
CLAIM_HANDLERS = {"adjuster", "admin"}
# The web console signs in with a session cookie, not a key: its pages are checked by role in
# tests/serving/console; here they only have to be listed (a new page must be named).
CONSOLE = "console"
# Who may call each route. A route of the app missing here fails the test: a new route must say
# who may call it. (Listing an assessment: every role, each sees its own; reading one: every role.)
ROLE_TABLE: dict[tuple[str, str], set[str] | str | None] = {
    ("GET", "/healthz"): PUBLIC,
    ("GET", "/readyz"): PUBLIC,
    ("GET", "/metrics"): PUBLIC,
    ("GET", "/docs"): PUBLIC,
    ("GET", "/docs/oauth2-redirect"): PUBLIC,
    ("GET", "/redoc"): PUBLIC,
    ("GET", "/v1/assessments"): ALL,
    ("GET", "/v1/assessments/{assessment_id}"): ALL,
    ("GET", "/v1/patents"): PATENT_DATA,
    ("GET", "/v1/patents/{patent_id}"): PATENT_DATA,
    ("GET", "/v1/models"): {"scientist", "regulator", "admin"},
    ("GET", "/v1/models/monitoring"): {"scientist", "regulator", "admin"},
    ("POST", "/v1/models/reload"): {"scientist", "admin"},
    ("POST", "/v1/quotes/enforcement"): UNDERWRITING,
    ("POST", "/v1/quotes/enforcement/batch"): UNDERWRITING,
    ("POST", "/v1/quotes/liability"): UNDERWRITING,
    ("POST", "/v1/quotes/liability/batch"): UNDERWRITING,
    ("POST", "/v1/loans/assessments"): LENDING,
    ("POST", "/v1/loans/assessments/batch"): LENDING,
    ("POST", "/v1/valuations"): LENDING,
    ("POST", "/v1/valuations/batch"): LENDING,
    ("POST", "/v1/patents/screen"): PATENT_DATA,
    ("GET", "/v1/reports/book"): {"regulator", "admin"},
    ("GET", "/v1/reports/market"): {"underwriter", "regulator", "admin"},
    ("GET", "/v1/reports/rates"): {"underwriter", "regulator", "admin"},
    ("GET", "/v1/reports/portfolio"): LENDING,
    ("POST", "/v1/policies"): POLICY_WRITERS,
    ("GET", "/v1/policies"): POLICY_READERS,
    ("GET", "/v1/policies/{policy_id}"): POLICY_READERS,
    ("GET", "/v1/policies/{policy_id}/versions"): POLICY_READERS,
    ("POST", "/v1/policies/{policy_id}/endorsements"): POLICY_WRITERS,
    ("POST", "/v1/policies/{policy_id}/cancellation"): POLICY_WRITERS,
    ("POST", "/v1/claims"): CLAIM_NOTIFIERS,
    ("GET", "/v1/claims"): POLICY_READERS,
    ("GET", "/v1/claims/{claim_id}"): POLICY_READERS,
    **{("POST", f"/v1/claims/{{claim_id}}/{step}"): CLAIM_HANDLERS
       for step in ("registration", "assessment", "reserve", "sale", "decision", "payments",
                    "payments/{entry_id}/approval", "payments/{entry_id}/reversal",
                    "recoveries", "closure", "reopening", "advances",
                    "advances/{entry_id}/approval", "advances/{entry_id}/reversal")},
    **{(method, path): CONSOLE for method, path in (
        ("GET", "/console"), ("GET", "/console/"), ("GET", "/console/assessments"),
        ("GET", "/console/assessments/{assessment_id}"), ("GET", "/console/lang/{code}"),
        ("GET", "/console/loans"), ("POST", "/console/loans"),
        ("GET", "/console/loans/{assessment_id}"), ("GET", "/console/models"),
        ("GET", "/console/patents"), ("GET", "/console/patents/{patent_id}"),
        ("GET", "/console/quotes"), ("POST", "/console/quotes"), ("GET", "/console/regulator"),
        ("GET", "/console/signin"), ("POST", "/console/signin"), ("POST", "/console/signout"),
        ("GET", "/console/models/{task}/validation"),
        ("GET", "/console/quotes/{assessment_id}"),
        ("POST", "/console/quotes/{assessment_id}/bind"),
        ("POST", "/console/loans/{assessment_id}/bind"),
        ("GET", "/console/policies"), ("GET", "/console/policies/{policy_id}"),
        ("POST", "/console/policies/{policy_id}/endorsement"),
        ("POST", "/console/policies/{policy_id}/cancellation"),
        ("GET", "/console/claims"), ("GET", "/console/claims/new"),
        ("POST", "/console/claims/new"), ("GET", "/console/claims/{claim_id}"),
        ("POST", "/console/claims/{claim_id}/{step}"),
        ("GET", "/console/book"), ("GET", "/console/book.csv"),
        ("POST", "/console/claims/{claim_id}/{kind}/{entry_id}/{step}"),
        ("GET", "/console/reports"), ("GET", "/console/reports/{kind}"))},
    # routes of the test probe (tests/serving/conftest.py)
    ("POST", "/probe/quote"): UNDERWRITING,
    ("GET", "/probe/boom"): PUBLIC,
    ("GET", "/probe/needs-model"): PUBLIC,
}
PATH_VALUES = {"assessment_id": "unknown-id", "patent_id": "CN100000001B",
               "policy_id": "unknown-policy", "claim_id": "unknown-claim", "entry_id": "1"}


def _app_routes(client: TestClient) -> set[tuple[str, str]]:
    """(method, path template) of every API route of the app, also inside included routers."""
    from fastapi.routing import APIRoute

    found = set()
    for route in client.app.routes:
        # FastAPI >= 0.165 keeps included routers as one entry listing their routes' contexts.
        contexts = (route.effective_route_contexts() if hasattr(route, "effective_route_contexts")
                    else [route] if isinstance(route, APIRoute) else [])
        found |= {(m, c.path) for c in contexts for m in c.methods if m != "HEAD"}
    return found


def test_every_route_has_an_entry_in_the_role_table(started) -> None:
    client, _ = started
    routes = _app_routes(client)
    assert routes - set(ROLE_TABLE) == set(), "routes without an entry in ROLE_TABLE"
    assert set(ROLE_TABLE) - routes == set(), "ROLE_TABLE names routes the app does not have"


def test_role_matrix_every_route_every_role(started) -> None:
    client, keys = started
    wrong: dict[str, int] = {}
    for (method, template), allowed in sorted(ROLE_TABLE.items()):
        if allowed == CONSOLE:
            continue
        path = template.format(**PATH_VALUES)
        if allowed is PUBLIC:
            status = _call(client, method, path, None).status_code
            if status in (401, 403):
                wrong[f"{method} {template} without a key"] = status
            continue
        if _call(client, method, path, None).status_code != 401:
            wrong[f"{method} {template} without a key"] = _call(client, method, path, None)\
                .status_code
        for role, key in keys.items():
            status = _call(client, method, path, key).status_code
            expected_forbidden = role not in allowed
            if (status == 403) != expected_forbidden or status == 401:
                wrong[f"{method} {template} as {role}"] = status
    assert wrong == {}
