"""The built-in catalog: a few small instruct GGUF models that run on a CPU.

Each entry names the Hugging Face repo, the exact file, its licence and, where we have
checked it against the real file, its sha256. A pinned hash is verified in addition to the
hub's own ``lfs.oid``; entries without one say so and rely on the hub's hash alone.
``scripts/smoke-real-download`` checks the pinned entries against the real hub.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class CatalogModel:
    id: str  # short name accepted by `openclaw models pull`
    repo: str  # ORG/REPO on the hub
    file: str  # exact file in the repo
    quant: str
    approx_size: int  # bytes, for display before the hub tells us the exact size
    license: str
    summary: str
    sha256: str | None = None  # pinned hash, or None (verified against the hub's lfs.oid only)
    context_window: int = 32768
    reasoning: bool = False
    # Extra model-row fields for openclaw.json (TS-valid keys only), e.g. thinking turned off.
    row: dict[str, Any] = field(default_factory=dict)

    @property
    def spec(self) -> str:
        return f"{self.repo}:{self.quant}"

    @property
    def pinned(self) -> bool:
        return self.sha256 is not None


DEFAULT_MODEL = CatalogModel(
    id="qwen2.5-1.5b",
    repo="bartowski/Qwen2.5-1.5B-Instruct-GGUF",
    file="Qwen2.5-1.5B-Instruct-Q4_K_M.gguf",
    quant="Q4_K_M",
    approx_size=986_000_000,
    license="Apache-2.0",
    summary="Default. Native llama.cpp tool calls, no thinking, 32K context.",
    sha256="50961d9b7d3b89e46be230528fc66d38bbdda8ac3748323dd34f129a714124fc",
    context_window=32768,
)

CATALOG: tuple[CatalogModel, ...] = (
    DEFAULT_MODEL,
    CatalogModel(
        id="qwen2.5-0.5b",
        repo="bartowski/Qwen2.5-0.5B-Instruct-GGUF",
        file="Qwen2.5-0.5B-Instruct-Q4_K_M.gguf",
        quant="Q4_K_M",
        approx_size=398_000_000,
        license="Apache-2.0",
        summary="For small machines; weak at tool calls.",
        context_window=32768,
    ),
    CatalogModel(
        id="qwen3-1.7b",
        repo="ggml-org/Qwen3-1.7B-GGUF",
        file="Qwen3-1.7B-Q4_K_M.gguf",
        quant="Q4_K_M",
        approx_size=1_280_000_000,
        license="Apache-2.0",
        summary="Qwen3 with native tool calls; thinking turned off by default.",
        context_window=32768,
        reasoning=False,
        # Qwen3 thinks unless its chat template is told not to; the row's params carry that.
        row={"params": {"chat_template_kwargs": {"enable_thinking": False}}},
    ),
)


def catalog_by_id(name: str) -> CatalogModel | None:
    lowered = name.strip().lower()
    return next((m for m in CATALOG if m.id == lowered), None)


def catalog_for_file(repo: str, file: str) -> CatalogModel | None:
    """The catalog entry for an exact repo file (repo names compare case-insensitively)."""
    return next(
        (m for m in CATALOG if m.repo.lower() == repo.lower() and m.file == file),
        None,
    )
