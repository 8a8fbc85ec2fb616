"""The model-load spinner: shown with elapsed seconds on a TTY, silent otherwise."""

from __future__ import annotations

import io

import anyio
import pytest
from tests.servers.fake_lmstudio import FakeLMStudio

from openclaw.providers.lmstudio.preload import prepare_model
from openclaw.providers.lmstudio.progress import tty_load_spinner


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


def test_no_spinner_without_tty(fake_lmstudio: FakeLMStudio, capsys: pytest.CaptureFixture) -> None:
    fake_lmstudio.load_delay = 0.2
    stream = io.StringIO()
    with tty_load_spinner(stream):
        anyio.run(lambda: prepare_model(fake_lmstudio.base_url, "qwen/qwen3-coder-30b"))
    assert stream.getvalue() == ""
    anyio.run(
        lambda: prepare_model(
            fake_lmstudio.base_url, "qwen/qwen3-coder-30b", requested_context=128000
        )
    )
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""  # library use stays silent
