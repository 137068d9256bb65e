"""`patentrisk report KIND`: write a report's HTML pages (EN, ZH) and CSV tables to a folder."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path

import typer
from rich.console import Console

from features.cli_settings import settings_or_exit
from features.settings import Settings
from serving.reports.basis import ReportBasis


class ReportKind(StrEnum):
    """The reports the command writes."""

    market = "market"
    rates = "rates"
    portfolio = "portfolio"


@contextmanager
def cli_basis(settings: Settings, as_of: dt.date | None) -> Iterator[ReportBasis]:
    """A report basis over the configured dataset and the champion models and policy."""
    from serving.dataset import open_dataset
    from serving.modelset import load_served_models
    from serving.reports.basis import resolve_as_of

    handle = open_dataset(settings)
    if handle is None:
        raise RuntimeError(f"dataset {settings.dataset!r} has no patents table; run "
                           "`patentrisk demo --no-serve` or `patentrisk generate` first")
    try:
        handle.connection.execute("SET enable_progress_bar = false")
        with handle.cursor() as cur:
            yield ReportBasis(
                cursor=cur, dataset=settings.dataset, meta=handle.meta, tables=handle.tables,
                as_of=resolve_as_of(as_of, handle.as_of(settings), handle.end_date),
                models=load_served_models(settings),
            )
    finally:
        handle.close()


def _floats(text: str, name: str) -> tuple[float, ...]:
    """Comma-separated numbers, e.g. `0.05,0.1,0.2`."""
    try:
        return tuple(float(x) for x in text.split(",") if x.strip())
    except ValueError:
        raise typer.BadParameter(f"{name} must be comma-separated numbers, got {text!r}") from None


def _patent_ids(patents: str | None, patents_file: Path | None) -> list[str]:
    """Patent ids from `--patents A,B` and/or a CSV file with a patent_id column."""
    ids = [p.strip() for p in (patents or "").split(",") if p.strip()]
    if patents_file is not None:
        import pandas as pd

        frame = pd.read_csv(patents_file, dtype=str)
        if "patent_id" not in frame.columns:
            raise typer.BadParameter(f"{patents_file} needs a patent_id column")
        ids += [p.strip() for p in frame["patent_id"].dropna()]
    return list(dict.fromkeys(ids))


def register(app: typer.Typer) -> None:
    """Add the `report` command to the root CLI."""
    console = Console()

    @app.command("report")
    def report(
        kind: ReportKind = typer.Argument(..., help="market, rates or portfolio."),
        out: Path = typer.Option(Path("var/reports"), "--out", help="Folder to write into."),
        as_of: str = typer.Option(None, "--as-of", help="Report date YYYY-MM-DD (default: the "
                                  "service's as-of date); features are as of that date."),
        lang: str = typer.Option("en,zh", "--lang", help="Languages of the HTML pages."),
        region: str = typer.Option(None, help="market: owner region, e.g. CN-GD."),
        industry: str = typer.Option(None, help="market: owner industry, e.g. telecom."),
        owner_kind: str = typer.Option(None, help="market: large_firm, sme, university, ..."),
        cpc_section: str = typer.Option(None, help="market: CPC section letter A-H or Y."),
        take_up: str = typer.Option("0.05,0.1,0.2", help="market: take-up rates of eligible "
                                    "firms."),
        years: int = typer.Option(None, help="market: years of litigation shown (default 5); "
                                  "rates: past years backtested (default 10)."),
        borrower: str = typer.Option(None, help="portfolio: assignee id whose patents in "
                                     "force form the portfolio."),
        patents: str = typer.Option(None, help="portfolio: comma-separated patent ids."),
        patents_file: Path = typer.Option(None, help="portfolio: CSV with a patent_id column."),
        amount: float = typer.Option(None, help="portfolio: requested loan amount (default: the "
                                     "policy's max loan)."),
        term_months: int = typer.Option(12, help="portfolio: loan term in months."),
    ) -> None:
        """Write the KIND report (HTML in English and Chinese, CSV per table) under --out."""
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

        from serving.errors import ServiceError
        from serving.reports.rendering import write_report

        settings = settings_or_exit(console)
        langs = tuple(x.strip() for x in lang.split(",") if x.strip())
        if not langs or any(x not in ("en", "zh") for x in langs):
            console.print(f"[red]error:[/red] --lang must list en and/or zh, got {lang!r}")
            raise typer.Exit(code=2)
        try:
            day = dt.date.fromisoformat(as_of) if as_of else None
        except ValueError:
            console.print(f"[red]error:[/red] --as-of must be YYYY-MM-DD, got {as_of!r}")
            raise typer.Exit(code=2) from None
        started = time.perf_counter()
        try:
            with cli_basis(settings, day) as basis, Progress(
                TextColumn("[bold]{task.description}"), BarColumn(),
                TextColumn("{task.fields[step]}"),
                TimeElapsedColumn(), console=console, transient=False,
            ) as bar:
                from serving.reports.builders import STEPS, build_report

                task = bar.add_task(f"report {kind.value}", total=STEPS[kind.value] + 1, step="")

                def step(name: str) -> None:
                    bar.update(task, advance=1, step=name)

                basis = ReportBasis(**{**vars(basis), "progress": step})
                built = build_report(
                    basis, kind.value, region=region, industry=industry, owner_kind=owner_kind,
                    cpc_section=cpc_section, take_up=_floats(take_up, "--take-up"), years=years,
                    borrower=borrower, patent_ids=_patent_ids(patents, patents_file),
                    amount=amount, term_months=term_months,
                )
                step("writing")
                written = write_report(built, out, langs)
                bar.update(task, completed=STEPS[kind.value] + 1, step="done")
        except ServiceError as exc:
            console.print(f"[red]error:[/red] {exc}")
            raise typer.Exit(code=1) from None
        except RuntimeError as exc:
            console.print(f"[red]error:[/red] {exc}")
            raise typer.Exit(code=1) from None
        seconds = time.perf_counter() - started
        from rich.table import Table

        table = Table("file", "what", title=f"{kind.value} report in {seconds:.1f} s")
        for lg, path in written.html.items():
            table.add_row(str(path), f"HTML ({lg})")
        table.add_row(str(written.folder / "*.csv"), f"{len(written.csv)} CSV tables")
        console.print(table)
