"""What a report is made of: a cover, sections with text, tables and the charts drawn from them.

Every chart names the table behind it; the writer saves each table as CSV beside the HTML, so
each figure in a report can be checked against its numbers.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

import pandas as pd

LANGS = ("en", "zh")


@dataclass(frozen=True)
class Text:
    """A text a reader sees, in English and Chinese."""

    en: str
    zh: str

    def get(self, lang: str) -> str:
        """The text in `lang` (en or zh)."""
        if lang not in LANGS:
            raise ValueError(f"lang must be one of {LANGS}, got {lang!r}")
        return self.en if lang == "en" else self.zh


@dataclass(frozen=True)
class ReportTable:
    """A named table of a report; saved as `<name>.csv`."""

    name: str
    title: Text
    frame: pd.DataFrame
    shown_rows: int = 20  # rows printed in the HTML; the CSV always holds all of them
    hidden: tuple[str, ...] = ()  # columns left out of the HTML (kept in the CSV)


@dataclass(frozen=True)
class ReportChart:
    """A chart drawn from one table: `draw(lang)` returns the inline SVG."""

    table: str
    title: Text
    draw: Callable[[str], str]


@dataclass
class ReportSection:
    """One section: a heading, paragraphs, the tables printed and the charts drawn."""

    key: str
    title: Text
    paragraphs: list[Text] = field(default_factory=list)
    tables: list[ReportTable] = field(default_factory=list)
    charts: list[ReportChart] = field(default_factory=list)
    printed: list[str] | None = None  # names of tables printed in the HTML (default all)


@dataclass(frozen=True)
class CoverItem:
    """One line of the cover: label and value."""

    label: Text
    value: str


@dataclass
class Report:
    """A report: kind, title, cover lines and sections."""

    kind: str
    title: Text
    subtitle: Text
    as_of: dt.date
    cover: list[CoverItem]
    sections: list[ReportSection]
    slug: str = ""  # folder name; default `<kind>-<as_of>`

    @property
    def folder(self) -> str:
        """The folder name the report is written to."""
        return self.slug or f"{self.kind}-{self.as_of.isoformat()}"

    def tables(self) -> list[ReportTable]:
        """Every table of the report, in order (names are unique)."""
        out = [t for s in self.sections for t in s.tables]
        names = [t.name for t in out]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"report {self.kind}: table names must be unique, repeated {dupes}")
        return out

    def check_charts(self) -> None:
        """Raise ValueError if a chart names a table the report does not hold."""
        names = {t.name for t in self.tables()}
        for s in self.sections:
            for c in s.charts:
                if c.table not in names:
                    raise ValueError(f"chart {c.title.en!r} names missing table {c.table!r}")
