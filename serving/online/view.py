"""One materialized generation opened for serving: records by id, context, search index."""

from __future__ import annotations

import datetime as dt
import logging
import zlib
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from features.pipelines import ContextDatabase, MaterializedContext
from models.boosting import SHAP_BASE
from serving.online.backends import GenerationReader, OnlineStoreUnreachableError
from serving.online.materialize import Stamp, ipc_table, severity_class_key
from serving.online.records import EntityRecord, RecordLayout, task_outputs

log = logging.getLogger(__name__)


class OnlineView:
    """Read side of one generation; immutable, so a request keeps the one it started with."""

    def __init__(self, reader: GenerationReader) -> None:
        self.reader = reader
        self.generation = reader.generation
        self.manifest = reader.manifest
        self.stamp = Stamp.from_dict(self.manifest["stamp"])
        self.as_of = dt.date.fromisoformat(self.stamp.as_of)
        self.layouts = {ns: RecordLayout.from_json(cols)
                        for ns, cols in self.manifest["layouts"].items()}

        def table(name: str) -> pa.Table:
            data = reader.blob(name)
            if data is None:
                raise LookupError(f"generation {self.generation} has no {name} table")
            return ipc_table(data)

        self.context = MaterializedContext(
            as_of=self.as_of, class_counts=table("ctx_class_counts"),
            owner_counts=table("ctx_owner_counts"), assignees=table("ctx_assignees"),
        )
        # Loaded once per generation: facts are scored on its cursors, not the dataset's.
        self.context_db = ContextDatabase(self.context)
        self.orphans = frozenset(table("orphans").column("patent_id").to_pylist())
        sev = table("severity_classes").to_pandas()
        self.severity_classes = sev.set_index("class_key")
        fc = table("firm_classes")
        self.firm_classes = dict(zip(fc.column("assignee_id").to_pylist(),
                                     fc.column("main_class").to_pylist(), strict=True))
        self.patent_index = table("patent_index")
        # Column positions of the features (task None) and of each task's outputs, per namespace.
        self._positions: dict[str, dict[str | None, tuple[list[int], list[str]]]] = {
            ns: {task: layout.positions(task) for task in (None, *layout.tasks)}
            for ns, layout in self.layouts.items()
        }

    def rows(self, namespace: str, ids: Sequence[str]) -> pd.DataFrame:
        """The stored entity frame of those `ids` that have a record (others left out)."""
        return self._part(namespace, ids, None, whole=True)

    def record(self, namespace: str, entity_id: str) -> EntityRecord | None:
        """The stored record of one entity as floats; None when not stored or not readable.

        One lookup for the features and every task's outputs (a single stored quote reads
        them all); callers fall back to the frame path, which logs an unreachable store.
        """
        try:
            blob, = self.reader.get_many(namespace, [entity_id])
        except OnlineStoreUnreachableError:
            return None
        if blob is None:
            return None
        values = np.frombuffer(zlib.decompress(blob), dtype=np.float64)
        if len(values) != len(self.layouts[namespace].columns):
            return None
        return EntityRecord(entity_id, values, self._positions[namespace])

    def _part(self, namespace: str, ids: Sequence[str], task: str | None,
              whole: bool = False) -> pd.DataFrame:
        """Features (task None) or one task's outputs of the stored `ids`, one frame build."""
        layout = self.layouts[namespace]
        if whole:
            pos, names = list(range(len(layout.columns))), list(layout.columns)
        else:
            known = self._positions[namespace].get(task)
            pos, names = known if known is not None else layout.positions(task)
        try:
            blobs = self.reader.get_many(namespace, ids)
        except OnlineStoreUnreachableError as exc:
            # Nothing stored can be read: the callers compute these rows per request (the same
            # answer as the stored one, only slower), never a guess.
            log.warning("online store unreachable, computing per request: %s", exc)
            return pd.DataFrame(columns=names)
        found = [(i, b) for i, b in zip(ids, blobs, strict=True) if b is not None]
        if not found:
            return pd.DataFrame(columns=names)
        matrix = np.frombuffer(b"".join(zlib.decompress(b) for _, b in found),
                               dtype=np.float64).reshape(len(found), -1)
        return pd.DataFrame(matrix[:, pos], index=pd.Index([i for i, _ in found]),
                            columns=names)

    def features(self, namespace: str, ids: Sequence[str]) -> pd.DataFrame:
        """Stored feature rows of those `ids` that have a record, by id."""
        return self._part(namespace, ids, None)

    def task_rows(self, namespace: str, task: str, ids: Sequence[str]) -> pd.DataFrame:
        """`task`'s stored contract rows of those `ids` whose record holds them, by id.

        A record whose SHAP was not materialized (NaN `shap_base`: a patent not in force, see
        the manifest's `explained`) is left out like a missing one, so the caller scores and
        explains it with the served model: the answer full materialization would have stored.
        """
        frame = self._part(namespace, ids, task)
        if SHAP_BASE in frame.columns:
            missing = np.isnan(frame[SHAP_BASE].to_numpy(dtype=np.float64))
            if missing.any():
                frame = frame.loc[~missing]
        return frame

    def serves(self, task: str, served: Any) -> bool:
        """Whether the stored outputs of `task` come from exactly the model `served`."""
        return self.stamp.models.get(task) == f"{served.name}/{served.version}"

    def outputs(
        self, namespace: str, task: str, ids: Sequence[str], served: Any
    ) -> pd.DataFrame | None:
        """`task`'s stored contract frame for `ids` in order; None unless all are stored by it."""
        if not ids or not self.serves(task, served):
            return None
        frame = self.task_rows(namespace, task, list(dict.fromkeys(ids)))
        if len(frame) != len(set(ids)):
            return None
        return frame if list(frame.index) == list(ids) else frame.loc[list(ids)]

    def class_severity(self, main_class: str | None, served: Any) -> pd.DataFrame | None:
        """Stored severity outputs of a liability claim in `main_class`, if materialized by it."""
        key = severity_class_key(main_class)
        if not self.serves("severity", served) or key not in self.severity_classes.index:
            return None
        return task_outputs(self.severity_classes.loc[[key]], "severity")

    def facts_scorable(self, patent_ids: Sequence[str]) -> bool:
        """Whether facts with these ids can be scored against the context alone.

        True when the dataset neither holds nor mentions any of the ids (no record, no citation,
        event or case names them); otherwise the full pipeline must see the dataset's rows.
        """
        if any(pid in self.orphans for pid in patent_ids):
            return False
        try:
            stored = self.reader.get_many("patent", list(patent_ids))
        except OnlineStoreUnreachableError:
            return False  # unknown whether the dataset holds them: the full pipeline decides
        return all(b is None for b in stored)

    def describe(self) -> dict[str, Any]:
        """Generation, stamp and rows, for `/readyz` and the CLI."""
        return {"generation": self.generation, "as_of": self.stamp.as_of,
                "rows": self.manifest.get("rows"), "models": self.stamp.models,
                "explained": self.manifest.get("explained"),
                "created_at": self.manifest.get("created_at")}

    def close(self) -> None:
        """Release the reader and the context database."""
        self.reader.close()
        self.context_db.close()
