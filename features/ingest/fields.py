"""Normalising source values into canonical ones: patent numbers and dates.

Canonical patent ids are the office code followed by the number as the office prints it, without
separators or leading zeros: `US10000001`, `USD876543`, `USRE49123`, `USPP31234`, `CN112233445B`.
"""

from __future__ import annotations

import re

import pandas as pd

_US_NUMBER = re.compile(r"^(?P<prefix>D|RE|PP|H|T|X|AI)?0*(?P<digits>\d+)$")
_CN_SEPARATORS = re.compile(r"[\s.,\-]")
_DATE_DIGITS = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_DATE_PARTS = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$")


def us_patent_id(raw: object) -> str | None:
    """Canonical id of a US grant number (`7123456`, `07123456`, `D0456789`, `RE12345`), or None."""
    if raw is None or (isinstance(raw, float) and pd.isna(raw)) or raw is pd.NA:
        return None
    text = str(raw).strip().upper().replace(",", "").replace(" ", "")
    if text.startswith("US"):
        text = text[2:]
    match = _US_NUMBER.match(text)
    if not match:
        return None
    return f"US{match.group('prefix') or ''}{int(match.group('digits'))}"


def us_patent_ids(values: pd.Series) -> pd.Series:
    """Vectorised `us_patent_id` for a column; unparseable numbers become <NA>."""
    text = values.astype("string").str.strip().str.upper().str.replace(r"[,\s]", "", regex=True)
    text = text.str.replace(r"^US", "", regex=True)
    parts = text.str.extract(r"^(?P<prefix>D|RE|PP|H|T|X|AI)?0*(?P<digits>\d+)$")
    digits = parts["digits"].str.lstrip("0").replace("", "0")
    out = "US" + parts["prefix"].fillna("") + digits
    return out.where(parts["digits"].notna()).astype("string")


def cn_patent_id(raw: object) -> str | None:
    """Canonical id of a Chinese publication or application number (`CN 112233445 B`), or None."""
    if raw is None or (isinstance(raw, float) and pd.isna(raw)) or raw is pd.NA:
        return None
    text = _CN_SEPARATORS.sub("", str(raw).strip().upper())
    if not text:
        return None
    return text if text.startswith("CN") else f"CN{text}"


def iso_dates(values: pd.Series) -> pd.Series:
    """Dates written as `2019-03-05`, `2019/3/5`, `2019.03.05`, `20190305` or `2019年3月5日` as ISO.

    Values that are not dates are passed through unchanged, so that `check_rows` rejects them with
    the rule `must be of type date` instead of silently treating them as missing.
    """

    def one(value: object) -> object:
        if value is None or value is pd.NA or (isinstance(value, float) and pd.isna(value)):
            return pd.NA
        if isinstance(value, pd.Timestamp):
            return value.strftime("%Y-%m-%d")
        if hasattr(value, "isoformat") and not isinstance(value, str):
            return value.isoformat()[:10]
        text = str(value).strip()
        if not text or text in {"0", "00000000", "-", "--"}:
            return pd.NA
        text = text.split(" ")[0] if len(text) > 10 and text[10:11] in {" ", "T"} else text
        digits = _DATE_DIGITS.match(text)
        if digits:
            return f"{digits.group(1)}-{digits.group(2)}-{digits.group(3)}"
        parts = _DATE_PARTS.match(text)
        if parts:
            return f"{parts.group(1)}-{int(parts.group(2)):02d}-{int(parts.group(3)):02d}"
        return text

    return values.map(one).astype("string")
