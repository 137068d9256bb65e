"""The known-circumstances exclusion: declared disputes and suits filed before binding."""

from __future__ import annotations

import datetime as dt

from models.policy.circumstances import (
    CircumstanceKind,
    KnownCircumstance,
    ReferencedSuit,
    known_circumstance_denials,
    same_party,
)

BOUND = dt.date(2025, 3, 1)
LETTER = KnownCircumstance(kind=CircumstanceKind.WARNING_LETTER,
                           counterparty="Copycat Devices Ltd", patent_ids=("P1", "P2"),
                           date=dt.date(2025, 2, 10))


def _codes(declared: list[KnownCircumstance], counterparty: str | None, patents: list[str],
           suit: ReferencedSuit | None = None) -> list[str]:
    return [r.code for r in known_circumstance_denials(declared, BOUND, counterparty, patents,
                                                       suit)]


def test_claim_from_a_declared_warning_letter_is_excluded() -> None:
    """Same counterparty (case and spacing ignored) and one of the same patents: excluded."""
    reasons = known_circumstance_denials([LETTER], BOUND, "copycat  devices LTD", ["P2"], None)
    assert [r.code for r in reasons] == ["known_circumstance"]
    assert "2025-02-10" in reasons[0].message
    assert "警告函" in reasons[0].message_zh


def test_other_party_or_other_patent_is_covered() -> None:
    """A new infringer, or the same one on a patent the declaration did not name, is covered."""
    assert _codes([LETTER], "Another Maker", ["P1"]) == []
    assert _codes([LETTER], "Copycat Devices Ltd", ["P3"]) == []
    assert _codes([LETTER], None, ["P1"]) == []


def test_dispute_without_patents_covers_every_patent_with_that_party() -> None:
    """A declared dispute naming no patent excludes every claim against that party."""
    dispute = KnownCircumstance(kind=CircumstanceKind.DISPUTE, counterparty="Copycat Devices Ltd",
                                date=dt.date(2024, 12, 1))
    assert _codes([dispute], "Copycat Devices Ltd", ["P9"]) == ["known_circumstance"]


def test_suit_filed_before_binding_is_excluded_even_without_a_declaration() -> None:
    """The litigation data's filing date decides: before the binding day is excluded."""
    before = ReferencedSuit(case_id="C1", filed_date=dt.date(2025, 2, 28), patent_ids=("P1",))
    on_the_day = ReferencedSuit(case_id="C2", filed_date=BOUND, patent_ids=("P1",))
    assert _codes([], "X", ["P1"], before) == ["suit_before_binding"]
    assert _codes([], "X", ["P1"], on_the_day) == []
    assert _codes([LETTER], "Copycat Devices Ltd", ["P1"], before) == [
        "known_circumstance", "suit_before_binding"]


def test_party_names_compare_without_case_and_spacing() -> None:
    """Names match ignoring case and runs of spaces; an empty name never matches."""
    assert same_party(" Acme  Robotics ", "acme robotics")
    assert not same_party("", "")
    assert not same_party("Acme", None)
