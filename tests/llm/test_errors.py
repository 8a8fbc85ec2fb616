"""Error bodies of every server family become one actionable error."""

from __future__ import annotations

import json

import pytest

from openclaw.errors import (
    ContextOverflowError,
    MalformedResponseError,
    ProviderHTTPError,
    ProviderTransientError,
)
from openclaw.llm.errors import classify_http_error, error_text, parse_context_overflow

from .support import make_spec


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "request (10019 tokens) exceeds the available context size (4096 tokens), try increasing it",
            (10019, 4096),
        ),
        (
            "This model's maximum context length is 2048 tokens. However, you requested 2723 "
            "tokens (1699 in the messages, 1024 in the completion).",
            (2723, 2048),
        ),
        (
            "This model's maximum context length is 40960 tokens. However, you requested 0 output "
            "tokens and your prompt contains at least 40961 input tokens, for a total of at least "
            "40961 tokens.",
            (40961, 40960),
        ),
        (
            "You passed 12289 input tokens and requested 4096 output tokens. However, the model's "
            "context length is only 16384 tokens, resulting in a maximum input length of 12288 tokens.",
            (16385, 16384),
        ),
        (
            "The input (10009 tokens) is longer than the model's context length (8192 tokens).",
            (10009, 8192),
        ),
        (
            "Requested token count exceeds the model's maximum context length of 64000 tokens. You "
            "requested a total of 71897 tokens: 7897 tokens from the input messages and 64000 tokens",
            (71897, 64000),
        ),
        (
            "input (9739 tokens) is larger than the max context size (8192 tokens). skipping",
            (9739, 8192),
        ),
        ("Prompt length 9000 exceeds the available context size of 8192 tokens", (9000, 8192)),
        ("prompt too long; exceeded max context length by 12 tokens", (None, None)),
        (
            "Trying to keep the first 6000 tokens when context the overflows. However, the model is "
            "loaded with context length of only 4096 tokens, which is not enough.",
            (6000, 4096),
        ),
        ("Invalid API Key", None),
    ],
)
def test_parse_context_overflow(text: str, expected: tuple | None) -> None:
    assert parse_context_overflow(text) == expected


@pytest.mark.parametrize(
    ("body", "text"),
    [
        (b'{"error":{"message":"boom","type":"x"}}', "boom"),
        (b'{"error":"Unauthorized"}', "Unauthorized"),
        (b'{"object":"error","message":"flat"}', "flat"),
        (b'{"detail":"No models are currently loaded."}', "No models are currently loaded."),
        (
            b'{"detail":[{"loc":["body","messages"],"msg":"Field required"}]}',
            "body.messages: Field required",
        ),
        (b'{"message":"Engine is not loaded yet"}', "Engine is not loaded yet"),
        (b"Internal Server Error", "Internal Server Error"),
    ],
)
def test_error_text_shapes(body: bytes, text: str) -> None:
    assert error_text(body) == text


def test_500_plain_text_is_transient() -> None:
    err = classify_http_error(500, b"Internal Server Error", make_spec())
    assert isinstance(err, ProviderTransientError)
    assert "Internal Server Error" in err.message


def test_tabby_overflow_code_in_400() -> None:
    body = json.dumps(
        {
            "error": {
                "message": "Prompt length 9000 exceeds the available context size of 8192 tokens",
                "code": "context_length_exceeded",
            }
        }
    ).encode()
    err = classify_http_error(400, body, make_spec())
    assert isinstance(err, ContextOverflowError)
    assert (err.requested, err.available) == (9000, 8192)


def test_html_404_hints_at_v1() -> None:
    page = b"<html><body>Not Found</body></html>"
    err = classify_http_error(404, page, make_spec("http://127.0.0.1:9"), "text/html")
    assert isinstance(err, MalformedResponseError)
    assert "lacks /v1" in err.message
    assert "http://127.0.0.1:9/v1" in (err.hint or "")
    # with /v1 already there, something else (a web UI, a proxy) answered
    err = classify_http_error(404, page, make_spec("http://127.0.0.1:9/v1"), "text/html")
    assert isinstance(err, MalformedResponseError)
    assert "lacks /v1" not in err.message
    assert "does not reach an OpenAI-compatible API" in err.message


def test_other_4xx_keeps_server_message_and_redacts_key() -> None:
    key = "sk-echoed-secret-1"
    err = classify_http_error(400, f'{{"error":"bad key {key}"}}'.encode(), make_spec(api_key=key))
    assert type(err) is ProviderHTTPError
    assert key not in err.message and "bad key ***" in err.message
