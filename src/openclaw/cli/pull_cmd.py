"""`openclaw models pull` and `openclaw models rm`: GGUF downloads into the shared HF cache.

Registered on the `models` group. Only click at import; the downloader loads when a command runs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from openclaw.cli.common import echo_json

if TYPE_CHECKING:
    from openclaw.local.download import PulledModel


def _pulled_json(model: PulledModel) -> dict[str, Any]:
    return {
        "repo": model.repo,
        "file": model.file,
        "commit": model.commit,
        "path": str(model.path),
        "size": model.size,
        "sha256": model.sha256,
        "files": [str(p) for p in model.files],
    }


@click.command("pull")
@click.argument("spec", required=False, metavar="ORG/REPO[:QUANT]")
@click.option("--file", "file_name", metavar="NAME", help="Download exactly this file of the repo.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.option("--list", "list_only", is_flag=True, help="Show the built-in catalog and downloads.")
def pull(spec: str | None, file_name: str | None, as_json: bool, list_only: bool) -> None:
    """Download a GGUF model from Hugging Face (resumable, sha256-verified).

    SPEC is ORG/REPO[:QUANT] (without a tag: Q4_K_M, else Q8_0, else the first GGUF) or a
    catalog id from --list. Files go to the Hugging Face cache (HF_HUB_CACHE / HF_HOME/hub /
    ~/.cache/huggingface/hub), shared with llama.cpp -hf and huggingface_hub.
    """
    from openclaw.errors import UsageError

    if list_only:
        if spec or file_name:
            raise UsageError(
                "--list takes no model name", hint="Run `openclaw models pull --list`."
            )
        _show_list(as_json)
        return
    if not spec:
        raise UsageError(
            "Name a model to download: ORG/REPO[:QUANT] or a catalog id",
            hint="See the built-in catalog with `openclaw models pull --list`.",
        )
    from openclaw.cli.common import run_async
    from openclaw.local.download import pull_model

    model = run_async(lambda: pull_model(spec, file=file_name, progress=True))
    if as_json:
        echo_json(_pulled_json(model))
        return
    from openclaw.config.paths import resolve_paths
    from openclaw.local.progress import human_bytes

    shown = resolve_paths().display(model.path)
    click.echo(f"{model.repo} {model.file} ({human_bytes(model.size)}) ready at {shown}")


def _show_list(as_json: bool) -> None:
    from openclaw.local.catalog import CATALOG, DEFAULT_MODEL
    from openclaw.local.download import cached_models
    from openclaw.local.hf_cache import cached_repos, hub_cache_dir
    from openclaw.local.progress import human_bytes

    downloaded = cached_models()
    usage = {r.repo.lower(): r.disk_usage() for r in cached_repos()}
    rows: list[dict[str, Any]] = []
    for entry in CATALOG:
        have = next(
            (
                m
                for m in downloaded
                if m.repo.lower() == entry.repo.lower() and m.file == entry.file
            ),
            None,
        )
        rows.append(
            {
                "id": entry.id,
                "spec": entry.spec,
                "file": entry.file,
                "size": entry.approx_size,
                "license": entry.license,
                "sha256": entry.sha256,
                "pinned": entry.pinned,
                "default": entry is DEFAULT_MODEL,
                "downloaded": have is not None,
                "path": str(have.path) if have else None,
                "summary": entry.summary,
            }
        )
    catalog_files = {(e.repo.lower(), e.file) for e in CATALOG}
    others = [m for m in downloaded if (m.repo.lower(), m.file) not in catalog_files]
    total = sum(usage.values())
    if as_json:
        echo_json(
            {
                "catalog": rows,
                "downloaded": [
                    {"repo": m.repo, "file": m.file, "size": m.size, "path": str(m.path)}
                    for m in downloaded
                ],
                "cacheDir": str(hub_cache_dir()),
                "diskUsage": total,
            }
        )
        return
    click.echo("Built-in catalog (openclaw models pull ID):")
    for row in rows:
        mark = "*" if row["default"] else " "
        state = "downloaded" if row["downloaded"] else "not downloaded"
        pin = "sha256 pinned" if row["pinned"] else "hub hash only"
        click.echo(
            f" {mark} {row['id']:<14} {row['spec']:<44} ~{human_bytes(row['size']):>9}  "
            f"{row['license']:<11} {pin:<14} {state}"
        )
    click.echo("   (* = default)")
    if others:
        click.echo("Other downloaded models:")
        for model in others:
            click.echo(f"   {model.repo}  {model.file}  {human_bytes(model.size)}")
    click.echo(f"Cache: {hub_cache_dir()} ({human_bytes(total)} used by models)")


@click.command("rm")
@click.argument("spec", metavar="ORG/REPO[:QUANT]")
@click.option("--file", "file_name", metavar="NAME", help="Remove exactly this file.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def rm(spec: str, file_name: str | None, as_json: bool) -> None:
    """Delete a downloaded model from the cache (a bare ORG/REPO removes the whole repo)."""
    from openclaw.local.download import remove_model
    from openclaw.local.progress import human_bytes

    names, freed = remove_model(spec, file=file_name)
    if as_json:
        echo_json({"removed": names, "freed": freed})
        return
    shown = ", ".join(names) if names else "partial downloads"
    click.echo(f"Removed {shown} ({human_bytes(freed)} freed)")
