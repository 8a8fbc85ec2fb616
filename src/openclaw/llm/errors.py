"""Turn what a server said into one error a user can act on.

Error bodies come in many shapes (other-servers.md §8.3): ``{"error":{...}}``,
``{"error":"text"}``, flat ``{"object":"error","message":...}``, FastAPI ``{"detail":...}``,
``{"message":...}`` and plain text or HTML. Context overflow is recognised from the wording of
llama.cpp, OpenAI / vLLM / llama-cpp-python, SGLang, LocalAI, TabbyAPI, Ollama and LM Studio.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

from openclaw.errors import (
    ContextOverflowError,
    MalformedResponseError,
    OpenClawError,
    ProviderAuthError,
    ProviderHTTPError,
    ProviderNotFoundError,
    ProviderRateLimitError,
    ProviderTransientError,
)

if TYPE_CHECKING:
    from openclaw.llm.types import ModelSpec

_EXCERPT = 300

_OVERFLOW_MARKERS = (
    "exceed_context_size_error",
    "context_length_exceeded",
    "exceeds the available context size",
    "maximum context length",
    "longer than the model's context length",
    "context length is only",
    "is larger than the max context size",
    "exceeded max context length",
    "trying to keep the first",
    "the model is loaded with context length of only",
    "context window exceeded",
    "prompt is too long",
)

# (regex, group of requested, group of available); first match wins.
_OVERFLOW_NUMBERS: tuple[tuple[re.Pattern[str], int, int], ...] = (
    # llama.cpp: request (10019 tokens) exceeds the available context size (4096 tokens)
    (
        re.compile(r"request \((\d+) tokens\) exceeds the available context size \((\d+) tokens\)"),
        1,
        2,
    ),
    # LocalAI: input (9739 tokens) is larger than the max context size (8192 tokens)
    (
        re.compile(r"input \((\d+) tokens\) is larger than the max context size \((\d+) tokens\)"),
        1,
        2,
    ),
    # SGLang: The input (10009 tokens) is longer than the model's context length (8192 tokens)
    (
        re.compile(
            r"input \((\d+) tokens\) is longer than the model's context length \((\d+) tokens\)"
        ),
        1,
        2,
    ),
    # TabbyAPI: Prompt length 9000 exceeds the available context size of 8192 tokens
    (re.compile(r"length (\d+) exceeds the available context size of (\d+)"), 1, 2),
    (
        re.compile(
            r"requires (\d+) cache tokens, which exceeds the available context size of (\d+)"
        ),
        1,
        2,
    ),
    # LM Studio: Trying to keep the first N tokens ... context length of only M tokens
    (re.compile(r"keep the first (\d+) tokens.*?context length of only (\d+) tokens", re.S), 1, 2),
)
_MAX_CTX = re.compile(r"maximum context length (?:is |of )?(\d+)")
_REQUESTED_TOTAL = re.compile(
    r"(?:total of (?:at least )?|you requested (?:a total of )?)(\d+) tokens"
)
_PASSED = re.compile(r"you passed (\d+) input tokens and requested (\d+) output tokens")
_ONLY = re.compile(r"context length is only (\d+)")
_LOADED_ONLY = re.compile(r"context length of only (\d+)")


def parse_context_overflow(text: str) -> tuple[int | None, int | None] | None:
    """``(requested, available)`` when ``text`` is a context-overflow error, else None."""
    if not text:
        return None
    low = text.lower()
    if not any(marker in low for marker in _OVERFLOW_MARKERS):
        return None
    for pattern, req_group, avail_group in _OVERFLOW_NUMBERS:
        m = pattern.search(low)
        if m:
            return int(m.group(req_group)), int(m.group(avail_group))
    requested: int | None = None
    available: int | None = None
    m = _PASSED.search(low)
    if m:
        requested = int(m.group(1)) + int(m.group(2))
    m = _MAX_CTX.search(low) or _ONLY.search(low) or _LOADED_ONLY.search(low)
    if m:
        available = int(m.group(1))
    if requested is None:
        m = _REQUESTED_TOTAL.search(low)
        if m and int(m.group(1)) > 0:
            requested = int(m.group(1))
    return requested, available


def error_text(body: bytes | str) -> str:
    """The server's own message, whatever envelope it used (raw text as a last resort)."""
    raw = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    try:
        data = json.loads(raw)
    except ValueError:
        return _squash(raw)
    return _squash(message_from_json(data) or raw)


