"""Request ids, masked secrets in logs, per-key rate limits, the store down, refused reloads."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest
from pydantic import SecretStr

from features.settings import Settings
from serving.database import make_engine, make_sessionmaker
from serving.errors import RateLimitedError
from serving.logs import SecretMasker, configure_logging
from serving.modelset import SERVED_TASKS, ModelSet, ServedModel
from serving.ratelimit import RateLimiter
from tests.serving.conftest import make_client, make_keys

DB_PASSWORD = "pg-Sekr3t-pass"
ADMIN_KEY = "admin-bootstrap-key-Zq81xK"


@pytest.fixture
def captured_logs() -> Iterator[io.StringIO]:
    """The process's log output while the test runs (handler and record factory restored)."""
    root = logging.getLogger()
    handlers, level, factory = list(root.handlers), root.level, logging.getLogRecordFactory()
    stream = io.StringIO()
    yield stream
    root.handlers[:] = handlers
    root.setLevel(level)
    logging.setLogRecordFactory(factory)


def test_request_id_is_echoed_or_generated_and_in_error_bodies(client, keys) -> None:
    given = client.get("/v1/patents/CN999", headers={"X-API-Key": keys["bank"],
                                                      "X-Request-ID": "trace-42.a"})
    assert given.headers["x-request-id"] == "trace-42.a"
    assert given.json()["request_id"] == "trace-42.a"
    fresh = client.get("/healthz")
    assert len(fresh.headers["x-request-id"]) == 32
    injected = client.get("/v1/nothing", headers={"X-Request-ID": "a b\tc" + "x" * 200})
    assert injected.headers["x-request-id"] != "a b\tc" + "x" * 200
    assert injected.json()["request_id"] == injected.headers["x-request-id"]
    invalid = client.post("/probe/quote", json={"cover_limit": -1, "period_months": 1},
                          headers={"X-API-Key": keys["underwriter"], "X-Request-ID": "r-422"})
    assert invalid.status_code == 422
    assert invalid.json()["request_id"] == "r-422"
    crash = client.get("/probe/boom", headers={"X-Request-ID": "r-500"})
    assert crash.status_code == 500
    assert crash.headers["x-request-id"] == "r-500"
    assert crash.json()["request_id"] == "r-500"


def test_log_lines_carry_the_request_id(world_settings: Settings, captured_logs) -> None:
    configure_logging(world_settings, stream=captured_logs)
    with make_client(world_settings) as client:
        client.get("/probe/boom", headers={"X-Request-ID": "req-boom-7"})
    lines = [ln for ln in captured_logs.getvalue().splitlines() if "unhandled error" in ln]
    assert lines, captured_logs.getvalue()
    assert "[req-boom-7]" in lines[0]


def test_secrets_are_masked_in_every_log_line(
    tmp_path, captured_logs, caplog: pytest.LogCaptureFixture
) -> None:
    db_url = f"postgresql+psycopg://patentrisk:{DB_PASSWORD}@db.internal:5432/prod"
    settings = Settings(
        data_dir=tmp_path, database_url=db_url, admin_api_key=ADMIN_KEY,
        mlflow_tracking_uri=f"postgresql://ml:{DB_PASSWORD}x@db.internal/mlflow",
    )
    assert DB_PASSWORD not in repr(settings)
    assert ADMIN_KEY not in repr(settings)
    assert settings.resolved_database_url == db_url
    configure_logging(settings, stream=captured_logs)
    log = logging.getLogger("patentrisk.test")
    raw_key = "prk_" + "A1b2C3d4" * 5
    with caplog.at_level(logging.INFO):
        log.info("store at %s", settings.resolved_database_url)
        log.warning("tracking %s", settings.resolved_tracking_uri)
        log.info("key %s used, admin key %s", raw_key, ADMIN_KEY)
        log.info("conninfo host=db password=%s user=x", DB_PASSWORD)
        try:
            raise RuntimeError(f"cannot reach {db_url}")
        except RuntimeError:
            log.exception("failed")
    text = captured_logs.getvalue()
    captured = text + "\n".join(r.getMessage() for r in caplog.records)
    for secret in (DB_PASSWORD, ADMIN_KEY, raw_key):
        assert secret not in captured
    assert "postgresql+psycopg://patentrisk:***@db.internal:5432/prod" in text
    assert "prk_***" in text
    assert "password=***" in text


