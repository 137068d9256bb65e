import pytest
from typer.testing import CliRunner

from features.settings import Settings
from serving.cli import app

runner = CliRunner()


def test_help_lists_the_commands() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for name in ("version", "serve", "demo", "keys"):
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


def _keys(monkeypatch: pytest.MonkeyPatch, tmp_path, *args: str):
    monkeypatch.setenv("PATENTRISK_DATA_DIR", str(tmp_path / "var"))
    return runner.invoke(app, ["keys", *args])


def test_keys_create_prints_a_working_key_once(monkeypatch, tmp_path) -> None:
    from serving.auth import KEY_PREFIX
    from tests.serving.conftest import make_client

    created = _keys(monkeypatch, tmp_path, "create", "--role", "bank", "--name", "Bank of Tests")
    assert created.exit_code == 0, created.output
    raw = created.output.strip().splitlines()[-1]
    assert raw.startswith(KEY_PREFIX)
    key_id = created.output.split()[2]
    assert key_id.startswith("key_")

    listed = _keys(monkeypatch, tmp_path, "list")
    assert listed.exit_code == 0
    assert key_id in listed.output
    assert "Bank of Tests" in listed.output
    assert raw not in listed.output
    assert "1 keys, 1 active" in listed.output

    # no caller cache: a revoked or expired key must be refused on the very next request
    settings = Settings(data_dir=tmp_path / "var", api_key_cache_seconds=0)
    with make_client(settings) as client:
        headers = {"X-API-Key": raw}
        assert client.get("/v1/assessments", headers=headers).status_code == 200
        assert client.get("/v1/models", headers=headers).status_code == 403  # bank role
        revoked = _keys(monkeypatch, tmp_path, "revoke", key_id)
        assert revoked.exit_code == 0
        assert client.get("/v1/assessments", headers=headers).status_code == 401
    assert "1 keys, 0 active" in _keys(monkeypatch, tmp_path, "list").output


def test_keys_refuse_unknown_role_and_id(monkeypatch, tmp_path) -> None:
    bad_role = _keys(monkeypatch, tmp_path, "create", "--role", "pirate")
    assert bad_role.exit_code == 2
    assert "'pirate' is not one of" in bad_role.output
    unknown = _keys(monkeypatch, tmp_path, "revoke", "key_nope")
    assert unknown.exit_code == 1
    assert "api key 'key_nope' not found" in unknown.output


def test_materialize_writes_a_generation_and_skips_when_it_matches(monkeypatch, tmp_path) -> None:
    from serving.online.backends import open_online_store
    from tests.serving.conftest import write_tiny_world

    settings = Settings(data_dir=tmp_path / "var", dataset="tiny")
    write_tiny_world(settings.dataset_dir)
    monkeypatch.setenv("PATENTRISK_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("PATENTRISK_DATASET", "tiny")
    first = runner.invoke(app, ["materialize"])
    assert first.exit_code == 0, first.output
    assert first.output.strip().splitlines()[-1].startswith("materialized 5 patents and 0 firms")
    store = open_online_store(None, settings.data_dir, "tiny")
    reader = store.current()
    assert reader is not None
    assert reader.manifest["rows"] == {"patent": 5, "firm": 0}
    assert reader.get_many("patent", ["CN100000001B"])[0] is not None
    again = runner.invoke(app, ["materialize"])
    assert again.exit_code == 0
    assert "nothing to do" in again.output
    assert store.current_id() == reader.generation
    forced = runner.invoke(app, ["materialize", "--force"])
    assert forced.exit_code == 0
    assert store.current_id() != reader.generation


def test_simulate_book_names_what_is_missing(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    """Without a dataset (or models) simulate-book exits 1 with a one-line reason."""
    monkeypatch.setenv("PATENTRISK_DATA_DIR", str(tmp_path / "var"))
    result = runner.invoke(app, ["simulate-book", "--year", "2024"])
    assert result.exit_code == 1
    assert "no dataset" in result.output
    from tests.serving.conftest import write_tiny_world

    write_tiny_world(Settings(data_dir=tmp_path / "var").dataset_dir)
    result = runner.invoke(app, ["simulate-book", "--year", "2030"])
    assert result.exit_code == 1
    assert "--year must be at most the data's last year 2024" in result.output


def test_keys_expire_and_record_their_last_use(monkeypatch, tmp_path) -> None:
    import datetime as dt

    import sqlalchemy as sa

    from serving.tables import ApiKey
    from tests.serving.conftest import make_client

    created = _keys(monkeypatch, tmp_path, "create", "--role", "bank", "--expires-in-days", "30")
    assert created.exit_code == 0, created.output
    raw = created.output.strip().splitlines()[-1]
    key_id = created.output.split()[2]
    assert "expires" in created.output
    # no caller cache: a revoked or expired key must be refused on the very next request
    settings = Settings(data_dir=tmp_path / "var", api_key_cache_seconds=0)
    with make_client(settings) as client:
        headers = {"X-API-Key": raw}
        assert client.get("/v1/assessments", headers=headers).status_code == 200
        with client.app.state.sessionmaker() as s:
            row = s.get(ApiKey, key_id)
            assert row.last_used_at is not None
            assert dt.timedelta(days=29) < row.expires_at - row.created_at <= dt.timedelta(days=30)
            past = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
            s.execute(sa.update(ApiKey).where(ApiKey.id == key_id).values(expires_at=past))
            s.commit()
        expired = client.get("/v1/assessments", headers=headers)
        assert expired.status_code == 401
        assert "expired" in expired.json()["detail"]
    listed = _keys(monkeypatch, tmp_path, "list").output
    assert "1 keys, 0 active" in listed
    bad = _keys(monkeypatch, tmp_path, "create", "--role", "bank", "--expires-in-days", "0")
    assert bad.exit_code == 2


async def _no_app(scope, receive, send) -> None:
    """An ASGI app for uvicorn's configuration (never called)."""


def test_serve_runs_on_uvloop_and_httptools_unless_told_otherwise(tmp_path) -> None:
    """`serve` gives uvicorn the settings' loop and parser: by default uvloop and httptools."""
    import asyncio

    import uvicorn
    import uvloop

    from serving.cli import uvicorn_options

    def served(settings: Settings) -> tuple[str, type]:
        config = uvicorn.Config(_no_app, **uvicorn_options(settings, "127.0.0.1", 8123))
        config.load()
        loop_factory = config.get_loop_factory()
        assert loop_factory is not None
        loop = loop_factory()
        try:
            return config.http_protocol_class.__name__, type(loop)
        finally:
            loop.close()

    default = Settings(data_dir=tmp_path)
    assert served(default) == ("HttpToolsProtocol", uvloop.Loop)
    plain = Settings(data_dir=tmp_path, server_loop="asyncio", server_http="h11")
    protocol, loop_type = served(plain)
    assert protocol == "H11Protocol"
    assert loop_type is not uvloop.Loop
    assert issubclass(loop_type, asyncio.AbstractEventLoop)
    options = uvicorn_options(default, "127.0.0.1", 8123)
    assert (options["timeout_keep_alive"], options["log_config"]) == (default.keep_alive_seconds,
                                                                      None)
