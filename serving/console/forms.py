"""Console forms: fields named like the API's request fields, errors shown next to each field.

A form input is named with the request field's dotted path (`patent.patent_id`,
`applicant.role`, `cover_limit`), so the API's validation error for a field names the input it
came from, and the page shows it there with the rule.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from serving.errors import (
    ConflictError,
    InvalidInputError,
    NotFoundError,
    ServiceError,
    validation_items,
)


@dataclass
class FormErrors:
    """Messages by form field, and messages that belong to no single field."""

    fields: dict[str, str] = field(default_factory=dict)
    general: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.fields or self.general)

    def add(self, name: str, message: str, known: Iterable[str] = ()) -> None:
        """Attach `message` to field `name`, or to its nearest known parent, else generally."""
        target = name
        while target and target not in known:
            target = target.rpartition(".")[0]
        if target:
            self.fields.setdefault(target, message)
        else:
            self.general.append(message)


def nested(values: Mapping[str, Any]) -> dict[str, Any]:
    """Dotted keys as nested dicts (`applicant.role` -> {"applicant": {"role": ...}})."""
    out: dict[str, Any] = {}
    for key, value in values.items():
        node = out
        *parents, leaf = key.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return out


def text_fields(form_fields: Mapping[str, str], names: Iterable[str]) -> dict[str, str]:
    """The non-empty fields among `names`, stripped (an empty input means 'not given')."""
    return {n: form_fields[n].strip() for n in names if form_fields.get(n, "").strip()}


def split_ids(text: str) -> list[str]:
    """Ids typed one per line or separated by ';' or ','."""
    for sep in ("\n", ","):
        text = text.replace(sep, ";")
    return [part.strip() for part in text.split(";") if part.strip()]


def validation_errors(exc: ValidationError, known: Iterable[str],
                      aliases: Mapping[str, str] | None = None) -> FormErrors:
    """Pydantic errors of a request as messages on the form's fields.

    `aliases` moves errors about a whole object (`patent`: exactly one of id and facts) onto
    the input that fills it (`patent.patent_id`).
    """
    known = set(known)
    aliases = aliases or {}
    errors = FormErrors()
    for item in validation_items(exc.errors()):
        name = item["field"] if item["field"] != "request" else ""
        errors.add(aliases.get(name, name), with_rule(item["message"], item["rule"]), known)
    return errors


def service_errors(exc: ServiceError, known: Iterable[str], id_field: str | None = None,
                   aliases: Mapping[str, str] | None = None) -> FormErrors:
    """A domain error of the scoring layer as a message on its field (unknown ids on `id_field`)."""
    known = set(known)
    aliases = aliases or {}
    errors = FormErrors()
    if isinstance(exc, InvalidInputError | ConflictError):
        errors.add(aliases.get(exc.field, exc.field), with_rule(exc.message, exc.rule), known)
    elif isinstance(exc, NotFoundError) and id_field:
        errors.add(id_field, with_rule(exc.message, exc.code), known)
    else:
        errors.general.append(exc.message)
    return errors


def with_rule(message: str, rule: str) -> str:
    """The message followed by its rule name (what the API calls it)."""
    return f"{message} [{rule}]"
