"""The bulk run on DuckDB: one record per entity in force, scored by the champions, graded."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import mlflow.pyfunc
import pandas as pd
import pytest
from typer.testing import CliRunner

from features.engines import patent_batch_sql
from features.pipelines.relations import TableRelations
from features.settings import Settings
from features.store import TableStore
from models.policy import Product, load_policy
from serving.bulk.job import run_bulk
from serving.bulk.records import ENTITIES, read_records, task_column, task_outputs, version_column
from serving.bulk.scoring import model_input, resolve_champions
from serving.cli import app

pytestmark = pytest.mark.slow


def _end(settings: Settings) -> date:
    return date.fromisoformat(str(TableStore(settings.dataset_dir).meta()["end_date"]))


@pytest.fixture(scope="module")
def bulk_out(trained_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One DuckDB bulk run over the trained world as of its end date."""
    out = tmp_path_factory.mktemp("bulk")
    run_bulk(trained_settings, "duckdb", _end(trained_settings), out)
    return out


def test_one_record_per_patent_in_force(trained_settings: Settings, bulk_out: Path) -> None:
    as_of = _end(trained_settings)
    records = read_records(bulk_out, "patent", as_of)
    con = TableStore(trained_settings.dataset_dir).connect()
    in_force = con.execute(patent_batch_sql(TableRelations.from_connection(con), as_of)).df()
    assert records["patent_id"].tolist() == sorted(in_force["patent_id"])
    assert records["patent_id"].is_unique
    assert (records["as_of"] == pd.Timestamp(as_of)).all()
    assert (records["remaining_term_years"] > 0).all()
    assert (records["lapsed"] == 0).all()


@pytest.mark.parametrize("entity", list(ENTITIES))
def test_scores_are_the_champions_answers(
    trained_settings: Settings, bulk_out: Path, entity: str
) -> None:
    plan = ENTITIES[entity]
    records = read_records(bulk_out, entity, _end(trained_settings))
    champions = resolve_champions(trained_settings.resolved_tracking_uri,
                                  [t.task for t in plan.tasks])
    for tp in plan.tasks:
        ch = champions[tp.task]
        expected = mlflow.pyfunc.load_model(ch.uri).predict(model_input(records, tp, ch))
        got = task_outputs(records, tp.task)
        pd.testing.assert_frame_equal(got, expected[list(got.columns)], check_exact=True)
        assert list(got.columns) == list(ch.outputs)
        assert (records[version_column(tp.task)] == ch.version).all()
        shap = [c for c in got.columns if c.startswith("shap__")]
        assert len(shap) == len(ch.inputs)  # one contribution per model input


@pytest.mark.parametrize(("entity", "product"), [("patent", Product.ENFORCEMENT),
                                                 ("firm", Product.LIABILITY)])
def test_grades_follow_the_policy(
    trained_settings: Settings, bulk_out: Path, entity: str, product: Product
) -> None:
    policy = load_policy(trained_settings.policy_file)
    records = read_records(bulk_out, entity, _end(trained_settings))
    task, graded = ENTITIES[entity].graded
    assert graded is product
    expected = [policy.grade(product, p).value for p in records[task_column(task, "probability")]]
    assert records["grade"].tolist() == expected
    assert (records["policy_version"] == policy.version).all()


def test_a_rerun_replaces_the_partition_whole(trained_settings: Settings, tmp_path: Path) -> None:
    as_of = _end(trained_settings)
    for _ in range(2):
        run_bulk(trained_settings, "duckdb", as_of, tmp_path, ["firm"], check_leakage=False)
    folder = tmp_path / "firms"
    assert sorted(p.name for p in folder.iterdir()) == [f"as_of={as_of.isoformat()}"]
    assert [p.name for p in (folder / f"as_of={as_of.isoformat()}").iterdir()] == [
        "part-00000.parquet"
    ]
    assert not (tmp_path / "patents").exists()


def test_cli_writes_and_reports(trained_settings: Settings, tmp_path: Path,
                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATENTRISK_DATA_DIR", str(trained_settings.data_dir))
    result = CliRunner().invoke(app, ["batch", "--engine", "duckdb", "--entity", "firm",
                                      "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "firms" in result.output
    assert "rows/s" in result.output
    assert read_records(tmp_path, "firm", _end(trained_settings)).shape[0] > 0


@pytest.mark.parametrize(("args", "message"), [
    (["--engine", "flink"], "--engine"),
    (["--as-of", "2999-01-01"], "end_date"),
    (["--as-of", "31/12/2020"], "YYYY-MM-DD"),
    (["--entity", "loan"], "--entity"),
])
def test_cli_rejects_bad_options(trained_settings: Settings, tmp_path: Path,
                                 monkeypatch: pytest.MonkeyPatch, args: list[str],
                                 message: str) -> None:
    monkeypatch.setenv("PATENTRISK_DATA_DIR", str(trained_settings.data_dir))
    result = CliRunner().invoke(app, ["batch", "--out", str(tmp_path), *args])
    assert result.exit_code == 2
    assert message in result.output
    assert not any(tmp_path.iterdir())


def test_missing_champion_is_named(tmp_path: Path, trained_settings: Settings) -> None:
    settings = Settings(data_dir=tmp_path / "var", dataset=trained_settings.dataset,
                        mlflow_tracking_uri=f"sqlite:///{tmp_path / 'empty.db'}")
    import shutil

    shutil.copytree(trained_settings.dataset_dir, settings.dataset_dir)
    with pytest.raises(LookupError, match="no champion for task 'litigation'"):
        run_bulk(settings, "duckdb", _end(trained_settings), tmp_path / "out")
    assert not (tmp_path / "out").exists()
