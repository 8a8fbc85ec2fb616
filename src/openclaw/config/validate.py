"""Run the schema over a resolved config: (errors, warnings) as (dotted path, message)."""

from __future__ import annotations

from typing import Any

from openclaw.config.util import format_path

Issue = tuple[str, str]


def validate_config(data: dict) -> tuple[list[Issue], list[Issue]]:
    """Errors make the file invalid; warnings (unknown keys) are reported and kept."""
    from pydantic import BaseModel, ValidationError

    from openclaw.config.schema import BUNDLED_PROVIDER_IDS, ModelParams, Root

    errors: list[Issue] = []
    warnings: list[Issue] = []
    try:
        root = Root.model_validate(data)
    except ValidationError as exc:
        for err in exc.errors(include_url=False):
            errors.append((format_path(err["loc"]), _message(err)))
        return errors, warnings

    def collect_extras(node: Any, loc: list[str | int]) -> None:
        if isinstance(node, BaseModel):
            if not isinstance(node, ModelParams):  # free-form request params: no warnings
                for key in node.__pydantic_extra__ or {}:
                    warnings.append((format_path([*loc, key]), "unknown key (kept as is)"))
            for name in type(node).model_fields:
                collect_extras(getattr(node, name), [*loc, name])
        elif isinstance(node, dict):
            for key, value in node.items():
                collect_extras(value, [*loc, key])
        elif isinstance(node, list):
            for index, value in enumerate(node):
                collect_extras(value, [*loc, index])

    collect_extras(root, [])

    providers = (root.models.providers if root.models else None) or {}
    for provider_id, provider in providers.items():
        if provider_id in BUNDLED_PROVIDER_IDS:
            continue
        loc = ["models", "providers", provider_id]
        if not (provider.baseUrl or provider.baseURL):
            errors.append(
                (
                    format_path([*loc, "baseUrl"]),
                    "custom model providers must declare baseUrl "
                    "(overlays without baseUrl are only for bundled providers)",
                )
            )
        if provider.models is None:
            errors.append(
                (
                    format_path([*loc, "models"]),
                    "custom model providers must declare models "
                    "(overlays without models are only for bundled providers)",
                )
            )
    return errors, warnings


def _message(err: Any) -> str:
    msg = str(err.get("msg", "invalid value"))
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
    return msg
