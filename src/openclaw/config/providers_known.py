"""Provider ids with built-in defaults (no pydantic here: `models set` checks ids cheaply)."""

from __future__ import annotations

from openclaw.config.kinds import KINDS, OPENAI_COMPATIBLE

# Hosted providers the reference bundles; we keep their config rows but serve none of them.
_HOSTED_PROVIDER_IDS = frozenset(
    {
        "openai", "anthropic", "google", "openrouter", "mistral", "groq", "xai",
        "deepseek", "together", "zai", "amazon-bedrock", "github-copilot", "minimax",
        "moonshot", "qwen", "cerebras", "huggingface", "fireworks", "nvidia", "venice",
        "kimi-coding", "opencode", "vercel-ai-gateway", "cloudflare-ai-gateway",
    }
)  # fmt: skip

# Any other id is a custom provider and must bring its own baseUrl and models (core.md §2.6).
BUNDLED_PROVIDER_IDS = _HOSTED_PROVIDER_IDS | frozenset(
    name for kind in KINDS if kind is not OPENAI_COMPATIBLE for name in kind.names()
)
