"""Model-load progress: a spinner with elapsed seconds on a TTY, plain lines otherwise,
nothing at all for library use."""

from __future__ import annotations

import io

import anyio
import pytest
from tests.servers.fake_lmstudio import FakeLMStudio

from openclaw.providers.lmstudio.preload import prepare_model
from openclaw.providers.progress import load_progress, tty_load_spinner


class FakeTTY(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_spinner_on_tty_shows_model_and_elapsed(fake_lmstudio: FakeLMStudio) -> None:
    fake_lmstudio.load_delay = 0.4
    stream = FakeTTY()
    with tty_load_spinner(stream):
        anyio.run(
            lambda: prepare_model(
                fake_lmstudio.base_url, "qwen/qwen3-coder-30b", requested_context=64000
            )
        )
    out = stream.getvalue()
    assert "Loading qwen/qwen3-coder-30b in LM Studio (64000 context tokens)" in out
    assert "0s" in out
    assert out.endswith("\r\x1b[2K")  # the line is cleared when the load ends


def test_plain_lines_without_tty(
    fake_lmstudio: FakeLMStudio, capsys: pytest.CaptureFixture
) -> None:
    fake_lmstudio.load_delay = 0.2
    stream = io.StringIO()
    with load_progress(stream):
        anyio.run(lambda: prepare_model(fake_lmstudio.base_url, "qwen/qwen3-coder-30b"))
    lines = stream.getvalue().splitlines()
    assert lines[0] == "Loading qwen/qwen3-coder-30b in LM Studio (64000 context tokens)…"
    assert lines[-1].startswith("Load of qwen/qwen3-coder-30b finished after ")
    assert "\x1b" not in stream.getvalue() and "\r" not in stream.getvalue()
    anyio.run(
        lambda: prepare_model(
            fake_lmstudio.base_url, "qwen/qwen3-coder-30b", requested_context=128000
        )
    )
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""  # library use stays silent
