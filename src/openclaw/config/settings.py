"""Typed settings of one provider and one model row, read from the validated config.

:mod:`openclaw.config.schema` (pydantic) decides whether a file is valid, and it runs only when
the file changed (:mod:`openclaw.config.stamp`), so a command that starts from a file already
known to be valid never imports pydantic. What resolution and the wire code read is these
dataclasses: each field has its type, a value of the wrong type or an absent one reads as
``None`` (or the documented default), and every rule that combines a row with its provider
(the configured context, the output limit, the merged params) lives here once.

The objects are read-only by convention (``with_row`` makes a changed copy): frozen dataclasses
cost three times as much to define, on the path of ``models list``.

``raw`` keeps the mapping as written, for the keys a provider kind reads on its own (LM Studio's
``capabilities``, the compat table) and for writing back; it is never printed (``repr=False``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

DEFAULT_API = "openai-completions"


def positive_int(value: Any) -> int | None:
    """An int above zero, else None (``True`` is not a number here)."""
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    return None


def _positive_number(value: Any) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
        return float(value)
    return None


def _text(value: Any) -> str | None:
    """A non-blank string, stripped; else None."""
    return value.strip() if isinstance(value, str) and value.strip() else None


def _flag(value: Any) -> bool | None:
    return value if isinstance(value, bool) else None


def _mapping(value: Any) -> dict[str, Any]:
    return dict(value) if isinstance(value, Mapping) else {}


@dataclass(eq=False)
class RequestAuth:
    """``request.auth``: how the key is sent when not as ``Authorization: Bearer``."""

    mode: str | None  # "header", "authorization-bearer" or "provider-default"
    header_name: str | None
    #: Literal values only (None for a SecretRef or nothing): the credential fills the gap.
    value: str | None = field(repr=False)
    token: str | None = field(repr=False)
    prefix: str = ""


@dataclass(eq=False)
class ProviderSettings:
    """``models.providers.<id>``, typed."""

    base_url: str | None  # baseUrl (or baseURL) as written, no trailing slash
    api: str | None
    context_window: int | None
    context_tokens: int | None
    max_tokens: int | None
    timeout_seconds: float | None
    params: dict[str, Any]
    #: ``request.allowPrivateNetwork`` (None: unset, the kind's default applies).
    allow_private_network: bool | None
    #: ``injectNumCtxForOpenAICompat`` (None: unset, which means yes).
    inject_num_ctx: bool | None
    request_auth: RequestAuth | None
    raw: dict[str, Any] = field(repr=False)

    @classmethod
    def read(cls, provider_cfg: Mapping[str, Any] | None) -> ProviderSettings:
        raw = _mapping(provider_cfg)
        base = _text(raw.get("baseUrl")) or _text(raw.get("baseURL"))
        request = _mapping(raw.get("request"))
        auth = request.get("auth")
        return cls(
            base_url=base.rstrip("/") if base else None,
            api=_text(raw.get("api")),
            context_window=positive_int(raw.get("contextWindow")),
            context_tokens=positive_int(raw.get("contextTokens")),
            max_tokens=positive_int(raw.get("maxTokens")),
            timeout_seconds=_positive_number(raw.get("timeoutSeconds")),
            params=_mapping(raw.get("params")),
            allow_private_network=_flag(request.get("allowPrivateNetwork")),
            inject_num_ctx=_flag(raw.get("injectNumCtxForOpenAICompat")),
            request_auth=_request_auth(auth) if isinstance(auth, Mapping) else None,
            raw=raw,
        )

    @property
    def configured_context(self) -> int | None:
        """The smaller of ``contextTokens`` and ``contextWindow`` set on the provider."""
        values = [v for v in (self.context_tokens, self.context_window) if v is not None]
        return min(values) if values else None


def _request_auth(auth: Mapping[str, Any]) -> RequestAuth:
    value, token, prefix = auth.get("value"), auth.get("token"), auth.get("prefix")
    return RequestAuth(
        mode=_text(auth.get("mode")),
        header_name=_text(auth.get("headerName")),
        value=value if isinstance(value, str) and value else None,
        token=token if isinstance(token, str) and token else None,
        prefix=prefix if isinstance(prefix, str) else "",
    )


@dataclass(eq=False)
class ModelSettings:
    """One model row (``models.providers.<id>.models[i]``), typed, with its provider's."""

    id: str
    name: str  # the row's name, else its id
    api: str | None  # the row's own api (see wire_api)
    base_url: str | None  # the row's own baseUrl (rare), no trailing slash
    reasoning: bool
    input: tuple[str, ...]  # ("text",) unless the row says more
    context_window: int | None
    context_tokens: int | None
    max_tokens: int | None
    params: dict[str, Any]  # the row's own params (see merged_params)
    #: What the server said the model can do (Ollama's /api/show: tools, vision, thinking).
    capabilities: tuple[str, ...]
    cost: Any
    provider: ProviderSettings
    raw: dict[str, Any] = field(repr=False)

    @classmethod
    def read(
        cls, row: Mapping[str, Any], provider: ProviderSettings | Mapping[str, Any] | None
    ) -> ModelSettings:
        if not isinstance(provider, ProviderSettings):
            provider = ProviderSettings.read(provider)
        raw = _mapping(row)
        base = _text(raw.get("baseUrl"))
        kinds = raw.get("input")
        caps = raw.get("capabilities")
        model_id = str(raw.get("id", ""))
        return cls(
            id=model_id,
            name=_text(raw.get("name")) or model_id,
            api=_text(raw.get("api")),
            base_url=base.rstrip("/") if base else None,
            reasoning=raw.get("reasoning") is True,
            input=tuple(str(k) for k in kinds) if isinstance(kinds, list) and kinds else ("text",),
            context_window=positive_int(raw.get("contextWindow")),
            context_tokens=positive_int(raw.get("contextTokens")),
            max_tokens=positive_int(raw.get("maxTokens")),
            params=_mapping(raw.get("params")),
            capabilities=tuple(c for c in caps if isinstance(c, str))
            if isinstance(caps, list)
            else (),
            cost=raw.get("cost"),
            provider=provider,
            raw=raw,
        )

    def with_row(self, **changes: Any) -> ModelSettings:
        """The same model with some row keys set (typed fields and ``raw`` stay in step)."""
        return ModelSettings.read({**self.raw, **changes}, self.provider)

    @property
    def configured_base_url(self) -> str | None:
        """The row's own base URL, else the provider's (None: neither sets one)."""
        return self.base_url or self.provider.base_url

    @property
    def wire_api(self) -> str:
        """The api the call speaks: the row's, else the provider's, else openai-completions."""
        return self.api or self.provider.api or DEFAULT_API

    @property
    def configured_context(self) -> int | None:
        """The context the user set: the smaller of the row's ``contextTokens`` and
        ``contextWindow``; without either, the provider's."""
        values = [v for v in (self.context_tokens, self.context_window) if v is not None]
        return min(values) if values else self.provider.configured_context

    @property
    def merged_params(self) -> dict[str, Any]:
        """The provider's ``params`` with the row's on top."""
        return {**self.provider.params, **self.params}

    def param(self, name: str) -> Any:
        """One param: the row's wins over the provider's (None when neither sets it)."""
        return self.merged_params.get(name)

    @property
    def output_limit(self) -> int | None:
        """``params.maxTokens`` of the row, else its ``maxTokens``, else the provider's."""
        return (
            positive_int(self.params.get("maxTokens"))
            or self.max_tokens
            or self.provider.max_tokens
        )
