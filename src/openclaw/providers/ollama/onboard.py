"""``openclaw onboard --auth-choice ollama``: the entry the registry names. The plan and the
config write live in :mod:`.onboard_plan`, the questions in :mod:`.onboard_prompts`."""

from __future__ import annotations

from openclaw.providers.ollama.onboard_plan import plan_non_interactive, write_plan
from openclaw.providers.onboarding import OnboardOutcome, OnboardRequest


def onboard(req: OnboardRequest) -> OnboardOutcome:
    """Set up Ollama (see the module docstring); interactive asks for URL and model."""
    import anyio

    from openclaw.config.loader import load_config

    cfg = load_config()
    if req.interactive:
        from openclaw.providers.ollama.onboard_prompts import plan_interactive

        plan = anyio.run(plan_interactive, req, cfg)
    else:
        plan = anyio.run(plan_non_interactive, req, cfg)
    return write_plan(plan, cfg)