def message_from_json(data: Any) -> str | None:
    if isinstance(data, dict):
        err = data.get("error")
        if isinstance(err, dict):
            msg = err.get("message")
            if isinstance(msg, str) and msg:
                return msg
            return json.dumps(err)[:_EXCERPT]
        if isinstance(err, str) and err:
            return err
        for key in ("message", "detail"):
            val = data.get(key)
            if isinstance(val, str) and val:
                return val
            if isinstance(val, list) and val:
                parts = []
                for item in val[:3]:
                    if isinstance(item, dict) and isinstance(item.get("msg"), str):
                        loc = item.get("loc")
                        where = ".".join(str(p) for p in loc) if isinstance(loc, list) else ""
                        parts.append(f"{where}: {item['msg']}" if where else item["msg"])
                    else:
                        parts.append(str(item))
                return "; ".join(parts)
    return None


def overflow_from_json(data: Any) -> tuple[int | None, int | None] | None:
    """llama.cpp puts the numbers in ``n_prompt_tokens`` / ``n_ctx``; others only in text."""
    if not isinstance(data, dict):
        return None
    err = data.get("error")
    obj = err if isinstance(err, dict) else data
    markers = " ".join(str(obj.get(k, "")) for k in ("type", "code", "message"))
    found = parse_context_overflow(markers)
    if found is None:
        return None
    req, avail = found
    n_prompt, n_ctx = obj.get("n_prompt_tokens"), obj.get("n_ctx")
    if isinstance(n_prompt, int) and not isinstance(n_prompt, bool):
        req = n_prompt
    if isinstance(n_ctx, int) and not isinstance(n_ctx, bool):
        avail = n_ctx
    return req, avail


