"""Provider ids with built-in defaults (no pydantic here: `models set` checks ids cheaply)."""

from __future__ import annotations

# Any other id is a custom provider and must bring its own baseUrl and models (core.md §2.6).
BUNDLED_PROVIDER_IDS = frozenset(
    {
        "lmstudio", "ollama", "vllm", "sglang", "llama-cpp", "llama-server",
        "openai", "anthropic", "google", "openrouter", "mistral", "groq", "xai",
        "deepseek", "together", "zai", "amazon-bedrock", "github-copilot", "minimax",
        "moonshot", "qwen", "cerebras", "huggingface", "fireworks", "nvidia", "venice",
        "kimi-coding", "opencode", "vercel-ai-gateway", "cloudflare-ai-gateway",
    }
)  # fmt: skip
