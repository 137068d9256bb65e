"""The canonical patentrisk schema: every data source is mapped into these tables.

Each table is declared once as a `Table` of `Column`s with its key, foreign keys and date-order
rules. Validation (`check_rows`, `validate_table`) and Parquet storage (`features.store`) are
derived from these declarations, and `docs/schema.md` documents them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
import pyarrow as pa

ColumnKind = Literal["string", "date", "int", "float", "bool"]

PATENT_TYPES_BY_JURISDICTION: dict[str, tuple[str, ...]] = {
    "CN": ("invention", "utility_model", "design"),
    "US": ("utility", "design"),
}
ASSIGNEE_KINDS = ("large_firm", "sme", "university", "individual", "npe")
EVENT_TYPES = (
    "renewal_paid",
    "lapsed",
    "transferred",
    "licensed",
    "pledged",
    "pledge_released",
    "invalidation_requested",
    "invalidated",
    "upheld",
)
CASE_OUTCOMES = ("settled", "plaintiff_won", "defendant_won", "dismissed", "invalidated")
LOAN_OUTCOMES = ("repaid", "defaulted", "open")
TRANSACTION_KINDS = ("sale", "licence")


@dataclass(frozen=True)
class Column:
    """One column of a canonical table: its type, nullability and allowed values."""

    name: str
    kind: ColumnKind
    description: str
    required: bool = True
    allowed: tuple[str, ...] | None = None
    minimum: float | None = None
    maximum: float | None = None


@dataclass(frozen=True)
class ForeignKey:
    """A column whose values must exist in another table's column."""

    column: str
    table: str
    target: str
    strict: bool = True  # False: real data may cite records outside the dataset


@dataclass(frozen=True)
class Table:
    """A canonical table: columns, primary key, foreign keys and date-order rules."""

    name: str
    description: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    foreign_keys: tuple[ForeignKey, ...] = ()
    date_order: tuple[tuple[str, str], ...] = ()  # (earlier, later): later >= earlier if both set
    synthetic_only: bool = False
    optional: bool = False

    @property
    def column_names(self) -> list[str]:
        """Names of the table's columns in declared order."""
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column:
        """The column called `name`."""
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(f"table {self.name} has no column {name!r}")


class SchemaError(ValueError):
    """A table breaks a schema rule; names the table, column and rule."""

    def __init__(self, table: str, column: str | None, rule: str, detail: str = "") -> None:
        self.table = table
        self.column = column
        self.rule = rule
        self.detail = detail
        where = f"{table}.{column}" if column else table
        super().__init__(f"{where}: {rule}" + (f" ({detail})" if detail else ""))


_S: ColumnKind = "string"
_D: ColumnKind = "date"
_I: ColumnKind = "int"
_F: ColumnKind = "float"
_B: ColumnKind = "bool"
_MONEY = "Amount in the table's `currency`."

