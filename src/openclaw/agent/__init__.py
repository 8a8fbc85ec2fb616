"""The agent: one turn = resolve model -> fit prompt -> stream -> tools -> fallbacks -> record.

Modules (import the one you need; nothing heavy happens here):

* ``runner``     ``run_turn(cfg, TurnOptions, registry=, observer=, abort=)`` -> ``TurnResult``;
                 ``TurnObserver`` callbacks; ``AbortHandle`` (Ctrl-C). The model chain comes
                 from ``models.catalog`` (``default_model_ref``, ``fallback_refs``).
* ``sessions``   ``SessionStore`` for ``agents/<id>/sessions/sessions.json``.
* ``transcript`` ``Transcript`` (append-only JSONL) and ``read_transcript``.
* ``prompt``     ``build_system_prompt`` (compact default + optional workspace AGENTS.md).
* ``budget``     token estimate, ``compute_budget``, ``fit_history``, ``PromptTooLargeError``.
* ``tools``      ``Tool``, ``ToolRegistry``, ``default_registry``, ``make_web_fetch_tool``.
"""
