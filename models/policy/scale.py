"""The master rating scale: grades from best (AAA) to default (D) and their order."""

from __future__ import annotations

from enum import StrEnum


class Grade(StrEnum):
    """A grade of the master scale; `rank` 0 is the best, D (default) the worst."""

    AAA = "AAA"
    AA = "AA"
    A = "A"
    BBB = "BBB"
    BB = "BB"
    B = "B"
    CCC = "CCC"
    CC = "CC"
    C = "C"
    D = "D"

    @property
    def rank(self) -> int:
        """Position on the master scale: 0 for AAA up to 9 for D."""
        return MASTER_SCALE.index(self)


MASTER_SCALE: tuple[Grade, ...] = tuple(Grade)


class Decision(StrEnum):
    """What happens to a request: accept it, refer it to an underwriter, or decline it."""

    ACCEPT = "accept"
    REFER = "refer"
    DECLINE = "decline"
