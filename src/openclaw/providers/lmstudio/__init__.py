"""The LM Studio provider (plugin id ``lmstudio``).

Modules: ``urls`` (server vs inference base), ``models`` (wire-entry mapping, canonical keys,
default choice), ``reasoning`` (effort compat), ``discovery`` (``GET /api/v1/models``),
``preload`` (context-aware load, freshness cache, de-dup, back-off), ``plugin`` (``PLUGIN``:
stream wrapper, discovery, probe details), ``setup`` (onboarding), ``embeddings``,
``progress`` (TTY spinner while a model loads). Nothing is imported eagerly.
"""
