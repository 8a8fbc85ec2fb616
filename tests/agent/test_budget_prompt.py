from __future__ import annotations

from pathlib import Path

import pytest

from openclaw.agent.budget import (
    PromptTooLargeError,
    compute_budget,
    estimate_prompt,
    fit_history,
)
from openclaw.agent.prompt import USER_FILE_MAX_CHARS, build_system_prompt
from openclaw.agent.tools import default_registry
from openclaw.llm.types import AssistantMessage, TextContent, UserMessage

from .helpers import make_spec


def test_default_prompt_is_small(tmp_path: Path) -> None:
    reg = default_registry()
    prompt = build_system_prompt(workspace=tmp_path, tools=reg.summaries(), model_key="p/m")
    tokens = estimate_prompt(prompt.text, [UserMessage(content="hi")], reg.specs())
    assert tokens < 1000, tokens
    assert str(tmp_path) in prompt.text
    assert "read" in prompt.text and "web_fetch" in prompt.text


def test_prompt_includes_and_caps_agents_md(tmp_path: Path) -> None:
    (tmp_path / "AGENTS.md").write_text("Always answer in French.")
    prompt = build_system_prompt(workspace=tmp_path, tools=[])
    assert "Always answer in French." in prompt.text
    assert "No tools are available" in prompt.text
    (tmp_path / "AGENTS.md").write_text("x" * (USER_FILE_MAX_CHARS * 2))
    prompt = build_system_prompt(workspace=tmp_path, tools=[])
    assert len(prompt.text) < USER_FILE_MAX_CHARS + 2000
    assert prompt.warnings


def test_budget_reserve_is_min_of_max_tokens_and_quarter() -> None:
    b = compute_budget(make_spec(context=4096, max_tokens=8192))
    assert (b.context, b.reserve, b.available) == (4096, 1024, 3072)
    assert b.small
    b = compute_budget(make_spec(context=32768, max_tokens=2000))
    assert (b.reserve, b.available) == (2000, 30768)
    assert not b.small
    b = compute_budget(make_spec(context=8192, max_tokens=None, contextTokens=6000))
    assert b.context == 6000 and b.context_field == "contextTokens"
    assert compute_budget(make_spec(context=None)).available is None


def _turn(i: int, size: int) -> list:
    return [
        UserMessage(content=f"q{i} " + "x" * size),
        AssistantMessage(content=[TextContent(text=f"a{i} " + "y" * size)]),
    ]


def test_oldest_turns_are_dropped_with_a_notice() -> None:
    budget = compute_budget(make_spec(context=4096, max_tokens=1024))
    history = [m for i in range(10) for m in _turn(i, 2000)]  # ~10k tokens
    current = [UserMessage(content="latest question")]
    fit = fit_history("sys", history, current, [], budget, provider_id="p")
    assert fit.dropped_turns > 0
    assert fit.messages[-1] is current[0]
    assert fit.estimated <= budget.available  # type: ignore[operator]
    kept_first = fit.messages[0]
    assert isinstance(kept_first, UserMessage)  # whole turns dropped, never half a turn
    assert "History trimmed" in fit.notices[0]
    # the newest history turn survives
    assert any(getattr(m, "content", None) == history[-2].content for m in fit.messages)


def test_single_message_too_large_names_context_and_fix() -> None:
    budget = compute_budget(make_spec("lmstudio/tiny", context=4096, max_tokens=512))
    with pytest.raises(PromptTooLargeError) as err:
        fit_history(
            "sys", [], [UserMessage(content="z" * 40000)], [], budget, provider_id="lmstudio"
        )
    assert "4,096-token context" in err.value.message
    assert "lmstudio/tiny" in err.value.message
    assert err.value.hint and "contextTokens" in err.value.hint
