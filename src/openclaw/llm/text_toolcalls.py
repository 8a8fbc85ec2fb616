"""Promote tool calls that a local model printed as plain text (lmstudio.md §6.5).

Accepted, for registered tool names only, with nothing but whitespace around the blocks:

* ``[name]`` + line break + a JSON object + ``[END_TOOL_REQUEST]`` or ``[/name]``
* Harmony: ``commentary to=name code {json}``
* Gemma 4: ``<|tool_call>call:name{...}<tool_call|>`` (JSON, or Gemma's ``key:<|"|>v<|"|>``)
* Hermes / Qwen: ``<tool_call>{"name": ..., "arguments": {...}}</tool_call>`` (servers that do
  not parse their own template's tool calls, such as llama-cpp-python)

Anything else (an unknown name, prose around the blocks, malformed JSON) returns None and the
text passes through unchanged.
"""

from __future__ import annotations

import json
import re
import secrets
from typing import Any

MAX_PROMOTABLE_CHARS = 256_000

_PREFIXES = ("[", "commentary to=", "<|tool_call>", "<tool_call>")
_JSON = json.JSONDecoder()
_NON_SPACE = re.compile(r"\S")
_HEAD_CHARS = 256
# A prefix of "[name]" + spaces + line break + whitespace + "{...": the whole (head) matches.
_BRACKET_PREFIX = re.compile(
    r"\[(?:[A-Za-z0-9_-]+(?:\][ \t]*(?:\r?(?:\n\s*(?:\{.*)?)?)?)?)?\Z", re.S
)
_BRACKET_HEAD = re.compile(r"\[([A-Za-z0-9_-]+)\][ \t]*\r?\n")
_HARMONY_HEAD = re.compile(
    r"commentary to=(?:functions\.)?([A-Za-z0-9_.-]+)(?:[ \t]+(?:<\|constrain\|>)?(?:code|json))?\s*"
)
_GEMMA_HEAD = re.compile(r"<\|tool_call\>\s*call:([A-Za-z0-9_.-]+)\s*")
_GEMMA_END = "<tool_call|>"
_HERMES_HEAD = re.compile(r"<tool_call>\s*")
_HERMES_END = re.compile(r"\s*</tool_call>")
_GEMMA_STR = re.compile(r'<\|"\|>(.*?)<\|"\|>', re.S)
_BARE_KEY = re.compile(r"([{,]\s*)([A-Za-z_][A-Za-z0-9_-]*)\s*:")


def new_call_id() -> str:
    return "call_" + secrets.token_hex(12)


def could_be_tool_call(text: str) -> bool:
    """While streaming: might this text still turn out to be only tool-call blocks?

    Only the head is looked at (each call is O(1) in the length of the held text): for the
    ``[name]`` form, what follows ``[`` must still fit ``name]``, spaces, a line break and
    ``{``, so a reply that merely starts with ``[`` (a link, ``[1]``) is released at once."""
    if len(text) > MAX_PROMOTABLE_CHARS:
        return False
    m = _NON_SPACE.search(text)
    if m is None:
        return True
    t = text[m.start() : m.start() + _HEAD_CHARS]
    if t[0] == "[":
        return _BRACKET_PREFIX.match(t) is not None
    return any(t.startswith(p) or p.startswith(t) for p in _PREFIXES)


def _json_object(text: str, pos: int) -> tuple[dict[str, Any], int] | None:
    while pos < len(text) and text[pos] in " \t\r\n":
        pos += 1
    if pos >= len(text) or text[pos] != "{":
        return None
    try:
        value, end = _JSON.raw_decode(text, pos)
    except ValueError:
        return None
    return (value, end) if isinstance(value, dict) else None


def _gemma_args(body: str) -> dict[str, Any] | None:
    try:
        value = json.loads(body)
    except ValueError:
        converted = _GEMMA_STR.sub(lambda m: json.dumps(m.group(1)), body)
        converted = _BARE_KEY.sub(lambda m: f'{m.group(1)}"{m.group(2)}":', converted)
        try:
            value = json.loads(converted)
        except ValueError:
            return None
    return value if isinstance(value, dict) else None


def parse_text_tool_calls(
    text: str, tool_names: set[str] | frozenset[str]
) -> list[tuple[str, dict]] | None:
    """``[(name, arguments), ...]`` when ``text`` is made only of tool-call blocks, else None."""
    if not tool_names or len(text) > MAX_PROMOTABLE_CHARS:
        return None
    calls: list[tuple[str, dict]] = []
    pos, n = 0, len(text)
    while True:
        while pos < n and text[pos].isspace():
            pos += 1
        if pos >= n:
            break
        m = _BRACKET_HEAD.match(text, pos)
        if m:
            name = m.group(1)
            parsed = _json_object(text, m.end())
            if name not in tool_names or parsed is None:
                return None
            args, end = parsed
            while end < n and text[end] in " \t\r\n":
                end += 1
            for closer in ("[END_TOOL_REQUEST]", f"[/{name}]"):
                if text.startswith(closer, end):
                    pos = end + len(closer)
                    break
            else:
                return None
            calls.append((name, args))
            continue
        m = _HARMONY_HEAD.match(text, pos)
        if m:
            name = m.group(1)
            parsed = _json_object(text, m.end())
            if name not in tool_names or parsed is None:
                return None
            calls.append((name, parsed[0]))
            pos = parsed[1]
            continue
        m = _GEMMA_HEAD.match(text, pos)
        if m:
            name = m.group(1)
            end = text.find(_GEMMA_END, m.end())
            if name not in tool_names or end < 0:
                return None
            args_gemma = _gemma_args(text[m.end() : end].strip())
            if args_gemma is None:
                return None
            calls.append((name, args_gemma))
            pos = end + len(_GEMMA_END)
            continue
        m = _HERMES_HEAD.match(text, pos)
        if m:
            parsed = _json_object(text, m.end())
            if parsed is None:
                return None
            obj, end = parsed
            name, args = obj.get("name"), obj.get("arguments", {})
            if isinstance(args, str):
                try:
                    args = json.loads(args)
                except ValueError:
                    return None
            if not isinstance(name, str) or name not in tool_names or not isinstance(args, dict):
                return None
            close = _HERMES_END.match(text, end)
            if close is None:
                return None
            calls.append((name, args))
            pos = close.end()
            continue
        return None
    return calls or None
