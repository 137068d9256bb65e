import json
import stat

import sqlalchemy as sa

from features.settings import Settings
from models.tasks import TASK_NAMES
from serving import crud
from serving.database import make_engine, make_sessionmaker
from serving.demo import DEMO_ROLES, ensure_demo_keys, missing_champions


def test_demo_keys_are_created_once_per_role_and_kept_private(settings: Settings) -> None:
    path, keys = ensure_demo_keys(settings)
    assert sorted(keys) == sorted(DEMO_ROLES)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert json.loads(path.read_text()) == keys
    again_path, again = ensure_demo_keys(settings)
    assert again == keys
    engine = make_engine(settings.resolved_database_url)
    with make_sessionmaker(engine)() as session:
        for role, raw in keys.items():
            caller = crud.caller_for_key(session, raw)
            assert caller is not None
            assert caller.role == role
        count = session.execute(sa.text("SELECT count(*) FROM api_keys")).scalar_one()
    engine.dispose()
    assert count == len(DEMO_ROLES)


def test_demo_keys_are_replaced_when_one_was_revoked(settings: Settings) -> None:
    _, keys = ensure_demo_keys(settings)
    engine = make_engine(settings.resolved_database_url)
    with make_sessionmaker(engine)() as session:
        crud.revoke_api_key(session, crud.caller_for_key(session, keys["bank"]).key_id)
    engine.dispose()
    _, fresh = ensure_demo_keys(settings)
    assert fresh["bank"] != keys["bank"]


def test_an_empty_registry_misses_every_champion(settings: Settings) -> None:
    assert missing_champions(settings) == list(TASK_NAMES)


def test_demo_console_users_sign_in_and_survive_a_lost_passwords_file(settings: Settings) -> None:
    import stat

    from serving.console.users import authenticate
    from serving.database import make_engine, make_sessionmaker
    from serving.demo import ensure_demo_users

    users = ensure_demo_users(settings)
    assert sorted(users) == sorted(f"demo-{role}" for role in DEMO_ROLES)
    path = settings.data_dir / "demo-console.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert ensure_demo_users(settings) == users  # kept while they still sign in
    path.unlink()
    fresh = ensure_demo_users(settings)  # same names, new passwords
    assert sorted(fresh) == sorted(users)
    assert fresh != users
    engine = make_engine(settings.resolved_database_url)
    with make_sessionmaker(engine)() as session:
        for name, password in fresh.items():
            user = authenticate(session, name, password)
            assert user is not None
            assert user.role == name.removeprefix("demo-")
            assert authenticate(session, name, users[name]) is None
    engine.dispose()
