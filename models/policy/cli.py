"""CLI subcommands of `models.policy`: `patentrisk policy show` and `policy rate-table`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    from models.policy.document import Policy, ProductPolicy

POLICY_OPTION_HELP = "Policy YAML file (default PATENTRISK_POLICY_FILE, else the packaged policy)."


def _load(console: Console, policy_file: Path | None) -> Policy:
    """The policy from the option, the settings or the package; exit 2 with the reason if bad."""
    from features.cli_settings import settings_or_exit
    from models.policy.document import load_policy
    from models.policy.errors import PolicyError

    path = policy_file if policy_file is not None else settings_or_exit(console).policy_file
    try:
        return load_policy(path)
    except PolicyError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(code=2) from None


def _show(policy_file: Path | None) -> None:
    """Print the policy summary: products, thresholds, subsidy and loan rules."""
    console = Console(emoji=False)
    policy = _load(console, policy_file)
    console.print(
        f"policy [bold]{policy.version}[/bold] effective {policy.effective_from}, "
        f"currency {policy.currency}, sha256 {policy.sha256}",
        soft_wrap=True,
    )
    products = Table(title="Products")
    products.add_column("field")
    for product, spec in policy.products.items():
        products.add_column(f"{product.value}\n{spec.name_zh}")
    specs = list(policy.products.values())

    def licensees(spec: ProductPolicy) -> str:
        if spec.licensee is None:
            return "-"
        text = ", ".join(spec.licensee.always)
        if spec.licensee.if_contract_allows:
            text += "; if contract allows: " + ", ".join(spec.licensee.if_contract_allows)
        return text

    products.add_row("eligible roles", *(", ".join(s.eligible_roles) for s in specs))
    products.add_row("licensees", *(licensees(s) for s in specs))
    products.add_row("max months", *(str(s.max_period_months) for s in specs))
    products.add_row("expense loading", *(f"{s.expense_loading:,.2f}" for s in specs))
    products.add_row("minimum premium", *(f"{s.minimum_premium:,.2f}" for s in specs))
    products.add_row("refer at", *(str(s.refer_at) for s in specs))
    products.add_row("decline at", *(str(s.decline_at) for s in specs))
    console.print(products)
    sub = policy.subsidy
    subsidy = Table(title=f"Subsidy ({sub.combine} of matching rules, at most {sub.max_share:.0%})")
    subsidy.add_column("attribute")
    subsidy.add_column("share", justify="right")
    for rule in sub.rules:
        subsidy.add_row(rule.attribute, f"{rule.share:.0%}")
    console.print(subsidy)
    console.print(
        f"subsidy products: {', '.join(sub.products)}; cap per policy "
        f"{sub.cap_per_policy:,.2f}, per applicant-year {sub.cap_per_applicant_year:,.2f}",
        soft_wrap=True,
    )
    loan = policy.loan
    caps = ", ".join(f"{k} {v:.0%}" for k, v in loan.patent_type_caps.items())
    share = loan.loss_sharing
    console.print(
        f"loan: patent-type LTV caps {caps}; recovery haircut {loan.recovery.haircut:.0%}, "
        f"costs {loan.recovery.recovery_cost_rate:.0%}, LGD floor {loan.recovery.lgd_floor:.0%}; "
        f"loss sharing insurer:bank:guarantor {share.insurer:g}:{share.bank:g}:{share.guarantor:g}",
        soft_wrap=True,
    )


def _rate_table(out: Path, policy_file: Path | None) -> None:
    """Write the rate table as CSV and Markdown and print it."""
    from models.policy.rate_table import rate_table, write_rate_table

    console = Console(emoji=False)
    policy = _load(console, policy_file)
    csv_path, md_path = write_rate_table(policy, out)
    table = Table(title=f"Rate table, policy {policy.version} (sha256 {policy.sha256[:12]}…)")
    for col in ("product", "grade", "band", "risk loading", "LTV", "rate at midpoint", "decision"):
        table.add_column(col)
    for row in rate_table(policy):
        table.add_row(
            row.product.value,
            row.grade,
            f"{row.probability_lower:g} – {row.probability_upper:g}",
            f"{row.risk_loading:.0%}",
            "" if row.ltv is None else f"{row.ltv:.0%}",
            f"{row.premium_per_unit_cover:.6f}",
            row.decision,
        )
    console.print(table)
    console.print(f"wrote {csv_path} and {md_path}")


def register(app: typer.Typer) -> None:
    """Add the `policy` command group (`show`, `rate-table`) to the root CLI."""
    policy_app = typer.Typer(
        help="Rating and pricing policy: print it, write the rate table.", no_args_is_help=True
    )

    @policy_app.command("show")
    def show(
        policy_file: Path | None = typer.Option(None, "--policy", help=POLICY_OPTION_HELP),
    ) -> None:
        """Print the policy summary (version, hash, products, subsidy, loan rules)."""
        _show(policy_file)

    @policy_app.command("rate-table")
    def rate_table_cmd(
        out: Path = typer.Option(Path("."), "--out", help="Folder for the CSV and Markdown."),
        policy_file: Path | None = typer.Option(None, "--policy", help=POLICY_OPTION_HELP),
    ) -> None:
        """Write the rate table (grade, band, loadings, LTV, rate) as CSV and Markdown."""
        _rate_table(out, policy_file)

    app.add_typer(policy_app, name="policy")
