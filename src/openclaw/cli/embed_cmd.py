"""``openclaw embed TEXT...``: embed text with an LM Studio or Ollama embedding model."""

from __future__ import annotations

import click

from openclaw.cli.common import echo_json, run_async


@click.command("embed")
@click.argument("texts", nargs=-1, required=True)
@click.option(
    "--model",
    "model_ref",
    metavar="REF",
    help="Embedding model, e.g. ollama/nomic-embed-text "
    "(default lmstudio/text-embedding-nomic-embed-text-v1.5).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the full vectors as JSON.")
def embed(texts: tuple[str, ...], model_ref: str | None, as_json: bool) -> None:
    """Embed TEXT (one vector per argument) and print the dimension and a preview."""
    from openclaw.config.kinds import OLLAMA, kind_for
    from openclaw.config.loader import load_config
    from openclaw.providers.lmstudio.embeddings import embed_texts
    from openclaw.providers.progress import tty_load_spinner

    cfg = load_config()
    provider_id = "lmstudio"
    if model_ref and "/" in model_ref:
        head = model_ref.split("/", 1)[0]
        if head in cfg.providers():
            provider_id = head
    embed = embed_texts
    if kind_for(provider_id, cfg.provider(provider_id)) is OLLAMA:
        from openclaw.providers.ollama.embeddings import embed_texts as embed_ollama

        embed = embed_ollama  # type: ignore[assignment]
    with tty_load_spinner():
        result = run_async(
            lambda: embed(cfg, list(texts), model=model_ref, provider_id=provider_id)
        )
    if as_json:
        echo_json(
            {
                "provider": result.provider,
                "model": result.model,
                "dimensions": result.dimensions,
                "usage": {"promptTokens": result.prompt_tokens},
                "embeddings": [
                    {"index": i, "text": text, "embedding": vector}
                    for i, (text, vector) in enumerate(zip(texts, result.vectors, strict=True))
                ],
            }
        )
        return
    click.echo(f"Model: {result.provider}/{result.model} ({result.dimensions} dimensions)")
    for i, (text, vector) in enumerate(zip(texts, result.vectors, strict=True)):
        preview = ", ".join(f"{x:.4f}" for x in vector[:4])
        more = ", …" if len(vector) > 4 else ""
        label = text if len(text) <= 40 else text[:37] + "..."
        click.echo(f"[{i}] {label!r}: [{preview}{more}]")
