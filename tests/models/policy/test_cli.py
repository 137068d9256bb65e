from __future__ import annotations

import csv

import typer
from typer.testing import CliRunner

from models.policy.cli import register


def _app() -> typer.Typer:
    app = typer.Typer()
    register(app)
    return app


def test_rate_table_writes_csv_and_markdown_with_version_and_hash(tmp_path, policy):
    result = CliRunner().invoke(_app(), ["policy", "rate-table", "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    csv_path = tmp_path / "out" / f"rate-table-{policy.version}.csv"
    md_path = tmp_path / "out" / f"rate-table-{policy.version}.md"
    rows = list(csv.DictReader(csv_path.open(encoding="utf-8")))
    assert len(rows) == 30
    assert {r["policy_sha256"] for r in rows} == {policy.sha256}
    b = next(r for r in rows if r["product"] == "enforcement" and r["grade"] == "B")
    # Band 2 %..5 %: midpoint 3.5 %, loading 50 % -> 0.0525 per unit of cover.
    assert (b["probability_lower"], b["probability_upper"]) == ("0.02", "0.05")
    assert float(b["premium_per_unit_cover"]) == 0.0525
    assert b["decision"] == "accept"
    loan_cc = next(r for r in rows if r["product"] == "pledge_loan" and r["grade"] == "CC")
    assert (loan_cc["ltv"], loan_cc["decision"]) == ("0.0", "decline")
    md = md_path.read_text(encoding="utf-8")
    assert policy.sha256 in md
    assert f"policy {policy.version}" in md
    assert "| B | 2 % – 5 % | 3.5 % | 50% |  | 0.052500 | accept |" in md


def test_rate_table_uses_the_given_policy_file(tmp_path, write_policy):
    path = write_policy(lambda d: d.update(version="2026.0-test"))
    result = CliRunner().invoke(
        _app(), ["policy", "rate-table", "--out", str(tmp_path), "--policy", str(path)]
    )
    assert result.exit_code == 0, result.output
    assert (tmp_path / "rate-table-2026.0-test.csv").exists()
    assert (tmp_path / "rate-table-2026.0-test.md").exists()


def test_bad_policy_file_exits_2_naming_the_problem(write_policy):
    path = write_policy(lambda d: d["loan"]["loss_sharing"].update(bank=0.3))
    result = CliRunner().invoke(_app(), ["policy", "show", "--policy", str(path)])
    assert result.exit_code == 2
    assert "shares must sum to 1" in result.output


def test_show_prints_the_summary(policy):
    result = CliRunner().invoke(_app(), ["policy", "show"])
    assert result.exit_code == 0, result.output
    assert policy.sha256 in result.output
    assert "insurer:bank:guarantor 0.6:0.2:0.2" in result.output
    assert "pilot_enterprise" in result.output
