"""build_request_body / build_headers / convert_messages follow the compat flags."""

from __future__ import annotations

import pytest

from openclaw.config.urls import is_loopback_base_url
from openclaw.llm.compat import resolve_compat
from openclaw.llm.openai_request import (
    build_headers,
    build_request_body,
    clean_tool_schema,
    reasoning_effort,
)
from openclaw.llm.types import (
    AssistantMessage,
    ChatOptions,
    Context,
    ImageContent,
    TextContent,
    ThinkingContent,
    ToolCall,
    ToolResultMessage,
    ToolSpec,
    UserMessage,
)

from .support import make_spec

SCHEMA = {
    "type": "object",
    "properties": {
        "pattern": {"type": "string", "pattern": "^a+$", "format": "regex"},
        "path": {"type": "string", "maxLength": 100000},
        "items": {"type": "array", "items": {"type": "string", "pattern": "x"}},
    },
    "$defs": {"pattern": {"type": "string", "pattern": "y"}},
}
TOOLS = [ToolSpec("zeta", "z", {"type": "object"}), ToolSpec("alpha", "a", SCHEMA)]


def _body(spec=None, ctx=None, **opts):
    return build_request_body(
        spec or make_spec(), ctx or Context(messages=[UserMessage("hi")]), ChatOptions(**opts)
    )


def test_local_defaults() -> None:
    body = _body()
    assert body["stream"] is True
    assert body["stream_options"] == {"include_usage": True}
    assert "store" not in body


@pytest.mark.parametrize(
    ("provider", "url", "expected"),
    [
        ("vllm", "http://gpu-box:8000/v1", True),
        ("tabbyapi", "http://gpu-box:5000/v1", True),
        ("text-generation-webui", "http://gpu-box:5000/v1", True),
        ("custom", "http://127.0.0.1:5000/v1", True),
        ("custom", "http://localhost:5000/v1", True),
        ("custom", "http://[::1]:5000/v1", True),
        ("custom", "http://192.168.1.10:5000/v1", False),
        ("custom", "https://api.example.com/v1", False),
    ],
)
def test_usage_in_streaming_default(provider: str, url: str, expected: bool) -> None:
    assert resolve_compat(provider, {"baseUrl": url}, {})["supportsUsageInStreaming"] is expected


def test_explicit_compat_wins() -> None:
    spec = make_spec(compat={"supportsUsageInStreaming": False, "supportsStore": True})
    body = _body(spec)
    assert "stream_options" not in body
    assert body["store"] is False


def test_is_local_base_url() -> None:
    assert is_loopback_base_url("http://127.0.0.5:1/v1")
    assert not is_loopback_base_url("not a url")


def test_max_tokens_field_and_sources() -> None:
    assert _body(max_tokens=5)["max_tokens"] == 5
    spec = make_spec(row={"maxTokens": 99}, compat={"maxTokensField": "max_completion_tokens"})
    body = _body(spec)
    assert body["max_completion_tokens"] == 99 and "max_tokens" not in body
    spec = make_spec(row={"maxTokens": 99, "params": {"maxTokens": 7}})
    assert _body(spec)["max_tokens"] == 7
    remote = make_spec("https://api.example.com/v1", provider_id="remote", row={"maxTokens": 9})
    assert _body(remote)["max_completion_tokens"] == 9


def test_temperature_and_top_p() -> None:
    spec = make_spec(row={"params": {"temperature": 0.2, "top_p": 0.9}})
    body = _body(spec)
    assert body["temperature"] == 0.2 and body["top_p"] == 0.9
    assert _body(spec, temperature=0.5)["temperature"] == 0.5
    assert "temperature" not in _body()


@pytest.mark.parametrize(
    ("compat", "level", "expected"),
    [
        ({}, "high", "high"),
        ({}, "off", "none"),
        ({}, "max", "xhigh"),
        ({"reasoningEffortMap": {"off": "none", "high": "on"}}, "high", "on"),
        ({"supportedReasoningEfforts": ["low", "medium", "high"]}, "xhigh", "high"),
        ({"supportedReasoningEfforts": ["low", "medium", "high"]}, "minimal", "low"),
        ({"supportedReasoningEfforts": ["low", "high"]}, "off", None),
        ({"supportedReasoningEfforts": ["none", "low", "high"]}, "off", "none"),
        ({"reasoningEffortMap": {"off": "off"}}, "off", "off"),
    ],
)
def test_reasoning_effort(compat: dict, level: str, expected: str | None) -> None:
    assert reasoning_effort(make_spec(compat=compat), level) == expected


def test_reasoning_effort_in_body() -> None:
    assert "reasoning_effort" not in _body()  # model default: omitted
    assert _body(thinking="off")["reasoning_effort"] == "none"
    assert _body(thinking="low")["reasoning_effort"] == "low"
    spec = make_spec(compat={"supportedReasoningEfforts": ["low", "high"]})
    assert "reasoning_effort" not in _body(spec, thinking="off")
    non_reasoning = make_spec(row={"reasoning": False})
    assert "reasoning_effort" not in _body(non_reasoning, thinking="high")
    no_effort = make_spec(compat={"supportsReasoningEffort": False})
    assert "reasoning_effort" not in _body(no_effort, thinking="high")


