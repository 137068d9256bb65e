"""Schemathesis over the whole OpenAPI document, in-process, on the trained scoring world.

Every operation gets schema-valid and schema-violating requests (fixed seed, bounded examples);
the run fails on any 5xx, a status code the document does not list, or an answer that does not
match its documented schema or media type. The documented examples name ids of the active
dataset, so they must reach the scoring operations themselves (200), not only their 404s.
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi import checks as openapi_checks

from features.settings import Settings
from serving.app import create_app

pytestmark = pytest.mark.slow

CHECKS = [
    not_a_server_error,
    openapi_checks.status_code_conformance,
    openapi_checks.content_type_conformance,
    openapi_checks.response_schema_conformance,
    openapi_checks.response_headers_conformance,
]
EXAMPLES_PER_OPERATION = 25
REQUEST_TIMEOUT_SECONDS = 120


@pytest.fixture(scope="module")
def fuzz_client(trained_settings: Settings) -> Any:
    """A started app of its own over the trained scoring world."""
    with TestClient(create_app(trained_settings), raise_server_exceptions=False) as client:
        yield client


def test_documented_examples_reach_the_scoring_operations(
    fuzz_client: TestClient, scoring_keys: dict[str, str]
) -> None:
    doc = fuzz_client.get("/openapi.json").json()
    reached = {}
    for path, item in doc["paths"].items():
        body = item.get("post", {}).get("requestBody", {}).get("content", {})
        schema_ref = body.get("application/json", {}).get("schema", {}).get("$ref")
        # The scoring operations; policies and claims act on stored quotes, policies and claims
        # (their examples cannot name ids that exist before the first bind).
        scoring = path.startswith(("/v1/quotes/", "/v1/loans/", "/v1/valuations"))
        if not scoring or path.endswith("/batch") or not schema_ref:
            continue
        component = doc["components"]["schemas"][schema_ref.rsplit("/", 1)[1]]
        example = component["examples"][0]
        answer = fuzz_client.post(path, json=example, headers={"X-API-Key": scoring_keys["admin"]})
        reached[path] = (answer.status_code, answer.text[:300])
    assert set(reached) >= {"/v1/quotes/enforcement", "/v1/quotes/liability",
                            "/v1/loans/assessments", "/v1/valuations"}
    assert {p: r for p, r in reached.items() if r[0] != 200} == {}


def test_every_operation_conforms_to_the_openapi_document(
    fuzz_client: TestClient, scoring_keys: dict[str, str]
) -> None:
    app: FastAPI = fuzz_client.app  # type: ignore[assignment]
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    failures: dict[str, str] = {}
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1
        strategy = st.one_of(
            operation.as_strategy(generation_mode=GenerationMode.POSITIVE),
            operation.as_strategy(generation_mode=GenerationMode.NEGATIVE),
        )

        @given(case=strategy)
        @settings(max_examples=EXAMPLES_PER_OPERATION, derandomize=True, deadline=None,
                  database=None, suppress_health_check=list(HealthCheck))
        def run(case: schemathesis.Case) -> None:
            # The admin key reaches every operation; who may call what is the role matrix's test.
            case.headers = {**(case.headers or {}), "X-API-Key": scoring_keys["admin"]}
            # Conformance, not speed: a report over many years takes ~10 s on 2 busy cores,
            # longer than schemathesis's default 10 s read timeout.
            case.call_and_validate(checks=CHECKS, timeout=REQUEST_TIMEOUT_SECONDS)

        try:
            run()
        except BaseException as exc:  # noqa: BLE001 - schemathesis raises an exception group
            failures[operation.label] = str(exc)[:2000]
    assert operations >= 15
    assert failures == {}, "\n\n".join(f"{k}:\n{v}" for k, v in failures.items())
