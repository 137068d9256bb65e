"""Reports built once on the trained scoring world, and the tables they are checked against."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from features.settings import Settings
from features.store import TableStore
from serving.reports.basis import ReportBasis
from serving.reports.builders import build_report
from serving.reports.cli import cli_basis
from serving.reports.document import Report
from serving.reports.rendering import WrittenReport, write_report


@pytest.fixture(scope="session")
def basis(trained_settings: Settings) -> Iterator[ReportBasis]:
    """The report basis over the trained world: its dataset, champions and policy."""
    with cli_basis(trained_settings, None) as b:
        yield b


@pytest.fixture(scope="session")
def raw(trained_settings: Settings) -> dict[str, pd.DataFrame]:
    """The trained world's tables, read straight from Parquet for direct computations."""
    con = TableStore(trained_settings.dataset_dir).connect(duckdb.connect())
    names = ("patents", "legal_events", "cases", "assignees", "firm_technology", "loans")
    out = {n: con.execute(f"SELECT * FROM {n}").df() for n in names}
    con.close()
    return out


def in_force_at(raw: dict[str, pd.DataFrame], day: dt.date) -> pd.DataFrame:
    """Patents in force on `day` with their owner then, worked out from the raw tables."""
    t = pd.Timestamp(day)
    p = raw["patents"]
    assert p["expiry_date"].notna().all(), "the world records every expiry date"
    ev = raw["legal_events"]
    ended = set(ev.loc[ev["event_type"].isin(["lapsed", "invalidated"])
                       & (ev["event_date"] <= t), "patent_id"])
    alive = p[p["grant_date"].notna() & (p["grant_date"] <= t) & (p["expiry_date"] > t)
              & ~p["patent_id"].isin(ended)].copy()
    moves = ev[(ev["event_type"] == "transferred") & (ev["event_date"] <= t)
               & ev["counterparty_id"].notna()].sort_values(["event_date", "event_id"])
    last = moves.groupby("patent_id")["counterparty_id"].last()
    alive["owner_id"] = alive["patent_id"].map(last).fillna(alive["assignee_id"])
    return alive.reset_index(drop=True)


@pytest.fixture(scope="session")
def built(basis: ReportBasis) -> dict[str, Report]:
    """The market and rates reports of the trained world."""
    return {"market": build_report(basis, "market", take_up=(0.1, 0.25), years=3),
            "rates": build_report(basis, "rates", years=4)}


@pytest.fixture(scope="session")
def written(built: dict[str, Report], tmp_path_factory: pytest.TempPathFactory
            ) -> dict[str, WrittenReport]:
    """The reports written to a folder (HTML in both languages and CSVs)."""
    out = tmp_path_factory.mktemp("reports")
    return {k: write_report(r, out) for k, r in built.items()}


def csv_table(written: WrittenReport, name: str) -> pd.DataFrame:
    """A report table read back from its CSV file."""
    path: Path = written.csv[name]
    return pd.read_csv(path, encoding="utf-8-sig")
