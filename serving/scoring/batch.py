"""Batch requests: a JSON list or a CSV upload, each item answered or rejected on its own."""

from __future__ import annotations

import csv
import io
import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any, TypeVar

from fastapi import Request
from pydantic import BaseModel, ValidationError

from serving.errors import BatchTooLargeError, InvalidInputError, ServiceError, validation_items
from serving.scoring.context import ScoringContext
from serving.scoring.entities import stored_patent_features
from serving.scoring.schemas import BatchItemOut, BatchOut, PatentRef

log = logging.getLogger(__name__)

RequestT = TypeVar("RequestT", bound=BaseModel)
# CSV columns holding several values separated by ";" and how each value becomes an item.
ListColumns = Mapping[str, Callable[[str], Any]]


class UnsupportedMediaTypeError(ServiceError):
    """A batch body that is neither JSON nor a multipart CSV upload (415)."""

    status_code = 415
    code = "unsupported_media_type"


def batch_openapi(schema_name: str) -> dict[str, Any]:
    """OpenAPI request body of a batch route: a JSON list of `schema_name` or a CSV file."""
    return {"requestBody": {"required": True, "content": {
        "application/json": {"schema": {
            "type": "array", "minItems": 1,
            "items": {"$ref": f"#/components/schemas/{schema_name}"},
        }},
        "multipart/form-data": {"schema": {
            "type": "object", "required": ["file"],
            "properties": {"file": {"type": "string", "format": "binary", "description":
                "UTF-8 CSV, one item per row; nested fields as dotted column names "
                "(patent.patent_id, applicant.role); lists separated by ';'."}},
        }},
    }}}


async def read_batch_items(request: Request, limit: int, lists: ListColumns) -> list[Any]:
    """The raw items of a batch body (JSON list or CSV upload), at most `limit` of them."""
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype == "multipart/form-data":
        form = await request.form()
        upload = form.get("file")
        if upload is None or isinstance(upload, str):
            raise InvalidInputError("file", "missing", "file: upload the CSV as form field 'file'")
        items = csv_items(_utf8_text(await upload.read()), lists)
    elif ctype in ("application/json", ""):
        try:
            items = json.loads(await request.body())
        except ValueError as exc:
            raise InvalidInputError(
                "body", "json_invalid", f"body: not valid JSON ({exc})"
            ) from None
        if not isinstance(items, list):
            raise InvalidInputError("body", "list_type", "body: must be a JSON list of requests")
    else:
        raise UnsupportedMediaTypeError(
            f"content type must be application/json or multipart/form-data, got {ctype!r}"
        )
    if len(items) > limit:
        raise BatchTooLargeError(limit, len(items))
    if not items:
        raise InvalidInputError("body", "too_short", "body: a batch needs at least one item")
    return items


def _utf8_text(data: bytes) -> str:
    """An uploaded file as text; a file that is not UTF-8 (a binary, GBK) is a 422 on `file`."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInputError(
            "file", "utf8", f"file: must be a UTF-8 CSV text file (byte {exc.start} is not UTF-8)"
        ) from None


def csv_items(text: str, lists: ListColumns) -> list[dict[str, Any]]:
    """CSV rows as nested request dicts: dotted columns nest, empty cells are left out."""
    try:
        rows = list(csv.DictReader(io.StringIO(text)))
    except csv.Error as exc:
        raise InvalidInputError("file", "csv", f"file: not a readable CSV ({exc})") from None
    items = []
    for row in rows:
        item: dict[str, Any] = {}
        for column, cell in row.items():
            if column is None or cell is None or cell.strip() == "":
                continue
            value: Any = cell.strip()
            if column in lists:
                value = [lists[column](v.strip()) for v in value.split(";") if v.strip()]
            node = item
            *parents, leaf = column.strip().split(".")
            for part in parents:
                node = node.setdefault(part, {})
            node[leaf] = value
        items.append(item)
    return items


def run_batch(
    ctx: ScoringContext,
    items: list[Any],
    schema: type[RequestT],
    score: Callable[[ScoringContext, RequestT], BaseModel],
) -> BatchOut:
    """Score each item on its own; an item's bad input or unknown entity rejects only it.

    The stored patents of all valid items get their features in one pipeline run first, so a
    batch costs one feature build rather than one per item.
    """
    parsed: list[RequestT | ValidationError] = []
    for raw in items:
        try:
            parsed.append(schema.model_validate(raw))
        except ValidationError as exc:
            parsed.append(exc)
    ids = [ref.patent_id for req in parsed if not isinstance(req, ValidationError)
           for ref in patent_refs(req) if ref.patent_id is not None]
    if ids and ctx.online is None:  # with the online store each item reads its rows
        ctx = replace(ctx, patent_features=stored_patent_features(ctx.cursor, ids, ctx.as_of))
    out = []
    for index, req in enumerate(parsed):
        try:
            if isinstance(req, ValidationError):
                raise req
            result = score(ctx, req)
        except ValidationError as exc:
            error = {"status_code": 422, "code": "invalid_input",
                     "detail": validation_items(exc.errors())}
        except InvalidInputError as exc:
            error = {"status_code": 422, "code": exc.code, "detail": [
                {"field": exc.field, "location": "body", "rule": exc.rule, "message": exc.message}
            ]}
        except ServiceError as exc:
            if exc.status_code >= 500:
                raise  # no model, no store: the batch cannot go on
            error = {"status_code": exc.status_code, "code": exc.code, "detail": exc.message}
        else:
            out.append(BatchItemOut(index=index, status="ok",
                                    result=result.model_dump(mode="json")))
            continue
        out.append(BatchItemOut(index=index, status="rejected", error=error))
    accepted = sum(1 for i in out if i.status == "ok")
    return BatchOut(items=out, total=len(out), accepted=accepted, rejected=len(out) - accepted)


def patent_refs(request: BaseModel) -> list[PatentRef]:
    """Every patent a request names, in its top-level fields (single or lists)."""
    refs: list[PatentRef] = []
    for name in type(request).model_fields:
        value = getattr(request, name)
        if isinstance(value, PatentRef):
            refs.append(value)
        elif isinstance(value, list):
            refs.extend(v for v in value if isinstance(v, PatentRef))
    return refs
