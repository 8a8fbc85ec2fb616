"""``openclaw onboard`` for a server the user already runs (vllm, sglang,
llama-cpp-existing-server, custom-api-key): the entry the registry names. Targets, model rows and
the config write live in :mod:`.server_plan`, the questions in :mod:`.server_prompts`."""

from __future__ import annotations

from openclaw.errors import UsageError
from openclaw.providers.onboarding import OnboardOutcome, OnboardRequest
from openclaw.providers.server_plan import (
    build_target,
    fetch_models,
    model_rows,
    pick_model,
    write_server,
)


def onboard(req: OnboardRequest) -> OnboardOutcome:
    """Set up ``req.choice`` (vllm, sglang, llama-cpp-existing-server, custom-api-key)."""
    import anyio

    from openclaw.config.loader import load_config

    if req.context is not None and req.context <= 0:
        raise UsageError("--context must be a positive number of tokens.")
    cfg = load_config()
    if req.interactive:
        from openclaw.providers.server_prompts import ask_and_verify

        target, served, chosen = ask_and_verify(req, cfg)
    else:
        target = build_target(req, cfg, req.base_url)
        served = anyio.run(fetch_models, target)
        chosen = pick_model(target, served, (req.model_id or "").strip() or None)
    rows = model_rows(target, served, chosen, req.context)
    return write_server(target, cfg, rows, chosen)
