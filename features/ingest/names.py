"""Matching party and owner names across sources by a normalised form of the name.

Normalisation (documented in docs/ingest.md):
1. Unicode NFKC and case-folding to upper case (`Acme, Inc.` and `ACME INC` compare equal).
2. `&` becomes `AND`; every other punctuation mark becomes a space; spaces are collapsed; runs
   of single letters are joined (`L.L.C.` -> `LLC`, `I.B.M.` -> `IBM`).
3. Trailing corporate-form words are dropped repeatedly: INC, INCORPORATED, CORP, CORPORATION,
   CO, COMPANY, LTD, LIMITED, LLC, LLP, LP, PLC, AG, GMBH, SA, SAS, NV, BV, KK, AB, OY, SPA, SRL,
   PTY, PLLC, and `CO LTD` (so `SAMSUNG ELECTRONICS CO., LTD.` matches `Samsung Electronics`).
   A leading `THE` is dropped too.
4. Chinese names: full-width punctuation and the company forms 有限公司, 股份有限公司 and
   有限责任公司 are dropped.

Two names match when their normalised forms are equal; no fuzzy matching, so a match is never a
guess. A party without a match keeps a stable id derived from its normalised name (`N:<name>`),
so the same firm gets the same id in every case and assignment record.
"""

from __future__ import annotations

import re
import unicodedata

import pandas as pd

CORPORATE_SUFFIXES = (
    "INCORPORATED", "INC", "CORPORATION", "CORP", "COMPANY", "CO", "LIMITED", "LTD", "LLC", "LLP",
    "LP", "PLC", "AG", "GMBH", "SA", "SAS", "NV", "BV", "KK", "AB", "OY", "SPA", "SRL", "PTY",
    "PLLC",
)
CHINESE_SUFFIXES = ("股份有限公司", "有限责任公司", "有限公司")
_PUNCT = re.compile(r"[^\w\s]", flags=re.UNICODE)
_SPACES = re.compile(r"\s+")
_LETTER_RUN = re.compile(r"\b([A-Z])\s(?=[A-Z]\b)")
_SUFFIX = re.compile(r"(?:\s(?:" + "|".join(CORPORATE_SUFFIXES) + r"))+$")


def normalise_name(name: object) -> str | None:
    """Normalised form of a party or owner name for exact matching, or None when empty."""
    if name is None or name is pd.NA or (isinstance(name, float) and pd.isna(name)):
        return None
    text = unicodedata.normalize("NFKC", str(name)).upper().replace("&", " AND ")
    text = _SPACES.sub(" ", _PUNCT.sub(" ", text)).strip()
    text = _LETTER_RUN.sub(r"\1", text)
    for suffix in CHINESE_SUFFIXES:
        if text.endswith(suffix) and len(text) > len(suffix):
            text = text[: -len(suffix)].strip()
            break
    text = _SUFFIX.sub("", " " + text).strip() if " " in text else text
    if text.startswith("THE "):
        text = text[4:]
    return text or None


def name_id(name: object) -> str | None:
    """Stable owner id for a name that matched no known owner: `N:` + the normalised name."""
    norm = normalise_name(name)
    return f"N:{norm}" if norm else None


def match_ids(names: pd.Series, known: dict[str, str]) -> pd.Series:
    """Owner ids for `names`: the known id where the normalised name matches, else `name_id`."""
    out = []
    for value in names:
        norm = normalise_name(value)
        out.append(known.get(norm, f"N:{norm}") if norm else None)
    return pd.Series(out, index=names.index, dtype="string")


def known_ids_by_name(owners: pd.DataFrame | None) -> dict[str, str]:
    """Map each normalised owner name to its assignee id (first id wins for a shared name)."""
    known: dict[str, str] = {}
    if owners is None:
        return known
    for aid, name in zip(owners["assignee_id"], owners["name"], strict=True):
        norm = normalise_name(name)
        if norm:
            known.setdefault(norm, str(aid))
    return known
