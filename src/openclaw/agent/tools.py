"""Agent tools: a small, injectable registry.

The default set is ``read`` and ``ls`` (confined to the workspace directory; symlinks are
resolved before the check) and ``web_fetch`` (every request through the network guard, public
addresses only under ``STRICT_POLICY``; size and time caps; HTML reduced to text).

A tool never raises into the turn loop: refusals and failures come back to the model as an
error result carrying the reason, so it can explain or try something else. Results are capped
in size so one file or page cannot flood a small context.
"""

from __future__ import annotations

import json
import os
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from openclaw.errors import OpenClawError, SsrfBlockedError, ToolError
from openclaw.llm.types import TextContent, ToolCall, ToolResultMessage, ToolSpec

if TYPE_CHECKING:
    from openclaw.net.client import Resolver
    from openclaw.net.policy import NetPolicy

#: Default cap on one tool result, in characters (~2,000 tokens).
DEFAULT_RESULT_CHARS = 8000
READ_MAX_BYTES = 512 * 1024
LS_MAX_ENTRIES = 500
FETCH_TIMEOUT = 15.0
FETCH_MAX_BYTES = 2 * 1024 * 1024


@dataclass
class ToolContext:
    workspace: Path
    max_result_chars: int = DEFAULT_RESULT_CHARS


ToolHandler = Callable[[dict[str, Any], ToolContext], Awaitable[str]]


@dataclass
class Tool:
    name: str
    description: str
    parameters: dict[str, Any]
    handler: ToolHandler
    summary: str = ""  # one line for the system prompt

    def spec(self) -> ToolSpec:
        return ToolSpec(self.name, self.description, self.parameters)


@dataclass
class ToolRegistry:
    tools: dict[str, Tool] = field(default_factory=dict)

    @classmethod
    def of(cls, tools: Iterable[Tool]) -> ToolRegistry:
        reg = cls()
        for tool in tools:
            reg.register(tool)
        return reg

    def register(self, tool: Tool) -> None:
        """Add a tool, replacing one of the same name."""
        self.tools[tool.name] = tool

    @property
    def names(self) -> list[str]:
        return sorted(self.tools)

    def specs(self) -> list[ToolSpec]:
        return [self.tools[n].spec() for n in self.names]

    def summaries(self) -> list[tuple[str, str]]:
        return [(n, self.tools[n].summary or self.tools[n].description) for n in self.names]

    def __len__(self) -> int:
        return len(self.tools)

    async def execute(self, call: ToolCall, ctx: ToolContext) -> ToolResultMessage:
        """Run one call. Never raises (except cancellation): failures become error results."""
        tool = self.tools.get(call.name)
        if tool is None:
            avail = ", ".join(self.names) or "none"
            return _result(call, f"Unknown tool {call.name!r}. Available tools: {avail}.", True)
        args = call.arguments if isinstance(call.arguments, dict) else {}
        try:
            text = await tool.handler(args, ctx)
        except SsrfBlockedError as exc:
            return _result(call, f"{call.name} refused by the network guard: {exc.message}", True)
        except OpenClawError as exc:
            return _result(call, f"{call.name} failed: {exc.message}", True)
        except Exception as exc:  # a buggy tool must not kill the turn
            return _result(call, f"{call.name} failed: {type(exc).__name__}: {exc}", True)
        return _result(call, cap_text(text, ctx.max_result_chars), False)


def _result(call: ToolCall, text: str, is_error: bool) -> ToolResultMessage:
    return ToolResultMessage(
        tool_call_id=call.id,
        tool_name=call.name,
        content=[TextContent(text=text)],
        is_error=is_error,
    )


