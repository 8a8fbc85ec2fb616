"""R9: TS-seeded workspace templates stay out of the prompt; user-edited files go in, capped."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from openclaw.agent.prompt import KNOWN_TEMPLATE_SHA256, Injection, build_system_prompt
from tests.conftest import run_cli
from tests.interop.ts_home import PLACEHOLDER_KEY, TEMPLATE_MARKER, make_ts_home
from tests.servers.fake_lmstudio import FakeLMStudio, Reply

CHAT = ("POST", "/v1/chat/completions")


@pytest.fixture
def lms() -> Iterator[FakeLMStudio]:
    with FakeLMStudio(api_key=PLACEHOLDER_KEY) as fake:
        yield fake


def _system_prompt(fake: FakeLMStudio) -> str:
    bodies = [r.json for r in fake.requests if (r.method, r.path) == CHAT]
    assert bodies, "no chat request reached the server"
    messages = bodies[-1]["messages"]
    return "\n".join(m["content"] for m in messages if m["role"] == "system")


def _workspace(home: Path) -> Path:
    return home / ".openclaw" / "workspace"


def _turn(lms: FakeLMStudio) -> str:
    lms.script(Reply(text="hello"))
    res = run_cli("agent", "-m", "hi", "--tools", "none")
    assert res.returncode == 0, res.output
    return _system_prompt(lms)


def test_fresh_ts_home_prompt_has_no_template_text(isolated_home: Path, lms: FakeLMStudio) -> None:
    make_ts_home(isolated_home, lms.base_url)
    prompt = _turn(lms)
    assert TEMPLATE_MARKER not in prompt
    assert "BOOTSTRAP" not in prompt
    assert len(prompt) < 800, len(prompt)


def test_edited_agents_file_is_injected_and_capped(isolated_home: Path, lms: FakeLMStudio) -> None:
    make_ts_home(isolated_home, lms.base_url)
    agents = _workspace(isolated_home) / "AGENTS.md"
    agents.write_text(agents.read_text() + "Always answer in French.\n" + "x" * 9000)
    prompt = _turn(lms)
    assert "## Instructions from AGENTS.md" in prompt
    assert TEMPLATE_MARKER in prompt  # the whole edited file counts as the user's now
    section = prompt.split("## Instructions from AGENTS.md", 1)[1]
    assert 8000 <= len(section) < 8100
    assert "[…truncated]" in section


def test_memory_and_bootstrap_are_never_injected(isolated_home: Path, lms: FakeLMStudio) -> None:
    make_ts_home(isolated_home, lms.base_url)
    workspace = _workspace(isolated_home)
    (workspace / "BOOTSTRAP.md").write_text("Run the birth ritual now.\n")
    (workspace / "MEMORY.md").write_text("The user's cat is called Tom.\n")
    prompt = _turn(lms)
    assert "birth ritual" not in prompt and "Tom" not in prompt


def test_context_injection_never_and_max_chars(isolated_home: Path, lms: FakeLMStudio) -> None:
    make_ts_home(isolated_home, lms.base_url)
    (_workspace(isolated_home) / "AGENTS.md").write_text("Be brief.\n" + "y" * 500)
    config = isolated_home / ".openclaw" / "openclaw.json"
    data = json.loads(config.read_text())
    data["agents"]["defaults"]["bootstrapMaxChars"] = 100
    config.write_text(json.dumps(data))
    prompt = _turn(lms)
    assert "Be brief." in prompt
    assert len(prompt.split("## Instructions from AGENTS.md", 1)[1]) < 150
    data["agents"]["defaults"]["contextInjection"] = "never"
    config.write_text(json.dumps(data))
    prompt = _turn(lms)
    assert "Be brief." not in prompt


def test_known_template_hash_is_skipped_without_state_db(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A workspace TS seeded elsewhere: no DB row, but a release's template hash. TS's template
    # text is not committed, so this file's hash stands in for one table entry.
    import hashlib

    from openclaw.agent import prompt as prompt_module

    (tmp_path / "AGENTS.md").write_text("Real user instructions.\n")
    assert "Real user instructions." in build_system_prompt(workspace=tmp_path, tools=[]).text
    digest = hashlib.sha256((tmp_path / "AGENTS.md").read_bytes()).hexdigest()
    monkeypatch.setattr(prompt_module, "KNOWN_TEMPLATE_SHA256", KNOWN_TEMPLATE_SHA256 | {digest})
    skipped = build_system_prompt(workspace=tmp_path, tools=[], injection=Injection())
    assert "Real user instructions." not in skipped.text
    assert skipped.skipped_templates == ["AGENTS.md"]
