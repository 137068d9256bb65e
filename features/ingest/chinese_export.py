"""Chinese patent list exports (CSV or XLSX, Chinese headers) -> patents, owners and events.

Tables written: patents, patent_cpc, assignees, legal_events.

Commercial Chinese patent databases export result lists with one row per patent and headers in
Chinese that differ a little between vendors. `HEADER_ALIASES` maps every known spelling (compared
after NFKC normalisation, so full-width brackets equal half-width ones, and with spaces removed)
to a field; the first alias present wins, in the order listed. The header row is the first of the
first ten rows naming at least two known fields (exports often start with a title line).

Encodings: UTF-8 with BOM, UTF-8, then GB18030 (a superset of GBK and GB2312) are tried in that
order on CSV files; XLSX files are read row by row with openpyxl's read-only mode.

Mapping:
- patent_id: 授权公告号 (grant number) if present, else 公开(公告)号 / 公开号, else CN + 申请号;
  spaces and dots removed, `CN` prefixed (`CN112233445B`).
- patent_type: 发明 / 发明专利 / 发明授权 / 发明申请 -> invention; 实用新型 -> utility_model;
  外观设计 -> design; anything else is rejected by the schema rule.
- owner (专利权人, else 申请人; the first of several separated by ; ；、): assignee id of a
  dataset owner with the same normalised name, else `N:<normalised name>`; kind: names with
  大学, 学院, 研究院, 研究所 or 研究中心 -> university; 集团 or 股份有限公司 -> large_firm;
  other firm words (公司, 厂, 企业, 合作社) -> sme; a name of two to four Chinese characters with
  no firm word -> individual; otherwise sme (the exports mostly serve SME financing).
- 主分类号 (else the first IPC分类号) -> cpc_main as the IPC subclass (first four characters);
  every IPC分类号 -> a patent_cpc row.
- 法律状态 with a date (法律状态公告日 / 失效日): lapse wording (未缴年费, 年费终止, 专利权终止,
  权利终止, 失效) -> a `lapsed` event; 全部无效 -> `invalidated`. Without a date no event can be
  dated, so the row is counted and no event is made.
- 被引证次数 / 引证次数 are counts; the canonical citations table needs citing-cited pairs, so
  they are counted as present but not loaded.
"""

from __future__ import annotations

import csv
import re
import unicodedata
from collections.abc import Iterator
from pathlib import Path

import pandas as pd

from features.ingest.delimited import SourceFileError
from features.ingest.fields import cn_patent_id, iso_dates
from features.ingest.loading import Loader
from features.ingest.names import known_ids_by_name, match_ids

HEADER_ALIASES: dict[str, tuple[str, ...]] = {
    "application_number": ("申请号", "申请号码"),
    "filing_date": ("申请日", "申请日期"),
    "grant_number": ("授权公告号", "授权号", "公告号"),
    "publication_number": ("公开(公告)号", "公开号", "公布号"),
    "grant_date": ("授权公告日", "授权日", "授权日期", "公告日"),
    "patent_type": ("专利类型", "类型"),
    "owner": ("专利权人", "当前专利权人", "当前权利人", "申请(专利权)人", "申请人"),
    "ipc_main": ("主分类号", "IPC主分类号", "IPC主分类"),
    "ipc_all": ("IPC分类号", "IPC", "分类号"),
    "num_claims": ("权利要求数量", "权利要求数", "权利要求项数"),
    "legal_status": ("法律状态", "当前法律状态", "法律状态/事件"),
    "status_date": ("法律状态公告日", "法律状态日", "失效日"),
    "priority_date": ("优先权日", "最早优先权日"),
    "title": ("发明名称", "专利名称", "标题", "名称"),
    "inventors": ("发明人", "设计人"),
    "family_size": ("简单同族数量", "同族数量", "简单同族个数"),
    "cited_by_count": ("被引证次数", "被引用次数"),
    "cites_count": ("引证次数", "引用次数"),
}
PATENT_TYPES = {
    "发明": "invention", "发明专利": "invention", "发明授权": "invention", "发明申请": "invention",
    "实用新型": "utility_model", "实用新型专利": "utility_model",
    "外观设计": "design", "外观设计专利": "design", "外观": "design",
}
ENCODINGS = ("utf-8-sig", "gb18030")
_UNIVERSITY = re.compile(r"大学|学院|研究院|研究所|研究中心|UNIVERSITY|INSTITUTE", re.IGNORECASE)
_LARGE = re.compile(r"集团|股份有限公司")
_FIRM = re.compile(r"公司|厂|企业|合作社|CO\b|LTD|INC|LLC|CORP", re.IGNORECASE)
_PERSON = re.compile(r"^[\u4e00-\u9fff·]{2,4}$")
_LAPSE = re.compile(r"未缴年费|年费终止|专利权终止|权利终止|失效")
_SPLIT = re.compile(r"[;；、|]")
CHUNK_ROWS = 50_000


