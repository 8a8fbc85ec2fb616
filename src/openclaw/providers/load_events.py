"""Announcements of model loads, whichever server does the loading.

A load can take minutes (LM Studio loading on request, Ollama loading on the first chat), so
the code that starts one says so here, and whoever listens (the CLI's progress display,
``providers/progress.py``) shows it. Library use has no listener and stays silent.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

#: listener(phase "start"|"end", model key, context tokens, elapsed seconds or None, server)
LoadListener = Callable[[str, str, int, float | None, str], None]


class LoadEvents:
    """Who hears ``listener(phase, model_key, context, elapsed, server)`` around every load."""

    def __init__(self) -> None:
        self.listeners: list[LoadListener] = []

    @contextmanager
    def listen(self, listener: LoadListener) -> Iterator[None]:
        self.listeners.append(listener)
        try:
            yield
        finally:
            self.listeners.remove(listener)

    def notify(
        self, phase: str, key: str, ctx: int, elapsed: float | None, server: str = "LM Studio"
    ) -> None:
        """The display names ``server`` (LM Studio, Ollama, ...)."""
        for listener in list(self.listeners):
            try:
                listener(phase, key, ctx, elapsed, server)
            except Exception:  # a display hook must never break a request
                pass


LOAD_EVENTS = LoadEvents()
load_listener = LOAD_EVENTS.listen