def cap_text(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return (
        text[:limit] + f"\n[…truncated: {len(text):,} characters in total, first {limit:,} shown]"
    )


def _str_arg(args: dict[str, Any], name: str, default: str | None = None) -> str:
    value = args.get(name, default)
    if value is None:
        raise ToolError(f"missing required argument {name!r}")
    if not isinstance(value, str):
        raise ToolError(f"argument {name!r} must be a string")
    return value


def _int_arg(args: dict[str, Any], name: str) -> int | None:
    value = args.get(name)
    if value is None:
        return None
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ToolError(f"argument {name!r} must be a non-negative integer")
    return value


# -- workspace confinement ----------------------------------------------------------------
def confine(workspace: Path, user_path: str) -> Path:
    """Resolve ``user_path`` inside the workspace, following symlinks, or raise ToolError."""
    if "\x00" in user_path:
        raise ToolError("path contains a NUL byte")
    root = workspace.resolve()
    candidate = Path(user_path)
    target = candidate if candidate.is_absolute() else root / candidate
    resolved = target.resolve()  # follows every symlink that exists
    if resolved != root and not resolved.is_relative_to(root):
        raise ToolError(
            f"{user_path} is outside the workspace; only files under {root} are readable"
        )
    if not root.is_dir():
        raise ToolError(f"the workspace directory {workspace} does not exist yet")
    return resolved


async def _read(args: dict[str, Any], ctx: ToolContext) -> str:
    user_path = _str_arg(args, "path")
    offset = _int_arg(args, "offset")
    limit = _int_arg(args, "limit")
    path = confine(ctx.workspace, user_path)
    if path.is_dir():
        raise ToolError(f"{user_path} is a directory (use ls)")
    if path.exists() and not path.is_file():  # a FIFO or device would block or never end
        raise ToolError(f"{user_path} is not a regular file")
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except FileNotFoundError:
        raise ToolError(f"{user_path}: no such file") from None
    except OSError as exc:
        raise ToolError(f"{user_path}: {exc.strerror}") from None
    with os.fdopen(fd, "rb") as fh:
        data = fh.read(READ_MAX_BYTES + 1)
    truncated = len(data) > READ_MAX_BYTES
    data = data[:READ_MAX_BYTES]
    if b"\x00" in data[:8192]:
        raise ToolError(f"{user_path} looks like a binary file; only text files can be read")
    text = data.decode("utf-8", errors="replace")
    if offset or limit:
        lines = text.splitlines(keepends=True)
        start = max((offset or 1) - 1, 0)
        end = start + limit if limit else len(lines)
        text = "".join(lines[start:end])
        if end < len(lines):
            text += f"\n[…{len(lines) - end} more lines; use offset={end + 1} to continue]"
    if truncated:
        text += f"\n[…file larger than {READ_MAX_BYTES // 1024} KiB; use offset/limit]"
    return text


async def _ls(args: dict[str, Any], ctx: ToolContext) -> str:
    user_path = _str_arg(args, "path", ".")
    path = confine(ctx.workspace, user_path or ".")
    if not path.exists():
        raise ToolError(f"{user_path}: no such directory")
    if not path.is_dir():
        raise ToolError(f"{user_path} is a file (use read)")
    try:
        entries = sorted(os.scandir(path), key=lambda e: e.name)
    except OSError as exc:
        raise ToolError(f"{user_path}: {exc.strerror}") from None
    lines = []
    for entry in entries[:LS_MAX_ENTRIES]:
        try:
            is_dir = entry.is_dir()
        except OSError:
            is_dir = False
        lines.append(entry.name + ("/" if is_dir else ""))
    if len(entries) > LS_MAX_ENTRIES:
        lines.append(f"[…{len(entries) - LS_MAX_ENTRIES} more entries]")
    return "\n".join(lines) if lines else "(empty directory)"


READ_TOOL = Tool(
    name="read",
    description="Read a text file from the workspace. Optional offset (first line, 1-based) "
    "and limit (number of lines) read part of a long file.",
    parameters={
        "type": "object",
        "properties": {
            "path": {"type": "string", "description": "File path relative to the workspace"},
            "offset": {"type": "integer", "description": "First line to read (1-based)"},
            "limit": {"type": "integer", "description": "Maximum number of lines"},
        },
        "required": ["path"],
    },
    handler=_read,
    summary="read a text file in the workspace",
)

LS_TOOL = Tool(
    name="ls",
    description="List the entries of a workspace directory (directories end with '/').",
    parameters={
        "type": "object",
        "properties": {
            "path": {"type": "string", "description": "Directory relative to the workspace"},
        },
    },
    handler=_ls,
    summary="list a directory in the workspace",
)


# -- web_fetch ------------------------------------------------------------------------------
def html_to_text(html: str) -> tuple[str | None, str]:
    """(title, readable text) of an HTML document; scripts, styles and markup dropped."""
    from html.parser import HTMLParser

    skip_tags = {"script", "style", "noscript", "template", "svg", "head"}
    block_tags = {
        "p", "div", "br", "li", "ul", "ol", "tr", "table", "section", "article", "header",
        "footer", "nav", "h1", "h2", "h3", "h4", "h5", "h6", "pre", "blockquote", "hr", "main",
        "aside", "dd", "dt", "dl", "figure", "figcaption", "form",
    }  # fmt: skip

    class Parser(HTMLParser):
        def __init__(self) -> None:
            super().__init__(convert_charrefs=True)
            self.parts: list[str] = []
            self.skip = 0
            self.in_title = False
            self.title: list[str] = []

        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            if tag == "title":
                self.in_title = True
            elif tag in skip_tags:
                self.skip += 1
            elif tag in block_tags:
                self.parts.append("\n")
            if tag == "li":
                self.parts.append("- ")

        def handle_endtag(self, tag: str) -> None:
            if tag == "title":
                self.in_title = False
            elif tag in skip_tags:
                self.skip = max(self.skip - 1, 0)
            elif tag in block_tags:
                self.parts.append("\n")

        def handle_data(self, data: str) -> None:
            if self.in_title:
                self.title.append(data)
            elif not self.skip:
                self.parts.append(data)

    parser = Parser()
    try:
        parser.feed(html)
        parser.close()
    except Exception:  # malformed markup: keep what was parsed
        pass
    out_lines: list[str] = []
    for line in "".join(parser.parts).splitlines():
        squeezed = " ".join(line.split())
        if squeezed or (out_lines and out_lines[-1]):
            out_lines.append(squeezed)
    title = " ".join("".join(parser.title).split()) or None
    return title, "\n".join(out_lines).strip()


def make_web_fetch_tool(
    policy: NetPolicy | None = None,
    *,
    resolver: Resolver | None = None,
    timeout: float = FETCH_TIMEOUT,
    max_bytes: int = FETCH_MAX_BYTES,
) -> Tool:
    """``web_fetch`` bound to a network policy (default ``STRICT_POLICY``: public URLs only)."""

    async def handler(args: dict[str, Any], ctx: ToolContext) -> str:
        from urllib.parse import urlsplit

        from openclaw.net.client import async_client
        from openclaw.net.policy import STRICT_POLICY

        url = _str_arg(args, "url").strip()
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ToolError(f"only http(s) URLs can be fetched, not {url[:100]!r}")
        async with async_client(
            policy or STRICT_POLICY,
            timeout=timeout,
            max_body_bytes=max_bytes,
            headers={"User-Agent": "openclaw-web-fetch", "Accept": "text/html, text/*, */*;q=0.5"},
            resolver=resolver,
        ) as client:
            response = await client.request("GET", url)
        status = response.status_code
        ctype = response.headers.get("content-type", "").split(";")[0].strip().lower()
        textual = (
            not ctype
            or ctype.startswith("text/")
            or ctype.endswith(("json", "xml", "javascript"))
            or "+json" in ctype
            or "+xml" in ctype
        )
        if not textual:
            raise ToolError(f"{url} returned {ctype}, which is not text (HTTP {status})")
        body = response.text
        title: str | None = None
        if "html" in ctype or (not ctype and "<html" in body[:1000].lower()):
            title, body = html_to_text(body)
        header = [f"URL: {url}", f"Status: {status}"]
        if ctype:
            header.append(f"Content-Type: {ctype}")
        if title:
            header.append(f"Title: {title}")
        return "\n".join(header) + "\n\n" + body

    return Tool(
        name="web_fetch",
        description="Fetch a public web page (http or https) and return its text content.",
        parameters={
            "type": "object",
            "properties": {"url": {"type": "string", "description": "The http(s) URL to fetch"}},
            "required": ["url"],
        },
        handler=handler,
        summary="fetch a public web page as text",
    )


def default_registry(
    *, fetch_policy: NetPolicy | None = None, resolver: Resolver | None = None
) -> ToolRegistry:
    return ToolRegistry.of(
        [READ_TOOL, LS_TOOL, make_web_fetch_tool(fetch_policy, resolver=resolver)]
    )


def describe_call(call: ToolCall, limit: int = 120) -> str:
    """One line for the terminal: ``read {"path": "notes.md"}``."""
    args = json.dumps(call.arguments, ensure_ascii=False, separators=(", ", ": "))
    if len(args) > limit:
        args = args[: limit - 1] + "…"
    return f"{call.name} {args}"


def tool_error_result(call: ToolCall, text: str) -> ToolResultMessage:
    """A failed tool result the model can read (tools disabled, interrupted)."""
    return _result(call, text, True)