def test_masker_leaves_plain_text_alone() -> None:
    masker = SecretMasker()
    text = "sqlite:////srv/var/assessments.db at revision 0001; http://host:5000/api"
    assert masker.mask(text) == text


def test_rate_limiter_refills_at_its_rate() -> None:
    now = [0.0]
    limiter = RateLimiter(per_minute=60, burst=2, clock=lambda: now[0])
    limiter.check("k")
    limiter.check("k")
    with pytest.raises(RateLimitedError) as refused:
        limiter.check("k")
    assert refused.value.retry_after == 1
    limiter.check("other")  # every key has its own bucket
    now[0] = 1.0
    limiter.check("k")
    assert RateLimiter(per_minute=0, burst=1).enabled is False


def test_a_key_over_its_limit_gets_429_with_retry_after(world_settings: Settings) -> None:
    settings = Settings(**{**world_settings.model_dump(), "rate_limit_per_minute": 6,
                           "rate_limit_burst": 3})
    with make_client(settings) as client:
        keys = make_keys(client)
        bank = {"X-API-Key": keys["bank"]}
        statuses = [client.get("/v1/patents", headers=bank).status_code for _ in range(4)]
        limited = client.get("/v1/patents", headers=bank)
        other = client.get("/v1/patents", headers={"X-API-Key": keys["underwriter"]})
        health = [client.get("/healthz").status_code for _ in range(5)]
    assert statuses == [200, 200, 200, 429]
    assert limited.status_code == 429
    assert int(limited.headers["retry-after"]) >= 1
    assert limited.json()["code"] == "rate_limited"
    assert "rate_limit_per_minute" in limited.json()["detail"]
    assert other.status_code == 200
    assert health == [200] * 5  # operations endpoints need no key and are not limited


def test_store_down_answers_503_with_retry_after(client, keys) -> None:
    down = make_engine("postgresql+psycopg://nobody@127.0.0.1:1/none")
    client.app.state.sessionmaker = make_sessionmaker(down)
    response = client.post("/probe/quote", json={"cover_limit": 1, "period_months": 1},
                           headers={"X-API-Key": keys["underwriter"]})
    assert response.status_code == 503
    assert response.json()["code"] == "database_unavailable"
    assert int(response.headers["retry-after"]) > 0
    assert "Traceback" not in response.text


def _models(version: str, failures: dict[str, str] | None = None,
            tasks: tuple[str, ...] = SERVED_TASKS) -> ModelSet:
    return ModelSet(
        models={t: ServedModel(t, f"patentrisk-{t}", version, model=None)  # type: ignore[arg-type]
                for t in tasks},
        policy_version="2025.1", policy_hash="abc", failures=failures or {},
    )


@pytest.mark.parametrize(("fresh", "named"), [
    (_models("2", {"litigation": "MlflowException: MLmodel is not valid YAML"},
              tuple(t for t in SERVED_TASKS if t != "litigation")), "litigation: MlflowException"),
    (_models("2", tasks=tuple(t for t in SERVED_TASKS if t != "value")), "value: served before"),
])
def test_reload_refuses_a_set_missing_a_served_champion(
    world_settings: Settings, fresh: ModelSet, named: str
) -> None:
    sets = iter([_models("1"), fresh])
    with make_client(world_settings, loader=lambda _s: next(sets)) as client:
        key = {"X-API-Key": make_keys(client)["scientist"]}
        refused = client.post("/v1/models/reload", headers=key)
        served = client.get("/v1/models", headers=key).json()
    assert refused.status_code == 503
    assert refused.json()["code"] == "model_reload_failed"
    assert named in refused.json()["detail"]
    assert "previous models stay" in refused.json()["detail"]
    assert {m["version"] for m in served["items"]} == {"1"}
    assert len(served["items"]) == len(SERVED_TASKS)


def test_secret_settings_accept_plain_strings() -> None:
    settings = Settings(admin_api_key="0123456789abcdef")
    assert isinstance(settings.admin_api_key, SecretStr)
    with pytest.raises(ValueError, match="admin_api_key"):
        Settings(admin_api_key="short")


