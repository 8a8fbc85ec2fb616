"""The contract between ``openclaw onboard`` and the kind that sets itself up.

Each provider kind declares its ``--auth-choice`` values in ``config.kinds`` as
``"module:function"``; the command builds one :class:`OnboardRequest` from its flags, imports that
function lazily and renders the :class:`OnboardOutcome` it returns (text, or ``--json``).

A setup function verifies the server before anything is written; on any failure it raises an
``OpenClawError`` and the config is left byte-for-byte unchanged.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from openclaw.errors import UsageError


@dataclass(frozen=True)
class OnboardRequest:
    choice: str  # the --auth-choice value
    interactive: bool
    base_url: str | None = None  # --custom-base-url
    api_key: str | None = field(default=None, repr=False)  # --custom-api-key / --lmstudio-api-key
    api_key_flag: str | None = None  # which flag gave it (for messages)
    model_id: str | None = None  # --custom-model-id
    provider_id: str | None = None  # --custom-provider-id
    model: str | None = None  # --model ORG/REPO[:QUANT] (built-in engine)
    model_path: str | None = None  # --model-path FILE.gguf (built-in engine)
    context: int | None = None  # --context N


@dataclass
class OnboardOutcome:
    provider_id: str
    default_ref: str  # "provider/model"
    config_path: str
    backup_path: str | None = None
    workspace: str | None = None
    sessions: str | None = None
    auth: str = "none"  # "api-key" | "none" | "header" | "marker"
    #: Lines printed (to stdout; to stderr with --json) before the summary.
    lines: list[str] = field(default_factory=list)
    #: Extra --json fields of this kind (never a secret).
    details: dict[str, Any] = field(default_factory=dict)


OnboardFunction = Callable[[OnboardRequest], OnboardOutcome]


def onboard_function(choice: str) -> OnboardFunction:
    """The setup function a kind declares for ``choice`` (imported on first use)."""
    from openclaw.config.kinds import kind_for_choice

    kind = kind_for_choice(choice)
    if kind is None:
        raise UsageError(f"Unknown --auth-choice {choice!r}")
    module_name, _, function_name = kind.onboard_choices[choice].partition(":")
    function: OnboardFunction = getattr(importlib.import_module(module_name), function_name)
    return function
