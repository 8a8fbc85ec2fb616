"""Incremental Server-Sent Events decoder over raw bytes.

Written for speed and for byte-exact robustness: the decoder never decodes text itself (the
``data`` payload stays ``bytes`` and goes straight to ``json.loads``), accepts ``\\n``, ``\\r\\n``
and ``\\r`` line endings, skips comment lines (``:`` keep-alives) and ignores ``event:``,
``id:`` and ``retry:`` fields. Feeding a stream split at any byte boundary yields the same
payloads as feeding it whole.

A line that is not a field at all (for instance a bare JSON object written without
``data:``, as legacy cortex.cpp does on errors) is reported as a :class:`SSEProtocolError`
instead of being silently dropped.
"""

from __future__ import annotations

DEFAULT_MAX_EVENT_BYTES = 4 * 1024 * 1024


class SSEProtocolError(ValueError):
    """The byte stream is not valid SSE for our purposes (``kind`` says why)."""

    def __init__(self, message: str, *, kind: str, line: bytes = b"") -> None:
        super().__init__(message)
        self.kind = kind  # "too_large" | "not_sse"
        self.line = line


class SSEDecoder:
    """Feed bytes, get back the ``data`` payload of every completed event."""

    __slots__ = ("_buf", "_data", "_max", "_size", "_tail", "_tail_size", "_trailing_cr")

    def __init__(self, max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES) -> None:
        self._buf = b""
        self._data: list[bytes] = []
        self._size = 0
        self._max = max_event_bytes
        self._trailing_cr = False
        # Reads without any line break (a big event arriving in small pieces) are collected
        # here and joined once, instead of re-copying a growing buffer on every read.
        self._tail: list[bytes] = []
        self._tail_size = 0

    def feed(self, chunk: bytes) -> list[bytes]:
        if self._trailing_cr:
            self._trailing_cr = False
            if chunk[:1] == b"\n":
                chunk = chunk[1:]  # the \n of a \r\n split across two reads
        if b"\n" not in chunk and b"\r" not in chunk:
            if chunk:
                self._tail.append(chunk)
                self._tail_size += len(chunk)
                if len(self._buf) + self._tail_size + self._size > self._max:
                    self._too_large()
            return []
        if self._tail:
            self._join_tail()
        buf = self._buf + chunk if self._buf else chunk
        if b"\r" in buf:
            if buf[-1:] == b"\r":
                self._trailing_cr = True
            buf = buf.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        cut = buf.rfind(b"\n")
        if cut < 0:
            self._buf = buf
            if len(buf) + self._size > self._max:
                self._too_large()
            return []
        self._buf = buf[cut + 1 :]
        if len(self._buf) > self._max:
            self._too_large()
        return self._lines(buf[:cut].split(b"\n"))

    def _join_tail(self) -> None:
        self._buf += b"".join(self._tail)
        self._tail = []
        self._tail_size = 0

    def flush(self) -> list[bytes]:
        """End of input: a pending, unterminated event is dispatched as it is."""
        if self._tail:
            self._join_tail()
        rest = self._buf
        self._buf = b""
        self._trailing_cr = False
        out = self._lines([rest]) if rest else []
        if self._data:
            out.append(self._data[0] if len(self._data) == 1 else b"\n".join(self._data))
            self._data = []
            self._size = 0
        return out

    def _lines(self, lines: list[bytes]) -> list[bytes]:
        out: list[bytes] = []
        data = self._data
        for line in lines:
            if line[:5] == b"data:":
                value = line[5:]
                if value[:1] == b" ":
                    value = value[1:]
                data.append(value)
                self._size += len(value)
                if self._size > self._max:
                    self._too_large()
            elif not line:
                if data:
                    out.append(data[0] if len(data) == 1 else b"\n".join(data))
                    data = self._data = []
                    self._size = 0
            elif line[:1] == b":":
                continue
            else:
                name = line.split(b":", 1)[0].strip()
                if name in (b"event", b"id", b"retry"):
                    continue
                if name.isalpha() and b":" in line:
                    continue  # an unknown field: ignored, as the SSE spec says
                raise SSEProtocolError(
                    "the server sent a line that is not Server-Sent Events framing",
                    kind="not_sse",
                    line=line[:200],
                )
        return out

    def _too_large(self) -> None:
        raise SSEProtocolError(
            f"a single streamed event exceeded {self._max // (1024 * 1024)} MB",
            kind="too_large",
        )
