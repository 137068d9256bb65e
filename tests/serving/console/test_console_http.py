"""The console over HTTP without a browser: sessions, CSRF, roles, users, texts and charts."""

from __future__ import annotations

import re
import stat
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from features.settings import Settings
from serving.auth import CallerRole
from serving.charts import Interval, Step, interval_chart, waterfall_chart
from serving.console.i18n import LANGUAGES, MESSAGES, Translator, choose_language
from serving.console.pages import CONSOLE_PAGES, nav_pages
from serving.console.sessions import ConsoleSession, SessionCodec, signing_secret
from serving.console.users import authenticate, create_user, disable_user
from serving.errors import InvalidInputError
from tests.serving.conftest import make_client, make_keys

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def _token(client: TestClient, path: str = "/console/signin") -> str:
    return CSRF.search(client.get(path).text).group(1)


def _sign_in(client: TestClient, key: str) -> None:
    answer = client.post("/console/signin", data={"csrf_token": _token(client), "api_key": key},
                         follow_redirects=False)
    assert answer.status_code == 303


@pytest.fixture
def console(world_settings: Settings):
    with make_client(world_settings) as client:
        yield client, make_keys(client)


def test_session_cookie_is_signed_httponly_strict_and_expires(console) -> None:
    client, keys = console
    client.get("/console/signin")
    _sign_in(client, keys["underwriter"])
    header = [h for h in client.cookies.jar if h.name == "patentrisk_session"][0]
    assert header.path == "/console"
    assert header.expires is not None
    answer = client.post("/console/signin", data={"csrf_token": _token(client),
                                                  "api_key": keys["bank"]},
                         follow_redirects=False)
    cookie = answer.headers["set-cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie.replace("Strict", "strict")
    assert "Max-Age=28800" in cookie  # console_session_minutes 480
    assert keys["bank"] not in cookie  # never the key itself


def test_session_codec_refuses_forged_and_expired_cookies() -> None:
    codec = SessionCodec("x" * 40, max_age_seconds=1)
    session = ConsoleSession.anonymous().signed_in("key:key_abc")
    value = codec.dumps(session)
    assert codec.loads(value) == session
    # Flip a character inside the signature: the last base64 character also holds padding bits,
    # so changing it can decode to the same signature.
    i = len(value) - 5
    assert codec.loads(value[:i] + ("A" if value[i] != "A" else "B") + value[i + 1:]) is None
    assert SessionCodec("y" * 40, 60).loads(value) is None  # another secret
    time.sleep(2.1)
    assert codec.loads(value) is None  # expired
    assert session.accepts(session.csrf)
    assert not session.accepts("")
    assert not session.accepts(session.csrf + "x")


def test_signing_secret_is_generated_once_and_private(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "var")
    first = signing_secret(settings)
    assert len(first) >= 32
    assert signing_secret(settings) == first
    mode = stat.S_IMODE((tmp_path / "var" / "console-secret").stat().st_mode)
    assert mode == 0o600
    assert signing_secret(Settings(data_dir=tmp_path, console_secret="s" * 32)) == "s" * 32


def test_a_form_without_the_session_token_is_refused(console) -> None:
    client, keys = console
    answer = client.post("/console/signin", data={"api_key": keys["admin"]})
    assert answer.status_code == 403
    assert "CSRF" in answer.text
    _sign_in(client, keys["underwriter"])
    token = _token(client, "/console/quotes")
    answer = client.post("/console/signout", data={"csrf_token": token + "x"})
    assert answer.status_code == 403
    assert client.get("/console/quotes", follow_redirects=False).status_code == 200  # still in


def test_roles_decide_pages_and_navigation(console) -> None:
    client, keys = console
    assert client.get("/console/quotes", follow_redirects=False).status_code == 303
    _sign_in(client, keys["bank"])
    page = client.get("/console/loans")
    assert page.status_code == 200
    assert 'href="/console/quotes"' not in page.text
    for path in ("/console/quotes", "/console/regulator", "/console/assessments",
                 "/console/models"):
        answer = client.get(path)
        assert answer.status_code == 403, path
        assert "Your role may not open this page." in answer.text


def test_a_revoked_key_ends_its_session(console) -> None:
    from serving import crud

    client, _keys = console
    with client.app.state.sessionmaker() as session:
        row, raw = crud.create_api_key(session, CallerRole.bank, "to revoke")
    _sign_in(client, raw)
    assert client.get("/console/loans").status_code == 200
    with client.app.state.sessionmaker() as session:
        crud.revoke_api_key(session, row.id)
    assert client.get("/console/loans", follow_redirects=False).status_code == 303


def test_password_users_are_argon2_hashed_and_can_be_disabled(console) -> None:
    client, _keys = console
    with client.app.state.sessionmaker() as session:
        user = create_user(session, "carol", CallerRole.regulator, "a long password")
        assert user.password_hash.startswith("$argon2id$")
        assert "a long password" not in user.password_hash
        assert authenticate(session, "carol", "a long password").id == user.id
        assert authenticate(session, "carol", "wrong password") is None
        assert authenticate(session, "nobody", "a long password") is None
        with pytest.raises(InvalidInputError, match="taken"):
            create_user(session, "carol", CallerRole.bank, "another long one")
        with pytest.raises(InvalidInputError, match="at least 10"):
            create_user(session, "dave", CallerRole.bank, "short")
    answer = client.post("/console/signin", data={
        "csrf_token": _token(client), "username": "carol", "password": "a long password"},
        follow_redirects=False)
    assert answer.headers["location"] == "/console"
    assert client.get("/console", follow_redirects=False).headers["location"] == \
        "/console/regulator"
    with client.app.state.sessionmaker() as session:
        disable_user(session, "carol")
    assert client.get("/console/assessments", follow_redirects=False).status_code == 303


def test_search_field_errors_name_the_rule_and_no_trace_leaks(console) -> None:
    client, keys = console
    _sign_in(client, keys["underwriter"])
    page = client.get("/console/patents", params={"cpc": "H04L%", "jurisdiction": "XX"})
    assert page.status_code == 422
    assert "cpc must be a CPC class prefix" in page.text
    assert "[pattern]" in page.text
    assert "jurisdiction must be one of [&#39;CN&#39;, &#39;US&#39;] [enum]" in page.text
    found = client.get("/console/patents", params={"assignee": "A2"})
    assert "US10000003" in found.text
    assert "CN100000001B" not in found.text
    missing = client.get("/console/patents/NOPE")
    assert missing.status_code == 404
    assert "Traceback" not in missing.text
    assert "<html" in missing.text


def test_language_switch_is_remembered(console) -> None:
    client, keys = console
    _sign_in(client, keys["underwriter"])
    answer = client.get("/console/lang/zh", params={"next": "/console/patents"},
                        follow_redirects=False)
    assert answer.headers["location"] == "/console/patents"
    assert "专利检索查询" in client.get("/console/patents").text
    outside = client.get("/console/lang/en", params={"next": "https://evil.example/"},
                         follow_redirects=False)
    assert outside.headers["location"] == "/console"  # no open redirect
    assert "Patent search" in client.get("/console/patents").text


def test_every_text_exists_in_both_languages() -> None:
    for key, texts in MESSAGES.items():
        assert len(texts) == len(LANGUAGES), key
        assert all(text.strip() for text in texts), key
        assert re.search(r"[\u4e00-\u9fff]", texts[1]) or key.startswith("product") \
            or texts[1] == texts[0] or "API" in texts[1], key
    for page in CONSOLE_PAGES:
        assert page.title in MESSAGES
    zh = Translator("zh")
    assert zh("signed_in_as", name="a", role="b") == "已登录：a（b）"
    assert choose_language(None, "zh-CN,zh;q=0.9,en;q=0.8") == "zh"
    assert choose_language("en", "zh-CN") == "en"
    assert choose_language(None, None) == "en"


def test_admin_sees_every_page_in_its_navigation() -> None:
    from serving.auth import Caller

    admin = Caller(key_id="k", name="root", role=CallerRole.admin)
    assert [p.key for p in nav_pages(admin)] == [p.key for p in CONSOLE_PAGES if p.in_nav]


def test_charts_are_inline_svg_with_text_and_title() -> None:
    svg = interval_chart([Interval("CN1", 1e5, 3e5, 9e5), Interval("合计", 2e5, 5e5, 1.2e6)],
                         "价值 <value>", "CNY")
    assert svg.startswith("<svg")
    assert svg.rstrip().endswith("</svg>")
    assert "<title>价值 &lt;value&gt;</title>" in svg
    assert "合计" in svg  # text stays text (svg.fonttype none)
    assert "<metadata" not in svg
    fall = waterfall_chart(-3.0, [Step("引用 & cites", 0.4), Step("claims", -0.1)], "t", "x",
                           "base", "score")
    assert "引用 &amp; cites" in fall
    assert "+0.400" in fall
    assert "-2.700" in fall
    with pytest.raises(ValueError, match="at least one row"):
        interval_chart([], "empty")


@pytest.mark.slow
def test_models_page_links_the_champions_validation_report(
    trained_settings: Settings, tmp_path: Path
) -> None:
    from training.validation.runner import validate_tasks

    settings = trained_settings.model_copy(
        update={"database_url": SecretStr(f"sqlite:///{tmp_path / 'console.db'}")})
    (result,) = validate_tasks(trained_settings, ["default"])
    assert result.status == "validated", result.reason
    with make_client(settings) as client:
        keys = make_keys(client)
        _sign_in(client, keys["scientist"])
        page = client.get("/console/models")
        assert page.status_code == 200
        assert 'href="/console/models/default/validation"' in page.text
        report = client.get("/console/models/default/validation")
        assert report.status_code == 200
        assert report.text == result.path.read_text(encoding="utf-8")
        assert "<td>borrower_kind</td>" in report.text  # a static feature of the task
        missing = client.get("/console/models/nope/validation")
        assert missing.status_code == 404
        assert "<html" in missing.text.lower()
        _sign_in(client, keys["bank"])
        assert client.get("/console/models/default/validation").status_code == 403