TABLES: tuple[Table, ...] = (
    Table(
        name="patents",
        description="Granted (or filed) patents, one row per patent.",
        key=("patent_id",),
        columns=(
            Column("patent_id", _S, "Publication/grant number, e.g. US10000001 or CN112233445B."),
            Column("jurisdiction", _S, "Issuing office.", allowed=("CN", "US")),
            Column(
                "patent_type",
                _S,
                "CN: invention, utility_model, design; US: utility, design.",
                allowed=("invention", "utility_model", "design", "utility"),
            ),
            Column("filing_date", _D, "Application filing date."),
            Column("priority_date", _D, "Earliest priority date.", required=False),
            Column("grant_date", _D, "Grant date; empty for applications not granted.", False),
            Column("expiry_date", _D, "End of the statutory term.", required=False),
            Column("num_claims", _I, "Number of claims.", required=False, minimum=0),
            Column("num_independent_claims", _I, "Independent claims.", False, minimum=0),
            Column("first_claim_words", _I, "Words in the first claim.", False, minimum=0),
            Column("family_size", _I, "Members of the simple patent family.", False, minimum=1),
            Column("num_inventors", _I, "Number of inventors.", required=False, minimum=0),
            Column("cpc_main", _S, "Main CPC/IPC subclass, e.g. H04L.", required=False),
            Column("assignee_id", _S, "Owner at grant.", required=False),
            Column("title", _S, "Title of the invention.", required=False),
        ),
        foreign_keys=(ForeignKey("assignee_id", "assignees", "assignee_id"),),
        date_order=(
            ("priority_date", "filing_date"),
            ("filing_date", "grant_date"),
            ("filing_date", "expiry_date"),
        ),
    ),
    Table(
        name="patent_cpc",
        description="Every CPC/IPC subclass of a patent (the main one has sequence 0).",
        key=("patent_id", "cpc_class"),
        columns=(
            Column("patent_id", _S, "Patent."),
            Column("cpc_class", _S, "CPC/IPC subclass, e.g. H04L."),
            Column("cpc_section", _S, "CPC section letter A-H or Y.", allowed=tuple("ABCDEFGHY")),
            Column("sequence", _I, "Order on the patent; 0 is the main class.", minimum=0),
        ),
        foreign_keys=(ForeignKey("patent_id", "patents", "patent_id"),),
    ),
    Table(
        name="assignees",
        description="Patent owners, firms and people that sue, are sued or borrow.",
        key=("assignee_id",),
        columns=(
            Column("assignee_id", _S, "Owner id."),
            Column("name", _S, "Name as recorded."),
            Column("kind", _S, "Kind of owner.", allowed=ASSIGNEE_KINDS),
            Column("industry", _S, "Industry of a firm.", required=False),
            Column("region", _S, "Region or country.", required=False),
            Column("founded_year", _I, "Year founded.", False, minimum=1800, maximum=2100),
        ),
    ),
    Table(
        name="firm_financials",
        description="Yearly financial statements of firms.",
        key=("assignee_id", "year"),
        columns=(
            Column("assignee_id", _S, "Firm."),
            Column("year", _I, "Fiscal year; known from 1 April of the next year.", minimum=1900),
            Column("revenue", _F, _MONEY, minimum=0),
            Column("total_assets", _F, _MONEY, minimum=0),
            Column("debt", _F, _MONEY, minimum=0),
            Column("net_income", _F, _MONEY),
            Column("currency", _S, "ISO 4217 currency code."),
        ),
        foreign_keys=(ForeignKey("assignee_id", "assignees", "assignee_id"),),
        optional=True,
    ),
    Table(
        name="firm_technology",
        description="Product technology areas a firm practises (CPC subclasses with weights).",
        key=("assignee_id", "cpc_class"),
        columns=(
            Column("assignee_id", _S, "Firm."),
            Column("cpc_class", _S, "CPC subclass of its products."),
            Column("weight", _F, "Share of the firm's products in the class.", minimum=0),
        ),
        foreign_keys=(ForeignKey("assignee_id", "assignees", "assignee_id"),),
        optional=True,
    ),
    Table(
        name="citations",
        description="Patent-to-patent citations; known from the citing patent's grant date.",
        key=("citing_patent_id", "cited_patent_id"),
        columns=(
            Column("citing_patent_id", _S, "Citing patent."),
            Column("cited_patent_id", _S, "Cited patent."),
            Column("citation_date", _D, "Date the citation became known (citing grant date)."),
            Column("by_examiner", _B, "Added by the examiner rather than the applicant."),
        ),
        foreign_keys=(
            ForeignKey("citing_patent_id", "patents", "patent_id"),
            ForeignKey("cited_patent_id", "patents", "patent_id", strict=False),
        ),
    ),
    Table(
        name="legal_events",
        description="Dated legal-status events on a patent.",
        key=("event_id",),
        columns=(
            Column("event_id", _S, "Event id."),
            Column("patent_id", _S, "Patent."),
            Column("event_date", _D, "Date recorded."),
            Column("event_type", _S, "What happened.", allowed=EVENT_TYPES),
            Column("counterparty_id", _S, "Assignee, licensee, pledgee or requester.", False),
        ),
        foreign_keys=(
            ForeignKey("patent_id", "patents", "patent_id"),
            ForeignKey("counterparty_id", "assignees", "assignee_id", strict=False),
        ),
    ),
    Table(
        name="cases",
        description="Patent litigation: one row per case and patent in suit.",
        key=("case_id", "patent_id"),
        columns=(
            Column("case_id", _S, "Case id."),
            Column("patent_id", _S, "Patent in suit."),
            Column("filed_date", _D, "Date the case was filed."),
            Column("plaintiff_id", _S, "Plaintiff (assignee id).", required=False),
            Column("defendant_id", _S, "Defendant (assignee id).", required=False),
            Column("venue", _S, "Court or venue.", required=False),
            Column("outcome", _S, "Outcome; empty while open.", False, allowed=CASE_OUTCOMES),
            Column("closed_date", _D, "Date closed.", required=False),
            Column("damages", _F, _MONEY, required=False, minimum=0),
            Column("plaintiff_legal_cost", _F, _MONEY, required=False, minimum=0),
            Column("defendant_legal_cost", _F, _MONEY, required=False, minimum=0),
            Column("currency", _S, "ISO 4217 currency code.", required=False),
        ),
        foreign_keys=(
            ForeignKey("patent_id", "patents", "patent_id", strict=False),
            ForeignKey("plaintiff_id", "assignees", "assignee_id", strict=False),
            ForeignKey("defendant_id", "assignees", "assignee_id", strict=False),
        ),
        date_order=(("filed_date", "closed_date"),),
    ),
    Table(
        name="loans",
        description="Patent-pledge loans.",
        key=("loan_id",),
        columns=(
            Column("loan_id", _S, "Loan id."),
            Column("borrower_id", _S, "Borrowing firm."),
            Column("lender", _S, "Lending bank."),
            Column("start_date", _D, "Drawdown date."),
            Column("term_months", _I, "Term in months.", minimum=1, maximum=120),
            Column("amount", _F, _MONEY, minimum=0),
            Column("appraised_value", _F, "Appraised value of the pledged portfolio.", False,
                   minimum=0),
            Column("currency", _S, "ISO 4217 currency code."),
            Column("outcome", _S, "Outcome so far.", allowed=LOAN_OUTCOMES),
            Column("default_date", _D, "Date of default.", required=False),
            Column("recovery", _F, "Amount recovered after default.", False, minimum=0),
        ),
        foreign_keys=(ForeignKey("borrower_id", "assignees", "assignee_id"),),
        date_order=(("start_date", "default_date"),),
        optional=True,
    ),
    Table(
        name="loan_patents",
        description="Patents pledged for each loan.",
        key=("loan_id", "patent_id"),
        columns=(Column("loan_id", _S, "Loan."), Column("patent_id", _S, "Pledged patent.")),
        foreign_keys=(
            ForeignKey("loan_id", "loans", "loan_id"),
            ForeignKey("patent_id", "patents", "patent_id"),
        ),
        optional=True,
    ),
    Table(
        name="transactions",
        description="Observed sales and licences revealing a patent's value.",
        key=("transaction_id",),
        columns=(
            Column("transaction_id", _S, "Transaction id."),
            Column("patent_id", _S, "Patent."),
            Column("date", _D, "Transaction date."),
            Column("price", _F, _MONEY, minimum=0),
            Column("currency", _S, "ISO 4217 currency code."),
            Column("kind", _S, "Sale or licence-equivalent value.", allowed=TRANSACTION_KINDS),
        ),
        foreign_keys=(ForeignKey("patent_id", "patents", "patent_id"),),
        optional=True,
    ),
    # Ground truth of the synthetic world. Only evaluation reads these; never features.
    Table(
        name="truth_patent_year",
        description="Probability the world used that a patent is sued during a calendar year.",
        key=("patent_id", "year"),
        columns=(
            Column("patent_id", _S, "Patent."),
            Column("year", _I, "Calendar year."),
            Column("p_litigation", _F, "P(sued at least once in the year).", minimum=0, maximum=1),
        ),
        synthetic_only=True,
        optional=True,
    ),
    Table(
        name="truth_firm_year",
        description="Probability the world used that a firm is sued during a calendar year.",
        key=("assignee_id", "year"),
        columns=(
            Column("assignee_id", _S, "Firm."),
            Column("year", _I, "Calendar year."),
            Column("p_sued", _F, "P(sued as defendant at least once in the year).",
                   minimum=0, maximum=1),
        ),
        synthetic_only=True,
        optional=True,
    ),
    Table(
        name="truth_loans",
        description="Probability the world used that a loan defaults within its term.",
        key=("loan_id",),
        columns=(
            Column("loan_id", _S, "Loan."),
            Column("p_default", _F, "P(default within term).", minimum=0, maximum=1),
        ),
        synthetic_only=True,
        optional=True,
    ),
    Table(
        name="truth_value",
        description="Latent value of each patent at grant in the synthetic world.",
        key=("patent_id",),
        columns=(
            Column("patent_id", _S, "Patent."),
            Column("value", _F, "Latent value at grant.", minimum=0),
            Column("currency", _S, "ISO 4217 currency code."),
        ),
        synthetic_only=True,
        optional=True,
    ),
)