@pytest.mark.slow
def test_a_dataset_in_another_currency_is_refused_for_pricing(
    trained_settings: Settings, tmp_path, trained_ids
) -> None:
    from fastapi.testclient import TestClient

    from serving.app import create_app

    settings = Settings(**{**trained_settings.model_dump(),
                           "database_url": f"sqlite:///{tmp_path / 'store.db'}"})
    quote = {"patent": {"patent_id": trained_ids["patents"][0]},
             "applicant": {"applicant_id": "APP-1", "role": "patent_holder"},
             "cover_limit": 1_000_000, "deductible": 0, "period_months": 12}
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        keys = make_keys(client)
        uw, bank = {"X-API-Key": keys["underwriter"]}, {"X-API-Key": keys["bank"]}
        assert client.post("/v1/quotes/enforcement", json=quote, headers=uw).status_code == 200
        dataset = client.app.state.dataset  # type: ignore[attr-defined]
        dataset.meta = {**dataset.meta, "currency": "USD"}
        refused = client.post("/v1/quotes/enforcement", json=quote, headers=uw)
        valuation = client.post("/v1/valuations", headers=bank,
                                json={"patents": [{"patent_id": trained_ids["patents"][0]}]})
        with client.app.state.sessionmaker() as s:  # type: ignore[attr-defined]
            from serving import crud

            stored = crud.list_assessments(s, crud.AssessmentFilters())[1]
    assert refused.status_code == 409
    assert refused.json()["code"] == "currency_mismatch"
    assert "USD" in refused.json()["detail"]
    assert "CNY" in refused.json()["detail"]
    assert valuation.status_code == 409
    assert stored == 1  # nothing stored for the refused requests


@pytest.mark.slow
def test_a_dataset_in_another_currency_is_priced_at_the_policy_files_exchange_rate(
    trained_settings: Settings, tmp_path, trained_ids
) -> None:
    """With `exchange_rates: {USD: 7.1}` a USD dataset's costs and values are converted."""
    from importlib import resources

    from fastapi.testclient import TestClient

    from serving.app import create_app

    text = resources.files("models.policy").joinpath("default.yaml").read_text("utf-8")
    policy_file = tmp_path / "policy.yaml"
    policy_file.write_text(text + "\nexchange_rates:\n  USD: 7.1\n", encoding="utf-8")
    settings = Settings(**{**trained_settings.model_dump(),
                           "database_url": f"sqlite:///{tmp_path / 'store.db'}",
                           "policy_file": policy_file})
    patent = trained_ids["patents"][0]

    def quote(applicant: str) -> dict[str, object]:
        return {"patent": {"patent_id": patent},
                "applicant": {"applicant_id": applicant, "role": "patent_holder"},
                "cover_limit": 50_000_000, "deductible": 0, "period_months": 12}

    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        keys = make_keys(client)
        uw, bank = {"X-API-Key": keys["underwriter"]}, {"X-API-Key": keys["bank"]}
        value = {"patents": [{"patent_id": patent}]}
        in_cny = client.post("/v1/quotes/enforcement", json=quote("APP-CNY"), headers=uw).json()
        value_cny = client.post("/v1/valuations", json=value, headers=bank).json()
        dataset = client.app.state.dataset  # type: ignore[attr-defined]
        dataset.meta = {**dataset.meta, "currency": "USD"}
        in_usd = client.post("/v1/quotes/enforcement", json=quote("APP-USD"), headers=uw)
        value_usd = client.post("/v1/valuations", json=value, headers=bank)
        dataset.meta = {**dataset.meta, "currency": "EUR"}
        no_rate = client.post("/v1/quotes/enforcement", json=quote("APP-EUR"), headers=uw)
    assert in_usd.status_code == 200, in_usd.text
    assert in_usd.json()["currency"] == "CNY"
    assert in_usd.json()["expected_claim_cost"] == pytest.approx(
        in_cny["expected_claim_cost"] * 7.1, rel=1e-9)
    # What is priced is the converted cost (capped by the cover limit, in the policy's currency).
    assert in_usd.json()["payable_per_claim"] == pytest.approx(
        min(50_000_000, in_usd.json()["expected_claim_cost"]), abs=0.01)
    usd_value = value_usd.json()
    assert usd_value["total"]["p50"] == pytest.approx(value_cny["total"]["p50"] * 7.1, rel=1e-6)
    expl = usd_value["explanation"]
    assert expl["output"] == pytest.approx(value_cny["explanation"]["output"] * 7.1, rel=1e-9)
    assert sum(expl["effects"].values()) == pytest.approx(
        expl["output"] - expl["base_output"], rel=1e-6, abs=1e-3)
    assert no_rate.status_code == 409
    assert no_rate.json()["code"] == "currency_mismatch"
    assert "EUR" in no_rate.json()["detail"]
