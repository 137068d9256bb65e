import pytest
from typer.testing import CliRunner

from serving.cli import app

runner = CliRunner()


def test_help_lists_the_commands() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for name in ("version", "serve", "demo"):
        assert name in result.output


def test_version_prints_the_package_version() -> None:
    from importlib.metadata import version

    result = runner.invoke(app, ["version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"patentrisk {version('patentrisk')}"


def test_bad_setting_gives_one_line_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATENTRISK_PORT", "0")
    result = runner.invoke(app, ["serve"])
    assert result.exit_code == 2
    assert "PATENTRISK_PORT" in result.output
