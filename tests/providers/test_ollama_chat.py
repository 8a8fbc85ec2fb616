"""Ollama native chat (``POST /api/chat``, NDJSON) against the fake Ollama: the context rule on
every request, exact usage, thinking apart from the answer, tool calls accumulated over lines,
errors as one clear line, and the key only for remote hosts."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import anyio
import pytest
from tests.net.helpers import table_resolver
from tests.servers.fake_ollama import FakeOllama, Reply

from openclaw.config.settings import ModelSettings
from openclaw.errors import MalformedResponseError, ProviderNotFoundError
from openclaw.llm import ollama_chat
from openclaw.llm.ollama_context import NUM_CTX_CAP, resolve_num_ctx
from openclaw.llm.types import (
    ChatOptions,
    Context,
    DoneEvent,
    ErrorEvent,
    Event,
    ModelSpec,
    ToolSpec,
    UserMessage,
)
from openclaw.net.policy import policy_for_provider_config
from openclaw.providers.ollama import spec as spec_mod


@pytest.fixture
def ollama() -> Iterator[FakeOllama]:
    with FakeOllama() as server:
        yield server


def make_spec(
    base_url: str,
    model: str = "qwen3:8b",
    *,
    row: dict[str, Any] | None = None,
    provider: dict[str, Any] | None = None,
    api_key: str | None = None,
    credential_source: str = "none",
) -> ModelSpec:
    pcfg = {"baseUrl": base_url, "api": "ollama", **(provider or {})}
    return ModelSpec(
        provider_id="ollama",
        model_id=model,
        wire_model_id=model,
        api="ollama",
        base_url=base_url,
        model=ModelSettings.read({"id": model, **(row or {})}, pcfg),
        compat={},
        api_key=api_key,
        credential_source=credential_source,
        headers={},
        timeout_seconds=30,
        policy=policy_for_provider_config("ollama", pcfg),
    )


def run(spec: ModelSpec, options: ChatOptions | None = None, **kw: Any) -> list[Event]:
    context = Context(
        system_prompt="be brief",
        messages=[UserMessage("hi")],
        tools=[ToolSpec("ls", "list files", {"type": "object", "properties": {}})],
    )

    async def go() -> list[Event]:
        return [
            e async for e in ollama_chat.stream_chat(spec, context, options or ChatOptions(), **kw)
        ]

    return anyio.run(go)


def final(events: list[Event]) -> DoneEvent | ErrorEvent:
    last = events[-1]
    assert isinstance(last, DoneEvent | ErrorEvent)
    return last


# -- the context rule ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("row", "provider", "discovered", "expected"),
    [
        ({"params": {"num_ctx": 65536}}, {}, 40960, (65536, "params.num_ctx")),
        ({"contextWindow": 131072}, {}, 40960, (NUM_CTX_CAP, "configured")),
        ({"contextWindow": 8192}, {}, 40960, (8192, "configured")),
        ({"contextTokens": 16384, "contextWindow": 131072}, {}, None, (16384, "configured")),
        ({}, {"contextWindow": 12000}, 40960, (12000, "configured")),
        ({}, {}, 40960, (NUM_CTX_CAP, "discovered")),
        ({}, {}, 4096, (4096, "discovered")),
        ({}, {"params": {"num_ctx": 2048}}, 40960, (2048, "params.num_ctx")),
    ],
)
def test_context_rule(row: dict, provider: dict, discovered: int | None, expected: tuple) -> None:
    assert resolve_num_ctx(ModelSettings.read({"id": "m", **row}, provider), discovered) == expected


def test_num_ctx_sent_on_every_chat_request(ollama: FakeOllama) -> None:
    spec = spec_mod.with_model_info(make_spec(ollama.base_url, row={"contextWindow": 262144}), None)
    for _ in range(3):
        assert isinstance(final(run(spec)), DoneEvent)
    bodies = [r.json for r in ollama.chat_requests()]
    assert len(bodies) == 3
    assert [b["options"]["num_ctx"] for b in bodies] == [NUM_CTX_CAP] * 3
    # the budget reads the same number from the spec
    assert spec.context_tokens == NUM_CTX_CAP


def test_explicit_num_ctx_is_sent_as_written(ollama: FakeOllama) -> None:
    spec = make_spec(ollama.base_url, row={"params": {"num_ctx": 65536, "keep_alive": "30m"}})
    run(spec)
    body = ollama.chat_requests()[0].json
    assert body["options"]["num_ctx"] == 65536
    assert body["keep_alive"] == "30m"
    assert body["stream"] is True


def test_only_ollama_options_are_forwarded(ollama: FakeOllama) -> None:
    params = {"temperature": 0.2, "top_k": 20, "topP": 0.9, "preload": False, "streaming": True}
    run(make_spec(ollama.base_url, row={"params": params, "maxTokens": 256}))
    options = ollama.chat_requests()[0].json["options"]
    assert options["temperature"] == 0.2 and options["top_k"] == 20 and options["top_p"] == 0.9
    assert options["num_predict"] == 256
    assert "preload" not in options and "streaming" not in options


# -- the answer -----------------------------------------------------------------------------------


def test_exact_usage_from_eval_counts(ollama: FakeOllama) -> None:
    ollama.script(Reply(text="Hello!", prompt_eval_count=1234, eval_count=56))
    done = final(run(make_spec(ollama.base_url)))
    assert isinstance(done, DoneEvent)
    assert (done.usage.input, done.usage.output, done.usage.total) == (1234, 56, 1290)
    assert done.usage.source == "reported"
    assert done.message.text == "Hello!"


def test_thinking_is_kept_apart_from_the_answer(ollama: FakeOllama) -> None:
    ollama.script(Reply(text="The answer is 4.", thinking="2 plus 2 makes 4"))
    events = run(make_spec(ollama.base_url, row={"reasoning": True}), ChatOptions(thinking="high"))
    done = final(events)
    assert isinstance(done, DoneEvent)
    assert done.message.thinking == "2 plus 2 makes 4"
    assert done.message.text == "The answer is 4."
    kinds = [e.type for e in events]
    assert kinds.index("thinking_end") < kinds.index("text_start")
    assert ollama.chat_requests()[0].json["think"] is True


@pytest.mark.parametrize(
    ("model", "level", "reasoning", "expected"),
    [
        ("qwen3:8b", "off", True, False),
        ("qwen3:8b", "medium", True, True),
        ("gpt-oss:20b", "xhigh", True, "high"),
        ("gpt-oss:20b", "minimal", True, "low"),
        ("llama3.2:3b", "high", False, None),  # no thinking capability: no field at all
    ],
)
def test_think_from_the_thinking_level(
    model: str, level: str, reasoning: bool, expected: Any
) -> None:
    from openclaw.llm.ollama_wire import build_chat_body

    spec = make_spec("http://127.0.0.1:9", model, row={"reasoning": reasoning})
    body = build_chat_body(spec, Context(messages=[UserMessage("x")]), ChatOptions(thinking=level))
    assert body.get("think") == expected


def test_tool_call_split_over_two_lines_is_one_call_with_object_arguments(
    ollama: FakeOllama,
) -> None:
    ollama.script(Reply(text="", tool_calls=[("ls", {"path": ".", "all": True})], split_call=True))
    done = final(run(make_spec(ollama.base_url)))
    assert isinstance(done, DoneEvent)
    assert done.stop_reason == "toolUse"
    calls = done.message.tool_calls
    assert len(calls) == 1
    assert calls[0].name == "ls" and calls[0].arguments == {"path": ".", "all": True}


def test_two_calls_in_separate_lines_are_both_kept(ollama: FakeOllama) -> None:
    ollama.script(Reply(text="", tool_calls=[("ls", {"path": "a"}), ("ls", {"path": "b"})]))
    done = final(run(make_spec(ollama.base_url)))
    assert [c.arguments for c in done.message.tool_calls] == [{"path": "a"}, {"path": "b"}]


def test_done_reason_length_maps_to_length(ollama: FakeOllama) -> None:
    ollama.script(Reply(text="cut", done_reason="length"))
    assert final(run(make_spec(ollama.base_url))).stop_reason == "length"


def test_non_streamed_answer_is_read_whole(ollama: FakeOllama) -> None:
    ollama.script(Reply(text="whole", thinking="hmm", prompt_eval_count=9, eval_count=3))
    done = final(run(make_spec(ollama.base_url), ChatOptions(streaming=False)))
    assert isinstance(done, DoneEvent)
    assert (done.message.text, done.message.thinking, done.usage.input) == ("whole", "hmm", 9)


# -- failures ---------------------------------------------------------------------------------------


def test_missing_model_names_ollama_pull(ollama: FakeOllama) -> None:
    done = final(run(make_spec(ollama.base_url, "mistral:7b")))
    assert isinstance(done, ErrorEvent)
    assert isinstance(done.error, ProviderNotFoundError)
    assert "`ollama pull mistral:7b`" in done.error.message


def test_malformed_line_is_a_clear_error_and_keeps_the_partial_answer(ollama: FakeOllama) -> None:
    good = json.dumps({"message": {"role": "assistant", "content": "part"}, "done": False})
    ollama.script(Reply(raw_lines=[good.encode() + b"\n", b"<html>oops</html>\n"]))
    done = final(run(make_spec(ollama.base_url)))
    assert isinstance(done, ErrorEvent)
    assert isinstance(done.error, MalformedResponseError)
    assert "not JSON" in done.error.message
    assert done.message.text == "part"


def test_endless_line_is_refused(ollama: FakeOllama) -> None:
    ollama.script(Reply(raw_lines=[b'{"message":{"content":"' + b"x" * (2 * 1024 * 1024)]))
    done = final(run(make_spec(ollama.base_url)))
    assert isinstance(done, ErrorEvent)
    assert "KiB" in done.error.message


def test_stream_without_final_line_is_an_error(ollama: FakeOllama) -> None:
    line = json.dumps({"message": {"role": "assistant", "content": "half"}, "done": False})
    ollama.script(Reply(raw_lines=[line.encode() + b"\n"]))
    done = final(run(make_spec(ollama.base_url)))
    assert isinstance(done, ErrorEvent)
    assert "done:true" in done.error.message and done.message.text == "half"


def test_in_stream_error_line(ollama: FakeOllama) -> None:
    ollama.script(Reply(raw_lines=[b'{"error":"model runner has unexpectedly stopped"}\n']))
    done = final(run(make_spec(ollama.base_url)))
    assert isinstance(done, ErrorEvent)
    assert "unexpectedly stopped" in done.error.message


def test_unreachable_server_ends_with_an_error_event() -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    done = final(run(make_spec(f"http://127.0.0.1:{port}")))
    assert isinstance(done, ErrorEvent)


# -- cold loads ------------------------------------------------------------------------------------


def test_cold_load_waits_for_headers_and_reports_the_wait() -> None:
    with FakeOllama(load_delay=1.0) as slow:
        phases: list[str] = []
        spec = make_spec(slow.base_url)
        done = final(run(spec, on_wait=phases.append))
        assert isinstance(done, DoneEvent)
        assert phases == ["start", "end"]
        assert "qwen3:8b" in slow.loaded


def test_first_byte_timeout_is_long_for_a_local_chat() -> None:
    from dataclasses import replace

    spec = replace(make_spec("http://127.0.0.1:11434"), timeout_seconds=None)
    assert ollama_chat.chat_timeout(spec).read == ollama_chat.FIRST_BYTE_TIMEOUT == 300.0


# -- keys ------------------------------------------------------------------------------------------


def _remote_client(spec: ModelSpec) -> Any:
    from openclaw.net.client import async_client

    resolver = table_resolver({"gpu.example.com": ["127.0.0.1"]})
    return async_client(spec.policy, timeout=10, resolver=resolver)


def test_ollama_api_key_goes_to_a_remote_host(ollama: FakeOllama) -> None:
    remote = f"http://gpu.example.com:{ollama.port}"
    # (the name resolves to loopback in the test; the guard needs the private-network opt-in)
    spec = spec_mod.adjust(
        make_spec(
            remote,
            provider={"request": {"allowPrivateNetwork": True}},
            api_key="sk-remote-123",
            credential_source="env OLLAMA_API_KEY",
        )
    )
    assert isinstance(final(run(spec, client=_remote_client(spec))), DoneEvent)
    assert ollama.chat_requests()[0].headers.get("Authorization") == "Bearer sk-remote-123"


@pytest.mark.parametrize(
    "base", ["http://127.0.0.1:{port}", "http://localhost:{port}", "http://ollama-box:{port}"]
)
def test_ollama_api_key_never_goes_to_a_local_host(ollama: FakeOllama, base: str) -> None:
    url = base.format(port=ollama.port)
    spec = spec_mod.adjust(
        make_spec(
            url,
            provider={"request": {"allowPrivateNetwork": True}},
            api_key="sk-remote-123",
            credential_source="env OLLAMA_API_KEY",
        )
    )
    assert spec.api_key is None
    if "ollama-box" in url:  # a bare LAN hostname: resolved to loopback for the test
        resolver = table_resolver({"ollama-box": ["127.0.0.1"]})
        from openclaw.net.client import async_client

        run(spec, client=async_client(spec.policy, timeout=10, resolver=resolver))
    else:
        run(spec)
    assert "Authorization" not in ollama.chat_requests()[0].headers


# -- through the plugin --------------------------------------------------------------------------


class _Terminal:
    """A stderr stand-in that says it is a terminal and keeps what was written."""

    def __init__(self) -> None:
        self.parts: list[str] = []

    def isatty(self) -> bool:
        return True

    def write(self, text: str) -> None:
        self.parts.append(text)

    def flush(self) -> None:
        pass


def test_spinner_shows_elapsed_seconds_while_ollama_loads() -> None:
    from openclaw.providers.ollama.plugin import PLUGIN
    from openclaw.providers.progress import tty_load_spinner

    terminal = _Terminal()
    with FakeOllama(load_delay=0.6) as slow:
        spec = spec_mod.with_model_info(make_spec(slow.base_url), None)

        async def go() -> list[Event]:
            context = Context(messages=[UserMessage("hi")])
            return [e async for e in PLUGIN.stream(spec, context, ChatOptions())]

        with tty_load_spinner(terminal):
            events = anyio.run(go)
    assert isinstance(final(events), DoneEvent)
    shown = "".join(terminal.parts)
    assert f"Loading qwen3:8b in Ollama ({NUM_CTX_CAP} context tokens)… 0s" in shown


def test_resolved_spec_keeps_the_env_key_only_for_a_remote_host(
    isolated_home: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from openclaw.config.loader import load_config
    from openclaw.providers.runtime import resolve_model_spec

    rows = [{"id": "qwen3:8b", "contextWindow": 8192}]  # configured: no discovery request
    providers = {
        "ollama": {"baseUrl": "http://127.0.0.1:11434", "api": "ollama", "models": rows},
        "cloud": {"baseUrl": "https://ollama.example.com", "api": "ollama", "models": rows},
    }
    path = isolated_home / ".openclaw" / "openclaw.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"models": {"providers": providers}}))
    monkeypatch.setenv("OLLAMA_API_KEY", "sk-cloud-777")
    cfg = load_config()
    local = resolve_model_spec(cfg, "ollama/qwen3:8b")
    remote = resolve_model_spec(cfg, "cloud/qwen3:8b")
    assert local.api_key is None
    assert remote.api_key == "sk-cloud-777"
    assert local.context_tokens == remote.context_tokens == 8192


def test_openai_completions_api_keeps_the_v1_path_with_num_ctx(ollama: FakeOllama) -> None:
    from openclaw.providers.ollama.plugin import PLUGIN

    spec = make_spec(
        ollama.base_url + "/v1",
        provider={"api": "openai-completions"},
        row={"contextWindow": 65536},
    )

    async def go() -> list[Event]:
        context = Context(messages=[UserMessage("hi")])
        return [e async for e in PLUGIN.stream(spec, context, ChatOptions())]

    anyio.run(go)  # the fake serves only the native API; the request is what matters here
    (request,) = ollama.requests
    assert request.path == "/v1/chat/completions"
    assert request.json["options"] == {"num_ctx": NUM_CTX_CAP}


def test_tool_call_printed_as_text_is_promoted(ollama: FakeOllama) -> None:
    text = '<tool_call>{"name": "ls", "arguments": {"path": "src"}}</tool_call>'
    ollama.script(Reply(text=text))
    events = run(make_spec(ollama.base_url))
    done = final(events)
    assert isinstance(done, DoneEvent) and done.stop_reason == "toolUse"
    assert [(c.name, c.arguments) for c in done.message.tool_calls] == [("ls", {"path": "src"})]
    assert done.message.text == "" and not any(e.type == "text_delta" for e in events)


def test_text_that_only_looks_like_a_call_stays_text(ollama: FakeOllama) -> None:
    ollama.script(Reply(text="[1] is a footnote, not a call."))
    done = final(run(make_spec(ollama.base_url)))
    assert isinstance(done, DoneEvent) and done.stop_reason == "stop"
    assert done.message.text == "[1] is a footnote, not a call."