@pytest.mark.parametrize(
    ("fmt", "on", "off"),
    [
        ("openrouter", {"reasoning": {"effort": "high"}}, {"reasoning": {"effort": "none"}}),
        ("deepseek", {"thinking": {"type": "enabled"}}, {"thinking": {"type": "disabled"}}),
        ("zai", {"thinking": {"type": "enabled"}}, {"thinking": {"type": "disabled"}}),
        ("together", {"reasoning": {"enabled": True}}, {"reasoning": {"enabled": False}}),
        ("qwen", {"enable_thinking": True}, {"enable_thinking": False}),
        (
            "qwen-chat-template",
            {"chat_template_kwargs": {"enable_thinking": True}},
            {"chat_template_kwargs": {"enable_thinking": False}},
        ),
    ],
)
def test_thinking_formats(fmt: str, on: dict, off: dict) -> None:
    spec = make_spec(compat={"thinkingFormat": fmt})
    on_body, off_body = _body(spec, thinking="high"), _body(spec, thinking="off")
    for key, value in on.items():
        assert on_body[key] == value
    for key, value in off.items():
        assert off_body[key] == value
    assert "reasoning_effort" not in on_body


def test_tools_sorted_and_cleaned() -> None:
    spec = make_spec(provider_id="llama-cpp", compat={"unsupportedToolSchemaKeywords": ["format"]})
    body = _body(spec, Context(messages=[UserMessage("x")], tools=TOOLS))
    names = [t["function"]["name"] for t in body["tools"]]
    assert names == ["alpha", "zeta"]
    params = body["tools"][0]["function"]["parameters"]
    assert params["properties"]["pattern"] == {"type": "string"}  # property named pattern kept
    assert params["properties"]["path"] == {"type": "string"}  # huge maxLength dropped (llamacpp)
    assert params["properties"]["items"]["items"] == {"type": "string"}
    assert params["$defs"]["pattern"] == {"type": "string"}
    assert "strict" not in body["tools"][0]["function"]
    assert SCHEMA["properties"]["pattern"]["pattern"] == "^a+$"  # input untouched


def test_tools_dropped_when_unsupported_and_strict_flag() -> None:
    ctx = Context(messages=[UserMessage("x")], tools=TOOLS)
    assert "tools" not in _body(make_spec(compat={"supportsTools": False}), ctx)
    body = _body(make_spec(compat={"supportsStrictMode": True}), ctx)
    assert body["tools"][0]["function"]["strict"] is False


def test_clean_tool_schema_keeps_non_dicts() -> None:
    assert clean_tool_schema([1, {"a": 1, "b": 2}], {"b"}) == [1, {"a": 1}]


def test_system_role_developer_only_for_reasoning_with_flag() -> None:
    ctx = Context(system_prompt="S", messages=[UserMessage("x")])
    assert _body(make_spec(), ctx)["messages"][0]["role"] == "system"
    dev = make_spec(compat={"supportsDeveloperRole": True})
    assert _body(dev, ctx)["messages"][0]["role"] == "developer"
    dev_plain = make_spec(row={"reasoning": False}, compat={"supportsDeveloperRole": True})
    assert _body(dev_plain, ctx)["messages"][0]["role"] == "system"


IMG = ImageContent("aGVsbG8=", "image/png")


def test_images_only_for_image_models() -> None:
    ctx = Context(messages=[UserMessage([TextContent("look"), IMG])])
    vision = make_spec(row={"input": ["text", "image"]})
    parts = _body(vision, ctx)["messages"][0]["content"]
    assert parts[0] == {"type": "text", "text": "look"}
    assert parts[1]["image_url"]["url"] == "data:image/png;base64,aGVsbG8="
    assert _body(make_spec(), ctx)["messages"][0]["content"] == "look"
    flat = make_spec(row={"input": ["text", "image"]}, compat={"requiresStringContent": True})
    assert _body(flat, ctx)["messages"][0]["content"] == "look"


def _history(result: bool = True, then_user: bool = True) -> Context:
    call = ToolCall("call_1", "get_weather", {"city": "Paris"})
    msgs: list = [
        UserMessage("weather?"),
        AssistantMessage(
            [ThinkingContent("thinking..."), TextContent("Let me check."), call],
            stop_reason="toolUse",
        ),
    ]
    if result:
        msgs.append(ToolResultMessage("call_1", "get_weather", [TextContent("Sunny")]))
    if then_user:
        msgs.append(UserMessage("thanks"))
    return Context(messages=msgs)


def test_assistant_and_tool_messages() -> None:
    msgs = _body(ctx=_history())["messages"]
    assert [m["role"] for m in msgs] == ["user", "assistant", "tool", "user"]
    assistant = msgs[1]
    assert assistant["content"] == "Let me check."
    assert "reasoning_content" not in assistant
    assert assistant["tool_calls"] == [
        {
            "id": "call_1",
            "type": "function",
            "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
        }
    ]
    assert msgs[2] == {"role": "tool", "tool_call_id": "call_1", "content": "Sunny"}