def _squash(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _EXCERPT else text[: _EXCERPT - 1] + "…"


def _redact(text: str, spec: ModelSpec) -> str:
    from openclaw.auth.redact import redact_text

    return redact_text(text, [spec.api_key], "***")


def looks_like_html(body: bytes | str, content_type: str = "") -> bool:
    if "text/html" in content_type.lower():
        return True
    head = body[:512] if isinstance(body, bytes) else body[:512].encode("utf-8", "replace")
    head = head.lstrip().lower()
    return head.startswith((b"<!doctype html", b"<html", b"<head", b"<body"))


def context_overflow_error(
    spec: ModelSpec, requested: int | None, available: int | None, detail: str
) -> ContextOverflowError:
    if requested is not None and available is not None:
        what = f"the prompt needs {requested} tokens but {spec.key} has a context of {available}"
    elif available is not None:
        what = f"the prompt does not fit the {available}-token context of {spec.key}"
    else:
        what = f"the prompt does not fit the context of {spec.key}"
    return ContextOverflowError(
        f"Context overflow: {what} ({detail})",
        requested=requested,
        available=available,
        hint=(
            "Start a new session or shorten the input, or give the model a larger context "
            "(contextTokens / the server's context size)."
        ),
    )


def html_error(spec: ModelSpec, status: int | None = None) -> MalformedResponseError:
    got = f"HTTP {status} with an HTML page" if status else "an HTML page"
    base = spec.base_url.rstrip("/")
    if base.endswith("/v1"):
        # /v1 is there: a web UI, a login page or a proxy answered instead of the API.
        why, example = "the base URL does not reach an OpenAI-compatible API", ""
    else:
        why, example = "the base URL probably lacks /v1", f" ({base}/v1 for this server)"
    return MalformedResponseError(
        f"{spec.provider_id} answered {base}/chat/completions with {got} instead of JSON: {why}",
        hint=f"Set models.providers.{spec.provider_id}.baseUrl to the server's OpenAI-compatible "
        f"endpoint{example}.",
    )


def classify_http_error(
    status: int, body: bytes, spec: ModelSpec, content_type: str = ""
) -> OpenClawError:
    """Map a non-2xx answer (or a 2xx that is not what we asked for) to a typed error."""
    raw = body[:65536]
    try:
        data: Any = json.loads(raw)
    except ValueError:
        data = None
    text = _redact(error_text(raw), spec) if raw.strip() else ""
    excerpt = text or "(empty body)"

    overflow = overflow_from_json(data) if data is not None else None
    if overflow is None and status in (400, 413, 422, 500, 200):
        overflow = parse_context_overflow(text)
    if overflow is not None:
        return context_overflow_error(spec, overflow[0], overflow[1], excerpt)

    if data is None and raw and looks_like_html(raw, content_type) and status in (200, 404, 405):
        return html_error(spec, status if status != 200 else None)

    where = f"{spec.provider_id} ({spec.base_url})"
    if status in (401, 403):
        if spec.api_key:
            msg = f"{where} rejected the API key: HTTP {status}: {excerpt}"
            hint = (
                f"The key came from {spec.credential_source}. Check it or store a new one "
                f"(`openclaw onboard`, or the provider's apiKey in openclaw.json)."
            )
        else:
            msg = f"{where} requires an API key but none was sent: HTTP {status}: {excerpt}"
            from openclaw.auth.resolve import key_setup_hint

            hint = (
                f"No key is configured for {spec.provider_id} ({spec.credential_source}). "
                + key_setup_hint(spec.provider_id, spec.provider_config)
            )
        return ProviderAuthError(msg, status=status, body_excerpt=excerpt, hint=hint)
    if status == 404:
        return ProviderNotFoundError(
            f"{where} has no model {spec.wire_model_id!r} or the URL is wrong: HTTP 404: {excerpt}",
            status=status,
            body_excerpt=excerpt,
            hint="Check the model id (`openclaw models list`) and that baseUrl ends in /v1.",
        )
    if status == 429:
        return ProviderRateLimitError(
            f"{where} is rate limiting requests: HTTP 429: {excerpt}",
            status=status,
            body_excerpt=excerpt,
            hint="Wait a moment and retry, or configure a fallback model.",
        )
    if status in (408, 425) or status >= 500:
        return ProviderTransientError(
            f"{where} failed: HTTP {status}: {excerpt}",
            status=status,
            body_excerpt=excerpt,
            hint="The server had a temporary problem; retry, and check the server's log.",
        )
    return ProviderHTTPError(
        f"{where} refused the request: HTTP {status}: {excerpt}",
        status=status,
        body_excerpt=excerpt,
    )


def stream_error(obj: Any, spec: ModelSpec) -> OpenClawError:
    """An ``error`` object that arrived inside a 200 stream."""
    text = _redact(_squash(message_from_json({"error": obj}) or "unknown error"), spec)
    overflow = overflow_from_json({"error": obj}) or parse_context_overflow(text)
    if overflow is not None:
        return context_overflow_error(spec, overflow[0], overflow[1], text)
    code = obj.get("code") if isinstance(obj, dict) else None
    status = code if isinstance(code, int) and not isinstance(code, bool) else 0
    if status in (401, 403):
        return ProviderAuthError(
            f"{spec.provider_id} rejected the request mid-stream: {text}",
            status=status,
            body_excerpt=text,
            hint=f"The key came from {spec.credential_source}.",
        )
    if status == 429:
        return ProviderRateLimitError(
            f"{spec.provider_id} is rate limiting requests (in the stream, code 429): {text}",
            status=status,
            body_excerpt=text,
            hint="Wait a moment and retry, or configure a fallback model.",
        )
    if status in (408, 425) or 500 <= status < 600:
        return ProviderTransientError(
            f"{spec.provider_id} reported an error during the stream (code {status}): {text}",
            status=status,
            body_excerpt=text,
            hint="The server had a temporary problem; retry, and check the server's log. "
            "The partial answer was kept.",
        )
    return MalformedResponseError(
        f"{spec.provider_id} reported an error during the stream: {text}",
        hint="Check the server's log; the partial answer was kept.",
    )
