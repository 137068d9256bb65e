"""Right censoring of claim costs: per filing-year cohort, how many cases had closed by data end.

Severity learns from closed cases only. In the newest cohorts only the fast cases have closed, and
fast cases are the cheap ones, so a naive cohort's mean cost falls towards the data's end. The
table shows, per filing year, the share closed and the mean cost of the closed cases, and which
cohorts the severity labels keep (those that had time to close).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import duckdb

from features.pipelines.relations import TableRelations


@dataclass(frozen=True)
class Cohort:
    """One filing year: cases filed and closed by data end, mean cost, kept for training or not."""

    year: int
    filed: int
    closed: int
    mean_years_to_close: float | None
    mean_enforcement_cost: float | None
    mean_liability_cost: float | None
    kept: str  # all | part | none: how much of the cohort the severity labels keep

    @property
    def share_closed(self) -> float:
        """Closed cases over filed cases."""
        return self.closed / self.filed if self.filed else 0.0


def cohorts(con: duckdb.DuckDBPyConnection, end_date: date, last_kept_filing: date | None
            ) -> list[Cohort]:
    """Cohort table of the cases; `last_kept_filing` is the newest filing date severity keeps."""
    src = TableRelations.from_connection(con)
    end = f"DATE '{end_date.isoformat()}'"
    rows = con.execute(src.render(f"""
        WITH k AS (
          SELECT case_id, min(filed_date) AS filed, max(closed_date) AS closed,
                 max(plaintiff_legal_cost) AS plc,
                 max(damages) AS dmg, max(defendant_legal_cost) AS dlc
          FROM {{cases}} GROUP BY case_id
        )
        SELECT year(filed) AS y, count(*) AS filed,
               count(*) FILTER (WHERE closed IS NOT NULL AND closed <= {end}) AS closed,
               avg(datediff('day', filed, closed) / 365.25)
                 FILTER (WHERE closed IS NOT NULL AND closed <= {end}) AS years,
               avg(plc) FILTER (WHERE closed IS NOT NULL AND closed <= {end}) AS enf,
               avg(coalesce(dmg, 0) + coalesce(dlc, 0))
                 FILTER (WHERE closed IS NOT NULL AND closed <= {end}
                         AND (dmg IS NOT NULL OR dlc IS NOT NULL)) AS lia,
               max(filed) AS last_filed
        FROM k WHERE filed IS NOT NULL AND filed <= {end} GROUP BY ALL ORDER BY y""")).fetchall()
    out = []
    for y, filed, closed, years, enf, lia, _last in rows:
        if last_kept_filing is None or date(int(y), 12, 31) <= last_kept_filing:
            kept = "all"
        else:
            kept = "part" if date(int(y), 1, 1) <= last_kept_filing else "none"
        out.append(Cohort(int(y), int(filed), int(closed),
                          None if years is None else float(years),
                          None if enf is None else float(enf),
                          None if lia is None else float(lia), kept))
    return out
