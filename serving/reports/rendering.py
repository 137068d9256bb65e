"""Render a `Report` to one self-contained HTML page per language, and write its CSV tables."""

from __future__ import annotations

import io
import math
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
import pandas as pd

from serving.reports.document import LANGS, Report, ReportTable

# Column headings as readers see them; a column not listed is shown by its name.
COLUMN_LABELS: dict[str, tuple[str, str]] = {
    "patent_type": ("Patent type", "专利类型"), "region": ("Region", "地区"),
    "industry": ("Industry", "行业"), "cpc_section": ("CPC section", "CPC部"),
    "cpc_class": ("CPC class", "CPC大类"), "patents": ("Patents", "专利数"),
    "share": ("Share", "占比"), "year": ("Year", "年度"),
    "observed": ("Observed suits", "实际诉讼数"), "expected": ("Expected suits", "模型预期诉讼数"),
    "product": ("Product", "险种"), "role": ("Applicant role", "投保人身份"),
    "firms": ("Firms in role", "该身份企业数"), "eligible": ("Eligible", "可投保"),
    "eligible_firms": ("Eligible firms", "可投保企业数"), "take_up": ("Take-up", "投保率"),
    "buyers": ("Expected buyers", "预期投保企业数"), "policies": ("Policies", "保单数"),
    "gross_premium": ("Gross premium", "毛保费"), "subsidy": ("Subsidy", "保费补贴"),
    "net_premium": ("Net premium", "净保费"), "expected_loss": ("Expected loss", "预期损失"),
    "loss_ratio": ("Expected loss ratio", "预期赔付率"), "owner_id": ("Owner", "权利人"),
    "grade": ("Grade", "评级"), "exposures": ("Exposures", "风险单位数"),
    "expected_claims": ("Expected claims", "预期出险数"),
    "actual_claims": ("Actual claims", "实际出险数"),
    "premium": ("Premium charged", "应收保费"), "actual_losses": ("Actual losses", "实际损失"),
    "expected_losses": ("Expected losses", "预期损失"), "ae_claims": ("A/E claims", "出险A/E"),
    "ae_lower": ("A/E 95% lower", "A/E下限(95%)"), "ae_upper": ("A/E 95% upper", "A/E上限(95%)"),
    "ae_losses": ("A/E losses", "损失A/E"), "actual_loss_ratio": ("Loss ratio", "实际赔付率"),
    "verdict": ("Verdict", "结论"), "patent_id": ("Patent", "专利号"), "p10": ("P10", "P10"),
    "p50": ("P50", "P50"), "p90": ("P90", "P90"), "reasons": ("Main reasons", "主要原因"),
    "remaining_term": ("Remaining term", "剩余保护期"), "legal": ("Legal value", "法律价值"),
    "technical": ("Technical value", "技术价值"), "economic": ("Economic value", "经济价值"),
    "scenario": ("Scenario", "情景"), "item": ("Item", "项目"), "value": ("Value", "数值"),
    "max_loan": ("Max loan", "最高可贷额"),
    "ltv_requested": ("LTV requested (P10)", "申请质押率(P10)"),
    "default_probability": ("Default probability", "违约概率"),
    "expected_loss_share": ("Share of expected loss", "预期损失占比"),
    "probability": ("12-month probability", "12个月概率"), "hhi": ("HHI", "赫芬达尔指数"),
    "dimension": ("Dimension", "维度"), "top10_share": ("Top-10 share", "前十集中度"),
    "owner_kind": ("Owner kind", "权利人类型"), "value_p50": ("Value P50", "估值P50"),
    "premium_volume": ("Gross premium", "毛保费"),
    "reasons_en": ("Main reasons", "主要原因"), "reasons_zh": ("Main reasons", "主要原因"),
    "name_en": ("Axis", "维度"), "name_zh": ("Axis", "维度"), "axis": ("Axis key", "维度代码"),
    "mean_log_contribution": ("Mean log-value contribution", "平均对数价值贡献"),
    "base_p50": ("Base value", "基准价值"),
    "in_force": ("In force", "有效"), "base_value": ("Base value", "基准值"),
    "raw_score": ("log P50", "log P50"), "decision": ("Decision", "结论"),
    "unit": ("Unit", "单位"),
}
# Columns printed as plain labels (no thousands separator).
_PLAIN = {"year", "term_months"}
_TEMPLATES = jinja2.Environment(
    loader=jinja2.PackageLoader("serving.reports", "templates"),
    autoescape=jinja2.select_autoescape(["html", "j2"]),
    trim_blocks=True,
    lstrip_blocks=True,
)


@dataclass(frozen=True)
class WrittenReport:
    """Where a report was written: its folder, HTML page per language and CSV per table."""

    folder: Path
    html: dict[str, Path]
    csv: dict[str, Path]