TABLES_BY_NAME: dict[str, Table] = {t.name: t for t in TABLES}


def table(name: str) -> Table:
    """The canonical table called `name`."""
    try:
        return TABLES_BY_NAME[name]
    except KeyError:
        raise SchemaError(name, None, "unknown table", f"known: {sorted(TABLES_BY_NAME)}") from None


_ARROW_TYPES: dict[str, pa.DataType] = {
    "string": pa.string(),
    "date": pa.date32(),
    "int": pa.int64(),
    "float": pa.float64(),
    "bool": pa.bool_(),
}


def arrow_schema(tbl: Table) -> pa.Schema:
    """The Parquet (Arrow) schema of a canonical table."""
    return pa.schema(
        [pa.field(c.name, _ARROW_TYPES[c.kind], nullable=not c.required) for c in tbl.columns]
    )


def _coerce(tbl: Table, col: Column, series: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Cast one column to its canonical dtype; return (values, mask of cells that failed)."""
    was_null = series.isna()
    out: pd.Series
    if col.kind == "string":
        stripped = series.astype("string").str.strip()
        out = stripped.mask((stripped == "").fillna(False))
    elif col.kind == "date":
        out = pd.to_datetime(series, errors="coerce").astype("datetime64[ms]")
    elif col.kind == "int":
        num = pd.to_numeric(series, errors="coerce")
        bad_frac = num.notna() & (num != np.floor(num.fillna(0)))
        num = num.mask(bad_frac)
        out = num.astype("Int64")
    elif col.kind == "float":
        out = pd.to_numeric(series, errors="coerce").astype("Float64")
    else:
        if series.dtype == bool or str(series.dtype) == "boolean":
            out = series.astype("boolean")
        else:
            mapped = series.map(
                lambda v: {"true": True, "false": False, "1": True, "0": False}.get(
                    str(v).strip().lower(), pd.NA
                )
                if not pd.isna(v)
                else pd.NA
            )
            out = mapped.astype("boolean")
    failed = out.isna() & ~was_null
    return out, failed


def check_rows(tbl: Table, df: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split `df` into rows that satisfy the table's row rules and rejects with their rule.

    Rules checked per row: required columns present, types, non-null, allowed values, ranges,
    jurisdiction/type pairs, date order, and unique key (later duplicates are rejected). Returns
    `(valid, rejects)`; `rejects` keeps the original columns plus `rule` and `column`. Raises
    `SchemaError` when a required column is missing altogether.
    """
    missing = [c.name for c in tbl.columns if c.required and c.name not in df.columns]
    if missing:
        raise SchemaError(tbl.name, missing[0], "required column is missing")
    work = pd.DataFrame(index=df.index)
    reason = pd.Series(pd.NA, index=df.index, dtype="string")
    where = pd.Series(pd.NA, index=df.index, dtype="string")

    def flag(mask: pd.Series, column: str, rule: str) -> None:
        mask = mask.fillna(False).astype(bool) & reason.isna()
        reason[mask] = rule
        where[mask] = column

    for col in tbl.columns:
        if col.name not in df.columns:
            work[col.name] = pd.Series(pd.NA, index=df.index, dtype="object")
            work[col.name], _ = _coerce(tbl, col, work[col.name])
            continue
        values, failed = _coerce(tbl, col, df[col.name])
        work[col.name] = values
        flag(failed, col.name, f"must be of type {col.kind}")
        if col.required:
            flag(values.isna(), col.name, "must not be empty")
        if col.allowed is not None:
            flag(values.notna() & ~values.isin(col.allowed), col.name,
                 f"must be one of {', '.join(col.allowed)}")
        if col.minimum is not None:
            flag(values.notna() & (values < col.minimum), col.name, f"must be >= {col.minimum:g}")
        if col.maximum is not None:
            flag(values.notna() & (values > col.maximum), col.name, f"must be <= {col.maximum:g}")
    if tbl.name == "patents":
        ok_pair = pd.Series(False, index=df.index)
        for jur, types in PATENT_TYPES_BY_JURISDICTION.items():
            ok_pair |= (work["jurisdiction"] == jur) & work["patent_type"].isin(types)
        flag(~ok_pair, "patent_type", "must be a patent type of its jurisdiction")
    for earlier, later in tbl.date_order:
        flag(work[later] < work[earlier], later, f"must be on or after {earlier}")
    clean = reason.isna()
    dup = clean & work[clean].duplicated(subset=list(tbl.key), keep="first").reindex(
        work.index, fill_value=False
    )
    flag(dup, ",".join(tbl.key), "duplicate key")
    bad = reason.notna()
    rejects = df.loc[bad].copy()
    rejects["column"] = where[bad]
    rejects["rule"] = reason[bad]
    return work.loc[~bad].reset_index(drop=True), rejects.reset_index(drop=True)


def validate_table(name: str, df: pd.DataFrame) -> pd.DataFrame:
    """Return `df` cast to the canonical dtypes of table `name`, or raise `SchemaError`."""
    tbl = table(name)
    valid, rejects = check_rows(tbl, df)
    if len(rejects):
        first = rejects.iloc[0]
        raise SchemaError(
            tbl.name,
            str(first["column"]),
            str(first["rule"]),
            f"{len(rejects)} bad row(s); first at row with key "
            + ", ".join(f"{k}={first.get(k)!r}" for k in tbl.key),
        )
    return valid


def to_arrow(name: str, df: pd.DataFrame) -> pa.Table:
    """Convert a validated frame of table `name` to an Arrow table with the canonical schema."""
    tbl = table(name)
    arrays = []
    for col in tbl.columns:
        s = df[col.name]
        if col.kind == "date":
            arr = pa.array(s.to_numpy(dtype="datetime64[ms]").astype("datetime64[D]"),
                           type=pa.date32(), mask=s.isna().to_numpy())
        elif col.kind == "string":
            arr = pa.array(s.astype(object).where(s.notna(), None), type=pa.string())
        else:
            arr = pa.array(s, type=_ARROW_TYPES[col.kind], from_pandas=True)
        arrays.append(arr)
    return pa.Table.from_arrays(arrays, schema=arrow_schema(tbl))


def schema_markdown() -> str:
    """Markdown documentation of every canonical table (used for docs/schema.md)."""
    lines = ["# Canonical schema", ""]
    for t in TABLES:
        lines += [f"## `{t.name}`", "", t.description, "", f"Key: `{', '.join(t.key)}`", ""]
        if t.synthetic_only:
            lines += ["Synthetic world only: ground truth for evaluation, never a feature.", ""]
        lines += ["| column | type | required | rule | description |", "|---|---|---|---|---|"]
        for c in t.columns:
            rule = []
            if c.allowed:
                rule.append("one of " + ", ".join(c.allowed))
            if c.minimum is not None:
                rule.append(f">= {c.minimum:g}")
            if c.maximum is not None:
                rule.append(f"<= {c.maximum:g}")
            lines.append(
                f"| {c.name} | {c.kind} | {'yes' if c.required else 'no'} | "
                f"{'; '.join(rule)} | {c.description} |"
            )
        extra = [f"`{fk.column}` -> `{fk.table}.{fk.target}`" + ("" if fk.strict else " (may be "
                 "outside the dataset)") for fk in t.foreign_keys]
        extra += [f"`{b}` >= `{a}`" for a, b in t.date_order]
        if extra:
            lines += ["", "Rules: " + "; ".join(extra)]
        lines.append("")
    return "\n".join(lines)


__all__ = [
    "ASSIGNEE_KINDS",
    "CASE_OUTCOMES",
    "EVENT_TYPES",
    "LOAN_OUTCOMES",
    "PATENT_TYPES_BY_JURISDICTION",
    "TABLES",
    "TRANSACTION_KINDS",
    "Column",
    "ForeignKey",
    "SchemaError",
    "Table",
    "arrow_schema",
    "check_rows",
    "schema_markdown",
    "table",
    "to_arrow",
    "validate_table",
]

