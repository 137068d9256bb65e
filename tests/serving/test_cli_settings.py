import pytest
from typer.testing import CliRunner

from serving.cli import app

runner = CliRunner()


@pytest.mark.parametrize(
    "args",
    [
        ["serve"],
        ["demo", "--no-serve"],
        ["generate", "--patents", "500"],
        ["features"],
        ["train", "--task", "litigation"],
        ["ingest", "patentsview", "missing.tsv"],
        ["policy", "show"],
    ],
)
def test_every_command_names_the_bad_variable_and_exits_2(
    monkeypatch: pytest.MonkeyPatch, args: list[str]
) -> None:
    monkeypatch.setenv("PATENTRISK_PORT", "0")
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert "PATENTRISK_PORT" in result.output
    assert "greater than or equal to 1" in result.output


def test_a_bad_option_is_named_like_its_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    result = runner.invoke(app, ["generate", "--patents", "5"])
    assert result.exit_code == 2
    assert "PATENTRISK_WORLD_PATENTS" in result.output
