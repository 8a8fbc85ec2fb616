"""``<think>...</think>`` at the start of streamed content, split into thinking and answer.

Servers without a reasoning parser (llama-cpp-python, some llama.cpp builds) put the model's
thinking in ``content``, wrapped in think tags. The tags may arrive split across any number of
deltas, so the splitter is a small state machine that holds back only what could still be part
of a tag.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import Enum

OPEN_TAG = "<think>"
CLOSE_TAG = "</think>"

Sink = Callable[[str], None]


class ThinkState(Enum):
    DECIDING = "deciding"  # only whitespace or a prefix of <think> so far
    OPENED = "opened"  # <think> seen: skipping whitespace before the thinking text
    THINKING = "thinking"  # inside the think block, watching for </think>
    CLOSED = "closed"  # </think> seen: skipping whitespace before the answer
    PLAIN = "plain"  # everything from here on is answer text


# Plain module names for the members: an Enum attribute lookup costs ~10x a global one, and
# this runs once per streamed delta.
DECIDING, OPENED, THINKING, CLOSED, PLAIN = (
    ThinkState.DECIDING,
    ThinkState.OPENED,
    ThinkState.THINKING,
    ThinkState.CLOSED,
    ThinkState.PLAIN,
)


class ThinkTagSplitter:
    """Feed content deltas; thinking goes to ``thinking``, answer text to ``text``."""

    __slots__ = ("_buf", "_text", "_thinking", "state")

    def __init__(self, enabled: bool, *, thinking: Sink, text: Sink) -> None:
        self.state = DECIDING if enabled else PLAIN
        self._buf = ""  # held back: could still be (part of) a tag
        self._thinking = thinking
        self._text = text

    @property
    def holding(self) -> bool:
        return bool(self._buf)

    def feed(self, s: str) -> None:
        state = self.state
        if state is PLAIN:
            self._text(s)
        elif state is DECIDING:
            self._decide(s)
        elif state is OPENED:
            s = s.lstrip()
            if s:
                self.state = THINKING
                self._inside(s)
        elif state is THINKING:
            self._inside(s)
        else:  # CLOSED
            s = s.lstrip()
            if s:
                self.state = PLAIN
                self._text(s)

    def flush(self) -> None:
        """The content ended (or a tool call began): release what was held, plain from now on."""
        buf, self._buf = self._buf, ""
        state, self.state = self.state, PLAIN
        if not buf:
            return
        if state is THINKING:
            self._thinking(buf)
        elif state is DECIDING:
            self._text(buf)

    def _decide(self, s: str) -> None:
        buf = self._buf + s
        head = buf.lstrip()
        if head.startswith(OPEN_TAG):
            self._buf = ""
            self.state = OPENED
            self.feed(head[len(OPEN_TAG) :])
        elif not head or OPEN_TAG.startswith(head):
            self._buf = buf
        else:
            self._buf = ""
            self.state = PLAIN
            self._text(buf)

    def _inside(self, s: str) -> None:
        buf = self._buf + s
        end = buf.find(CLOSE_TAG)
        if end >= 0:
            self._buf = ""
            if end:
                self._thinking(buf[:end])
            self.state = CLOSED
            self.feed(buf[end + len(CLOSE_TAG) :])
            return
        keep = 0  # the longest tail that could be the start of </think>
        for k in range(min(len(CLOSE_TAG) - 1, len(buf)), 0, -1):
            if CLOSE_TAG.startswith(buf[-k:]):
                keep = k
                break
        self._buf = buf[-keep:] if keep else ""
        if keep:
            buf = buf[:-keep]
        if buf:
            self._thinking(buf)
