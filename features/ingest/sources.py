"""The ingest adapter of each source, and `ingest`, which loads files of a source into a dataset."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from types import MappingProxyType

import duckdb

from features.ingest import assignments, chinese_export, litigation, maintenance, patentsview
from features.ingest.delimited import SourceFileError
from features.ingest.loading import IngestReport, Loader
from features.settings import Settings
from features.store import TableStore

log = logging.getLogger(__name__)


class DatasetWriteError(RuntimeError):
    """An ingest could not write its dataset (disk full, read-only or unwritable folder)."""


@dataclass(frozen=True)
class IngestAdapter:
    """How one source is ingested: its name, loading function, currency and a line of help."""

    name: str
    load: Callable[[list[Path], Loader], None]
    currency: str
    help: str


ADAPTERS = MappingProxyType({
    s.name: s
    for s in (
        IngestAdapter("patentsview", patentsview.load, "USD",
               "PatentsView g_*.tsv tables (patents, applications, citations, CPC, owners)"),
        IngestAdapter("uspto-litigation", litigation.load, "USD",
               "USPTO OCE litigation docket files cases.csv, names.csv, patents.csv"),
        IngestAdapter("uspto-maintenance", maintenance.load, "USD",
               "USPTO MaintFeeEvents_*.txt maintenance fee events"),
        IngestAdapter("uspto-assignments", assignments.load, "USD",
               "USPTO patent assignment XML (ad*.xml daily or annual files)"),
        IngestAdapter("cn-export", chinese_export.load, "CNY",
               "Chinese patent list export (CSV or XLSX with Chinese headers)"),
    )
})


def ingest(
    source: str,
    paths: list[Path],
    settings: Settings,
    dataset: str | None = None,
    *,
    end_date: date | None = None,
    rejects_path: Path | None = None,
    on_read: Callable[[int], None] | None = None,
) -> IngestReport:
    """Load `paths` of `source` into dataset `dataset` (default: settings.dataset) and report.

    Rows merge into existing tables by key, so several sources can be appended one after the
    other. `dataset.json` records each source with its files and end date; the dataset's
    `end_date` is the earliest end over its sources (the data is complete only up to there).
    """
    if source not in ADAPTERS:
        raise ValueError(f"source must be one of {', '.join(ADAPTERS)}, got {source!r}")
    for path in paths:
        if not path.is_file():
            raise SourceFileError(path, None, "file does not exist")
    name = dataset or settings.dataset
    store = TableStore(settings.data_dir / "datasets" / name)
    stamp = datetime.now().strftime("%Y%m%dT%H%M%S")
    report = IngestReport(source=source, dataset=name, end_date=end_date)
    loader = Loader(
        store, report, rejects_path or store.root / "rejects" / f"{source}-{stamp}.csv",
        on_read=on_read,
    )
    try:
        ADAPTERS[source].load(paths, loader)
        loader.finish()
        _update_meta(store, ADAPTERS[source], paths, report)
    except (OSError, duckdb.IOException) as exc:
        loader.abort()
        # A full disk, a read-only or unwritable data directory: nothing replaced the dataset.
        raise DatasetWriteError(
            f"ingest into {store.root} failed ({exc.__class__.__name__}: {exc}); is the data "
            "directory writable and is there room on its disk? The dataset is as it was"
        ) from exc
    except BaseException:
        loader.abort()
        raise
    log.info("ingest %s into %s: %d read, %d loaded, %d rejected", source, name,
             report.rows_read, report.rows_loaded, report.rows_rejected)
    return report


def _update_meta(
    store: TableStore, adapter: IngestAdapter, paths: list[Path], report: IngestReport
) -> None:
    """Record this ingest in dataset.json and recompute the dataset's source and end_date."""
    meta = store.meta()
    sources = dict(meta.get("sources", {}))  # type: ignore[call-overload]
    previous = sources.get(adapter.name, {})
    ends = [e for e in (previous.get("end_date"), report.end_date and report.end_date.isoformat())
            if e]
    sources[adapter.name] = {
        "files": sorted({*previous.get("files", []), *(p.name for p in paths)}),
        "end_date": max(ends) if ends else None,
        "ingested_at": datetime.now().isoformat(timespec="seconds"),
    }
    all_ends = [s["end_date"] for s in sources.values() if s.get("end_date")]
    meta.update(
        source=adapter.name if len(sources) == 1 else "+".join(sorted(sources)),
        end_date=min(all_ends) if all_ends else None,
        currency=meta.get("currency", adapter.currency),
        sources=sources,
    )
    store.write_meta(meta)