def test_compat_message_flags() -> None:
    spec = make_spec(
        compat={
            "requiresToolResultName": True,
            "requiresAssistantAfterToolResult": True,
            "requiresReasoningContentOnAssistantMessages": True,
        }
    )
    msgs = _body(spec, _history())["messages"]
    assert [m["role"] for m in msgs] == ["user", "assistant", "tool", "assistant", "user"]
    assert msgs[1]["reasoning_content"] == "thinking..."
    assert msgs[2]["name"] == "get_weather"
    as_text = make_spec(compat={"requiresThinkingAsText": True})
    msgs = _body(as_text, _history())["messages"]
    assert msgs[1]["content"] == "thinking...\n\nLet me check."
    mistral = make_spec(compat={"requiresMistralToolIds": True})
    msgs = _body(mistral, _history())["messages"]
    tid = msgs[1]["tool_calls"][0]["id"]
    assert len(tid) == 9 and tid.isalnum() and msgs[2]["tool_call_id"] == tid


def test_orphaned_tool_call_gets_synthetic_error_result() -> None:
    msgs = _body(ctx=_history(result=False))["messages"]
    assert [m["role"] for m in msgs] == ["user", "assistant", "tool", "user"]
    assert msgs[2]["tool_call_id"] == "call_1"
    assert "did not complete" in msgs[2]["content"]
    msgs = _body(ctx=_history(result=False, then_user=False))["messages"]
    assert msgs[-1]["role"] == "tool"


def test_errored_assistant_turns_drop_their_tool_calls() -> None:
    ctx = Context(
        messages=[
            UserMessage("a"),
            AssistantMessage([ToolCall("c", "t", {})], stop_reason="aborted"),
            UserMessage("b"),
        ]
    )
    msgs = _body(ctx=ctx)["messages"]
    assert [m["role"] for m in msgs] == ["user", "user"]


def test_image_tool_result_becomes_user_message() -> None:
    ctx = _history(then_user=False)
    ctx.messages[2] = ToolResultMessage("call_1", "get_weather", [TextContent("chart"), IMG])
    vision = make_spec(row={"input": ["text", "image"]})
    msgs = _body(vision, ctx)["messages"]
    assert [m["role"] for m in msgs] == ["user", "assistant", "tool", "user"]
    assert msgs[3]["content"][1]["type"] == "image_url"


def test_headers() -> None:
    spec = make_spec(api_key="sk-1", headers={"X-A": "1"})
    h = build_headers(spec, True)
    assert h["Authorization"] == "Bearer sk-1" and h["X-A"] == "1"
    assert h["Accept"] == "text/event-stream"
    assert "Authorization" not in build_headers(make_spec(), False)
    custom = make_spec(
        api_key="sk-2",
        provider_config={"request": {"auth": {"mode": "header", "headerName": "x-api-key"}}},
    )
    h = build_headers(custom, True)
    assert h["x-api-key"] == "sk-2" and "Authorization" not in h


def test_ollama_v1_compat_defaults() -> None:
    """Ollama's /v1 ignores max_completion_tokens and rejects efforts other than
    none/low/medium/high (other-servers.md §7.4-7.5), also on a LAN host."""
    spec = make_spec("http://192.168.1.5:11434/v1", provider_id="ollama")
    assert spec.compat["supportsUsageInStreaming"] is True
    body = _body(spec, max_tokens=50, thinking="max")
    assert body["max_tokens"] == 50 and "max_completion_tokens" not in body
    assert body["reasoning_effort"] == "high"
    assert _body(spec, thinking="minimal")["reasoning_effort"] == "low"
    assert _body(spec, thinking="off")["reasoning_effort"] == "none"
    # The kind comes from the provider id (or api), never from the port.
    by_port = resolve_compat("box", {"baseUrl": "http://gpu-box:11434/v1"}, {})
    assert by_port["maxTokensField"] == "max_completion_tokens"
    assert "supportedReasoningEfforts" not in by_port
    explicit = make_spec(
        "http://gpu-box:11434/v1", provider_id="ollama", compat={"supportedReasoningEfforts": []}
    )
    assert _body(explicit, thinking="max")["reasoning_effort"] == "xhigh"


def test_ollama_v1_num_ctx() -> None:
    spec = make_spec(
        "http://127.0.0.1:11434/v1", provider_id="ollama", row={"contextWindow": 32768}
    )
    assert _body(spec)["options"] == {"num_ctx": 32768}
    assert "options" not in _body()


def test_spec_repr_never_shows_a_key() -> None:
    key = "sk-repr-secret-987654"
    spec = make_spec(
        api_key=key,
        headers={"Authorization": f"Bearer {key}"},
        row={"headers": {"X-Key": key}},
        provider_config={"apiKey": key},
    )
    for text in (repr(spec), str(spec), f"{spec!r}"):
        assert key not in text
        assert "provider_id='llama-cpp'" in text and "model_id='tiny'" in text
