"""API keys over HTTP: 401 without a valid key, 403 with the wrong role, per endpoint."""

from __future__ import annotations

import hashlib

import pytest
from fastapi.testclient import TestClient

from features.settings import Settings
from serving import crud
from serving.auth import CallerRole
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


def test_revoked_key_gets_401(client: TestClient) -> None:
    with client.app.state.sessionmaker() as s:
        row, raw = crud.create_api_key(s, CallerRole.bank)
    assert _call(client, "GET", "/v1/patents", raw).status_code == 200
    with client.app.state.sessionmaker() as s:
        crud.revoke_api_key(s, row.id)
    response = _call(client, "GET", "/v1/patents", raw)
    assert response.status_code == 401
    assert response.json()["detail"] == "invalid, expired or revoked API key"


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