def format_cell(value: Any, column: str = "") -> str:
    """A table cell as printed: thousands separators, shares as %, blanks for missing."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "✓" if value else "✗"
    if column in _PLAIN and isinstance(value, int | float) and not math.isnan(value):
        return str(int(value))
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        if math.isinf(value):
            return "∞"
        if column in ("share", "take_up", "loss_ratio", "actual_loss_ratio", "lgd",
                      "top10_share") or column.endswith("_share") or column.startswith("ltv") \
                or "probability" in column:
            return f"{value:.2%}"
        if abs(value) >= 1000:
            return f"{value:,.0f}"
        if value == int(value) and abs(value) < 1e6:
            return f"{int(value):,}"
        return f"{value:.3f}"
    return str(value)


def _rows(table: ReportTable, lang: str) -> tuple[list[str], list[list[str]], bool]:
    """Column names, printed cells and whether rows were left out (the CSV has them all).

    A column ending in `_en` or `_zh` is printed only on the page of its language.
    """
    other = "_zh" if lang == "en" else "_en"
    frame = table.frame[[c for c in table.frame.columns
                         if not str(c).endswith(other) and c not in table.hidden]]
    shown = frame.head(table.shown_rows)
    # An item/value table formats each value by its item's name (shares, amounts, ...).
    keyed = list(frame.columns) == ["item", "value"]
    cells = [
        [format_cell(v.item() if hasattr(v, "item") else v,
                     str(row[0]) if keyed and c == "value" else str(c))
         for c, v in zip(frame.columns, row, strict=True)]
        for row in shown.itertuples(index=False, name=None)
    ]
    return [str(c) for c in frame.columns], cells, len(frame) > table.shown_rows


def render_html(
    report: Report,
    lang: str,
    csv_link: Callable[[str], str] | None = None,
    lang_link: Callable[[str], str] | None = None,
) -> str:
    """The report as one self-contained HTML page in `lang` (charts inline, no network).

    Each chart and long table links its CSV: `<table>.csv` beside the page by default, or
    `csv_link(table)` (the API links the same report's CSV download). The footer links the page
    in the other language: `report.<lang>.html` beside it by default, or `lang_link(lang)`.
    """
    if lang not in LANGS:
        raise ValueError(f"lang must be one of {LANGS}, got {lang!r}")
    report.check_charts()
    link = csv_link or (lambda name: f"{name}.csv")
    sections = []
    for s in report.sections:
        printed = s.printed if s.printed is not None else [t.name for t in s.tables]
        tables = []
        for t in s.tables:
            if t.name not in printed:
                continue
            cols, cells, cut = _rows(t, lang)
            heads = [COLUMN_LABELS.get(c, (c, c))[0 if lang == "en" else 1] for c in cols]
            tables.append({"name": t.name, "title": t.title.get(lang), "heads": heads,
                           "cells": cells, "cut": cut, "rows": len(t.frame),
                           "shown": t.shown_rows, "href": link(t.name)})
        charts = [{"table": c.table, "title": c.title.get(lang), "svg": c.draw(lang),
                   "href": link(c.table)} for c in s.charts]
        sections.append({"key": s.key, "title": s.title.get(lang),
                         "paragraphs": [p.get(lang) for p in s.paragraphs],
                         "tables": tables, "charts": charts})
    other = "zh" if lang == "en" else "en"
    template = _TEMPLATES.get_template("report.html.j2")
    return template.render(
        lang=lang, title=report.title.get(lang), subtitle=report.subtitle.get(lang),
        cover=[(c.label.get(lang), c.value) for c in report.cover],
        sections=sections, other_lang=other,
        other_href=lang_link(other) if lang_link else f"report.{other}.html",
        csv_label="CSV" if lang == "en" else "数据表 CSV",
        rows_note=("first {shown} of {rows} rows; all in" if lang == "en"
                   else "仅显示前{shown}行（共{rows}行），全部数据见"),
    )


def table_csv(table: ReportTable) -> str:
    """A table as CSV text (UTF-8 with a header line)."""
    return table.frame.to_csv(index=False, lineterminator="\n")


def write_report(report: Report, out_dir: Path, langs: tuple[str, ...] = LANGS) -> WrittenReport:
    """Write `report.<lang>.html` and one CSV per table into `out_dir/<report folder>/`."""
    folder = Path(out_dir) / report.folder
    folder.mkdir(parents=True, exist_ok=True)
    csv = {}
    for t in report.tables():
        path = folder / f"{t.name}.csv"
        # utf-8-sig so that spreadsheet programs read the Chinese text correctly.
        path.write_text(table_csv(t), encoding="utf-8-sig")
        csv[t.name] = path
    html = {}
    for lang in langs:
        path = folder / f"report.{lang}.html"
        path.write_text(render_html(report, lang), encoding="utf-8")
        html[lang] = path
    return WrittenReport(folder=folder, html=html, csv=csv)


def report_zip(report: Report, langs: tuple[str, ...] = LANGS) -> bytes:
    """The report's HTML pages and CSV tables in one zip archive, under its folder name."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for lang in langs:
            zf.writestr(f"{report.folder}/report.{lang}.html", render_html(report, lang))
        for t in report.tables():
            zf.writestr(f"{report.folder}/{t.name}.csv", "\ufeff" + table_csv(t))
    return buf.getvalue()


def frame_or_empty(frame: pd.DataFrame | None, columns: list[str]) -> pd.DataFrame:
    """`frame`, or an empty frame with `columns` when there is nothing to show."""
    return frame if frame is not None and len(frame.columns) else pd.DataFrame(columns=columns)
