"""The monitoring endpoint over HTTP on the trained world: drift only when the traffic shifts."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from mlflow import MlflowClient
from pydantic import SecretStr

from features.settings import Settings
from features.store import TableStore
from serving.app import create_app
from tests.serving.conftest import make_keys

pytestmark = pytest.mark.slow



def _reference_date(settings: Settings) -> dt.date:
    """Last as-of date of the litigation champion's reference rows (its test period)."""
    client = MlflowClient(settings.resolved_tracking_uri)
    mv = client.get_model_version_by_alias("patentrisk-litigation", "champion")
    period = client.get_run(mv.run_id).data.params["test_period"]
    return dt.date.fromisoformat(period.split("..")[1])


def _patents(settings: Settings, as_of: dt.date, where: str, n: int) -> list[str]:
    """Up to `n` patents in force on `as_of` meeting `where`, in a fixed pseudo-random order."""
    t = f"DATE '{as_of.isoformat()}'"
    in_force = (
        f"grant_date IS NOT NULL AND grant_date <= {t} AND expiry_date > {t} "
        "AND patent_id NOT IN (SELECT patent_id FROM legal_events WHERE event_type IN "
        f"('lapsed', 'invalidated') AND event_date <= {t})"
    )
    con = TableStore(settings.dataset_dir).connect()
    try:
        return [r[0] for r in con.execute(
            f"SELECT patent_id FROM patents WHERE {in_force} AND {where.format(t=t)} "
            "ORDER BY hash(patent_id) LIMIT ?", [n]).fetchall()]
    finally:
        con.close()


def _drift_after(settings: Settings, tmp: Path, name: str, as_of: dt.date,
                 patents: list[str]) -> dict:
    """Quote enforcement cover on `patents` in a fresh app; its litigation monitoring."""
    own = settings.model_copy(update={"database_url": SecretStr(f"sqlite:///{tmp / name}.db"),
                                      "max_batch_items": 1000, "as_of": as_of})
    with TestClient(create_app(own), raise_server_exceptions=False) as client:
        keys = make_keys(client)
        items = [{"patent": {"patent_id": p},
                  "applicant": {"applicant_id": f"APP-{i}", "role": "patent_holder"},
                  "cover_limit": 1_000_000, "deductible": 0, "period_months": 12}
                 for i, p in enumerate(patents)]
        answer = client.post("/v1/quotes/enforcement/batch", json=items,
                             headers={"X-API-Key": keys["underwriter"]})
        assert answer.status_code == 200, answer.text
        response = client.get("/v1/models/monitoring", params={"task": "litigation"},
                              headers={"X-API-Key": keys["scientist"]})
        assert response.status_code == 200, response.text
        metrics = client.get("/metrics").text
        assert client.get("/v1/models/monitoring", params={"task": "nope"},
                          headers={"X-API-Key": keys["scientist"]}).status_code == 422
        assert client.get("/v1/models/monitoring",
                          headers={"X-API-Key": keys["underwriter"]}).status_code == 403
    body = response.json()
    (item,) = body["items"]
    item["metrics"] = metrics
    return item


def test_traffic_like_the_reference_is_stable_and_only_new_patents_drift(
    trained_settings: Settings, tmp_path: Path
) -> None:
    # scored as of the reference's own date, patents in force then are drawn like its rows
    as_of = _reference_date(trained_settings)
    like = _drift_after(trained_settings, tmp_path, "like", as_of,
                        _patents(trained_settings, as_of, "true", 500))
    assert like["rows"] >= 300
    psi = {v["name"]: v["psi"] for v in like["variables"]}
    # no variable reaches the drift threshold; the score itself is stable (a feature whose values
    # cluster by owner, such as the owner's portfolio size, may sit in the watch band)
    assert like["status"] in ("stable", "watch"), psi
    assert like["max_psi"] < 0.25, psi
    assert psi["score"] < 0.10, psi
    assert 'patentrisk_model_psi{task="litigation",variable="score"}' in like["metrics"]

    new = _drift_after(trained_settings, tmp_path, "new", as_of,
                       _patents(trained_settings, as_of, "grant_date > {t} - INTERVAL 2 YEAR",
                                150))
    assert new["rows"] >= 100
    # only recent grants: young, little cited patents, far past the drift threshold (0.25) that
    # like traffic stays under; the age of the patents is what moved
    new_psi = {v["name"]: v["psi"] for v in new["variables"]}
    assert new["status"] == "drift", new_psi
    assert new["max_psi"] >= 0.25, new_psi
    assert new_psi["patent_age_years"] >= 0.25, new_psi
