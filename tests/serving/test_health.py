from fastapi.testclient import TestClient

from features.settings import Settings
from serving.app import create_app


def test_healthz_answers_ok(settings: Settings) -> None:
    with TestClient(create_app(settings)) as client:
        response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"
