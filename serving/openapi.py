"""The OpenAPI document: the answers every operation can get, and examples from the dataset.

Examples name a patent in force and a firm with product classes of the *active* dataset, so the
documentation's "Try it out" (and an API fuzzer) reaches the scoring operations, not only their
404s, whatever dataset the service runs on.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from serving.dataset import DatasetHandle
from serving.logs import REQUEST_ID_HEADER
from serving.scoring.entities import not_in_force_reason, stored_patent_features
from serving.scoring.schemas import FIRM_ID_EXAMPLE, PATENT_ID_EXAMPLE

log = logging.getLogger(__name__)

_ERROR_CONTENT = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorOut"}}}


def install_openapi(app: FastAPI) -> None:
    """Build the app's OpenAPI document once, on first request, with common errors and examples."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            doc = get_openapi(
                title=app.title, version=app.version, description=app.description,
                routes=app.routes, tags=app.openapi_tags,
            )
            for path_item in doc.get("paths", {}).values():
                for operation in path_item.values():
                    document_common_errors(operation)
                    document_keyed_answers(operation)
            dataset = getattr(app.state, "dataset", None)
            settings = getattr(app.state, "settings", None)
            if dataset is not None and settings is not None:
                doc = _replace_strings(doc, dataset_examples(dataset, dataset.as_of(settings)))
            app.openapi_schema = doc
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def document_common_errors(operation: dict[str, Any]) -> None:
    """Add the body limit's 413 (and 415 for multipart batches) to one OpenAPI operation."""
    body = operation.get("requestBody")
    if not body:
        return
    responses = operation.setdefault("responses", {})
    responses.setdefault("413", {
        "description": "Body (or batch) larger than the service accepts.",
        "content": _ERROR_CONTENT,
    })
    if "multipart/form-data" in body.get("content", {}):
        responses.setdefault("415", {
            "description": "Neither a JSON list nor a multipart CSV upload.",
            "content": _ERROR_CONTENT,
        })


_RETRY_AFTER = {
    "description": "Seconds to wait before trying again.", "schema": {"type": "integer"},
}


def document_keyed_answers(operation: dict[str, Any]) -> None:
    """Document what every keyed operation may answer besides its own: 429 and 503, request ids.

    Keyed operations look the key up in the store and count it against its rate limit, so any
    of them answers 429 over the limit and 503 when the store is down, both with `Retry-After`.
    """
    parameters = operation.setdefault("parameters", [])
    if not any(p.get("name") == REQUEST_ID_HEADER for p in parameters):
        parameters.append({
            "name": REQUEST_ID_HEADER, "in": "header", "required": False,
            "description": "Your id for this request (at most 128 of `A-Z a-z 0-9 . _ : -`); "
                           "echoed in the answer's header and error body, and in the service's "
                           "log lines. Otherwise the service makes one.",
            "schema": {"type": "string", "maxLength": 128, "pattern": r"^[A-Za-z0-9._:\-]+$"},
        })
    if not operation.get("security"):
        return
    responses = operation.setdefault("responses", {})
    responses.setdefault("429", {
        "description": "The key passed its rate limit (`rate_limit_per_minute`).",
        "headers": {"Retry-After": _RETRY_AFTER},
        "content": _ERROR_CONTENT,
    })
    unavailable = responses.setdefault("503", {
        "description": "A component is not available (database, dataset or model).",
        "content": _ERROR_CONTENT,
    })
    unavailable.setdefault("headers", {"Retry-After": _RETRY_AFTER})


def dataset_examples(dataset: DatasetHandle, as_of: Any) -> dict[str, str]:
    """Placeholder example ids mapped to a patent in force and a firm of the active dataset."""
    found: dict[str, str] = {}
    with dataset.cursor() as cur:
        recent = [r[0] for r in cur.execute(
            "SELECT patent_id FROM patents WHERE grant_date <= ? AND expiry_date > ? "
            "ORDER BY grant_date DESC, patent_id LIMIT 20", [as_of, as_of],
        ).fetchall()]
        features = stored_patent_features(cur, recent, as_of) if recent else None
        for pid in recent:
            if features is not None and pid in features.index \
                    and not_in_force_reason(features.loc[pid]) is None:
                found[PATENT_ID_EXAMPLE] = pid
                break
        if "firm_technology" in dataset.tables:
            firm = cur.execute(
                "SELECT assignee_id FROM firm_technology ORDER BY assignee_id LIMIT 1"
            ).fetchone()
            if firm:
                found[FIRM_ID_EXAMPLE] = firm[0]
    log.info("OpenAPI examples from the dataset: %s", found)
    return found


def _replace_strings(node: Any, mapping: dict[str, str]) -> Any:
    """`node` with every string equal to a key of `mapping` replaced by its value."""
    if isinstance(node, dict):
        return {k: _replace_strings(v, mapping) for k, v in node.items()}
    if isinstance(node, list):
        return [_replace_strings(v, mapping) for v in node]
    if isinstance(node, str):
        return mapping.get(node, node)
    return node
