"""Ollama's native API: discovery (/api/tags, /api/show, /api/ps), chat (llm.ollama_chat),
embeddings (/api/embed), pulls and onboarding. The plugin is :mod:`.plugin`."""