def _key(header: object) -> str:
    """Header text as compared with the aliases (NFKC, no spaces)."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", str(header or "")))


_ALIAS_FIELD = {_key(a): f for f, aliases in HEADER_ALIASES.items() for a in aliases}


def owner_kind(name: str | None) -> str:
    """Kind of owner from a Chinese (or romanised) owner name, by the documented heuristics."""
    # A missing name (None or pandas' NA, which has no truth value) reads as an empty one.
    text = name.strip() if isinstance(name, str) else ""
    if _UNIVERSITY.search(text):
        return "university"
    if _LARGE.search(text):
        return "large_firm"
    if _FIRM.search(text):
        return "sme"
    return "individual" if _PERSON.match(text) else "sme"


def load(paths: list[Path], loader: Loader) -> None:
    """Map Chinese patent list exports into canonical tables via `loader`."""
    known = known_ids_by_name(loader.existing("assignees", ["assignee_id", "name"]))
    seen: set[str] = set(known.values())
    for path in paths:
        rows = _xlsx_rows(path) if path.suffix.lower() in (".xlsx", ".xlsm") else _csv_rows(path)
        header_line, columns = _find_header(path, rows)
        for field in ("cited_by_count", "cites_count"):
            if field in columns.values():
                loader.note(f"column for {field} present but not loadable (counts, not pairs)")
        chunk: list[list[object]] = []
        start = header_line + 1
        line = header_line
        for line, values in rows:
            chunk.append(values)
            if len(chunk) == CHUNK_ROWS:
                _chunk(path.name, start, chunk, columns, loader, known, seen)
                chunk, start = [], line + 1
        if chunk:
            _chunk(path.name, start, chunk, columns, loader, known, seen)


def _csv_rows(path: Path) -> Iterator[tuple[int, list[object]]]:
    """(line, values) of a CSV export, decoding UTF-8 (with or without BOM) or GB18030/GBK."""
    raw = path.open("rb")
    head = raw.read(1 << 16)
    raw.close()
    encoding = None
    for enc in ENCODINGS:
        try:
            head.decode(enc)
        except UnicodeDecodeError as exc:
            if enc == "utf-8-sig" and exc.start >= len(head) - 3:
                encoding = enc  # a multibyte character cut at the sample's end
                break
            continue
        encoding = enc
        break
    if encoding is None:
        raise SourceFileError(path, 1, "text is neither UTF-8 nor GBK/GB18030")
    sample = head.decode(encoding, errors="ignore")
    delimiter = "\t" if sample.count("\t") > sample.count(",") else ","
    with path.open(encoding=encoding, newline="", errors="strict") as fh:
        try:
            for number, values in enumerate(csv.reader(fh, delimiter=delimiter), start=1):
                yield number, list(values)
        except UnicodeDecodeError as exc:
            raise SourceFileError(path, None, f"not valid {encoding} text: {exc.reason}") from None


def _xlsx_rows(path: Path) -> Iterator[tuple[int, list[object]]]:
    """(row number, values) of the first worksheet of an XLSX export, streamed."""
    from openpyxl import load_workbook

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 - openpyxl raises many types for a bad file
        raise SourceFileError(path, None, f"not a readable XLSX workbook: {exc}") from None
    try:
        sheet = book.worksheets[0]
        for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
            yield number, list(values)
    finally:
        book.close()


def _find_header(
    path: Path, rows: Iterator[tuple[int, list[object]]]
) -> tuple[int, dict[int, str]]:
    """Line of the header row and {column index: field} for the known headers on it."""
    for line, values in rows:
        columns: dict[int, str] = {}
        for i, value in enumerate(values):
            field = _ALIAS_FIELD.get(_key(value))
            if field and field not in columns.values():
                columns[i] = field
        if len(columns) >= 2:
            fields = set(columns.values())
            if not fields & {"grant_number", "publication_number", "application_number"}:
                raise SourceFileError(path, line, "header has no patent number column "
                                                  "(授权公告号, 公开(公告)号, 公开号 or 申请号)")
            return line, _prefer(values, columns)
        if line >= 10:
            break
    raise SourceFileError(path, None, "no header row with known Chinese column names in the "
                                      "first 10 rows (e.g. 申请号, 申请日, 专利类型)")


def _prefer(values: list[object], columns: dict[int, str]) -> dict[int, str]:
    """Keep, for each field, the column whose alias comes first in HEADER_ALIASES."""
    best: dict[str, tuple[int, int]] = {}
    for i, value in enumerate(values):
        field = _ALIAS_FIELD.get(_key(value))
        if not field:
            continue
        rank = [_key(a) for a in HEADER_ALIASES[field]].index(_key(value))
        if field not in best or rank < best[field][0]:
            best[field] = (rank, i)
    return {i: f for f, (_, i) in best.items()} or columns


def _chunk(file: str, start: int, rows: list[list[object]], columns: dict[int, str],
           loader: Loader, known: dict[str, str], seen: set[str]) -> None:
    loader.read(len(rows))
    data = {f: [r[i] if i < len(r) else None for r in rows] for i, f in columns.items()}
    frame = pd.DataFrame(data, dtype="object").map(
        lambda v: pd.NA if v is None or (isinstance(v, str) and not v.strip()) else v)
    frame["_file"] = file
    frame["_line"] = range(start, start + len(rows))
    frame = frame[frame.drop(columns=["_file", "_line"]).notna().any(axis=1)].copy()
    if frame.empty:
        return

    def col(name: str) -> pd.Series:
        """The export's column `name`, or an all-missing one when the file lacks it."""
        return frame[name] if name in frame.columns else pd.Series(None, frame.index, "object")

    number = col("grant_number").where(col("grant_number").notna(), col("publication_number"))
    number = number.where(number.notna(), col("application_number"))
    frame["patent_id"] = number.map(cn_patent_id).astype("string")
    ptype = col("patent_type").astype("string").str.strip()
    frame["patent_type"] = ptype.map(lambda t: PATENT_TYPES.get(t, t) if isinstance(t, str) else t)
    owner = col("owner").astype("string").map(
        lambda s: _SPLIT.split(s)[0].strip() if isinstance(s, str) and s.strip() else pd.NA)
    frame["owner"] = owner.astype("string")
    frame["assignee_id"] = match_ids(frame["owner"], known)
    ipc_all = [
        [p.strip().upper() for p in _SPLIT.split(v) if p.strip()] if isinstance(v, str) else []
        for v in col("ipc_all").astype("string").astype(object)
    ]
    main = col("ipc_main").astype("string").str.strip().str.upper()
    first = pd.Series([lst[0] if lst else pd.NA for lst in ipc_all], frame.index, "string")
    main = main.where(main.notna(), first)
    frame["cpc_main"] = main.str.replace(r"\s+", "", regex=True).str[:4]
    inventors = col("inventors").astype("string").map(
        lambda s: len([p for p in _SPLIT.split(s) if p.strip()]) if isinstance(s, str) else pd.NA)
    patents = pd.DataFrame({
        "_file": frame["_file"], "_line": frame["_line"], "patent_id": frame["patent_id"],
        "jurisdiction": "CN", "patent_type": frame["patent_type"],
        "filing_date": iso_dates(col("filing_date")), "priority_date": iso_dates(
            col("priority_date")), "grant_date": iso_dates(col("grant_date")),
        "num_claims": col("num_claims"), "family_size": col("family_size"),
        "num_inventors": inventors, "cpc_main": frame["cpc_main"],
        "assignee_id": frame["assignee_id"], "title": col("title"),
    })
    has_owner = frame["owner"].notna()
    owners = pd.DataFrame({
        "_file": frame["_file"], "_line": frame["_line"], "assignee_id": frame["assignee_id"],
        "name": frame["owner"], "kind": frame["owner"].map(owner_kind, na_action="ignore"),
        "region": "CN",
    })[has_owner & ~frame["assignee_id"].isin(list(seen))].drop_duplicates("assignee_id")
    seen.update(owners["assignee_id"].dropna())
    loader.add("assignees", owners)
    loader.add("patents", patents)
    cpc = [
        {"_file": f, "_line": ln, "patent_id": pid, "cpc_class": c[:4], "cpc_section": c[:1],
         "sequence": seq}
        for f, ln, pid, classes, m in zip(frame["_file"], frame["_line"], frame["patent_id"],
                                          ipc_all, frame["cpc_main"], strict=True)
        if isinstance(pid, str)
        for seq, c in enumerate(dict.fromkeys(
            ([m] if isinstance(m, str) else []) + [re.sub(r"\s+", "", x)[:4] for x in classes]))
    ]
    if cpc:
        loader.add("patent_cpc", pd.DataFrame(cpc))
    _status_events(frame, col("legal_status"), iso_dates(col("status_date")), loader)


def _status_events(frame: pd.DataFrame, status: pd.Series, when: pd.Series, loader: Loader) -> None:
    """Dated lapse and invalidation events from the export's legal status columns."""
    text = status.astype("string").fillna("")
    event = pd.Series(pd.NA, index=frame.index, dtype="string")
    event = event.mask(text.str.contains(_LAPSE), "lapsed")
    event = event.mask(text.str.contains("全部无效"), "invalidated")
    undated = event.notna() & when.isna()
    loader.note("legal status without a date (no event made)", int(undated.sum()))
    pick = event.notna() & when.notna() & frame["patent_id"].notna()
    if not pick.any():
        return
    events = pd.DataFrame({
        "_file": frame["_file"], "_line": frame["_line"], "patent_id": frame["patent_id"],
        "event_date": when, "event_type": event,
    })[pick]
    events["event_id"] = "CN-" + events["patent_id"] + "-" + events["event_type"] + "-" + \
        events["event_date"]
    loader.add("legal_events", events)
