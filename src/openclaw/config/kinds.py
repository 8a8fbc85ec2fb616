"""The provider-kind registry: everything the project knows about each kind of model server.

One :class:`ProviderKind` per server kind, declared once in :data:`KINDS`. Every other module
asks here for ids, aliases, default URLs and ports, key variables, keyless markers, compat
quirks and user-facing texts; nothing else in the tree names a server's port or alias.

Pure data and string functions (no I/O, no heavy imports), so every layer may read it: the
config validator, model refs and credential resolution sit below ``providers/``, which adds the
behaviour (discovery, load, stream) through the plugin module each kind names. See
``docs/architecture.md`` for the recipe that adds a kind.

A kind is chosen by the provider's id or one of its aliases, then by the provider's ``api``;
never by guessing from a port. Aliases are resolved when reading; a key the user wrote is kept
as written (the TypeScript CLI treats some aliases as custom ids).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

#: The dialect of the OpenAI chat-completions API (``/v1/chat/completions``, SSE).
OPENAI_COMPLETIONS = "openai-completions"
#: Ollama's own API (``/api/chat``, NDJSON).
OLLAMA_NATIVE = "ollama"


@dataclass(frozen=True)
class ProviderKind:
    """What the project knows about one kind of model server."""

    id: str
    label: str
    #: Plugin module (imported lazily by ``providers.registry``); it exports ``PLUGIN``.
    plugin_module: str = "openclaw.providers.generic"
    aliases: tuple[str, ...] = ()
    #: Values of a provider's ``api`` that select this kind for a custom provider id.
    apis: tuple[str, ...] = ()
    dialect: str = OPENAI_COMPLETIONS
    #: Used when a provider row has no baseUrl (openai-completions kinds end in ``/v1``).
    default_base_url: str | None = None
    #: An environment variable naming this kind's server as its own CLI reads it (``host``,
    #: ``host:port`` or a URL); when set, it replaces ``default_base_url``.
    host_env_var: str | None = None
    #: Environment variables holding a key, first is the one hints name.
    key_env_vars: tuple[str, ...] = ()
    #: The non-secret marker written instead of a key for a keyless server.
    keyless_marker: str | None = None
    #: Usually runs without authentication: no key configured means send none.
    keyless: bool = False
    #: A local server: streamed usage is asked for and ``max_tokens`` is the limit field.
    local_server: bool = False
    #: Can load and unload models on request (LM Studio; Ollama loads on first use).
    loads_models: bool = False
    #: Compat defaults of this kind (core.md §2.4), under the user's own compat settings.
    compat: Mapping[str, Any] = field(default_factory=dict)
    #: One line telling the user how to start this server (``{port}`` is filled in).
    start_hint: str = ""
    #: ``--auth-choice`` values that set up this kind -> ``"module:function"`` doing it
    #: (imported lazily by the onboard command; the function takes an ``OnboardRequest``).
    onboard_choices: Mapping[str, str] = field(default_factory=dict)
    #: The ``--auth-choice`` that onboards a server of this kind found running (scan, auto).
    server_choice: str | None = None

    @property
    def default_port(self) -> int | None:
        if self.default_base_url is None:
            return None
        return urlsplit(self.default_base_url).port

    @property
    def key_env_var(self) -> str | None:
        return self.key_env_vars[0] if self.key_env_vars else None

    def names(self) -> tuple[str, ...]:
        return (self.id, *self.aliases)

    def default_base(self, env: Mapping[str, str]) -> str | None:
        """The server an unconfigured provider of this kind talks to: ``host_env_var`` when
        set (a bind-all address means this machine; the port defaults to the kind's), else
        ``default_base_url``."""
        raw = (env.get(self.host_env_var) or "").strip() if self.host_env_var else ""
        if not raw:
            return self.default_base_url
        scheme, _, rest = (raw if "://" in raw else f"http://{raw}").partition("://")
        host = rest.split("/", 1)[0]
        for bind_all, loopback in (("0.0.0.0", "127.0.0.1"), ("[::]", "[::1]")):
            if host.startswith(bind_all):
                host = loopback + host[len(bind_all) :]
        if ":" not in host.rsplit("]", 1)[-1] and self.default_port is not None:
            host += f":{self.default_port}"
        return f"{scheme}://{host}"

    def start_hint_for(self, base_url: str | None = None) -> str:
        """The start hint with the port of the URL actually configured."""
        port: int | None = None
        if base_url:
            try:
                port = urlsplit(base_url if "://" in base_url else f"http://{base_url}").port
            except ValueError:
                port = None
        return self.start_hint.format(port=port or self.default_port or "")


_LLAMACPP_COMPAT = {"toolSchemaProfile": "llamacpp"}
_OLLAMA_COMPAT = {
    # other-servers.md §7.3-7.5, §8 rules 8-9: Ollama (also on a LAN host) honours
    # include_usage, ignores max_completion_tokens and rejects efforts other than these.
    "supportsUsageInStreaming": True,
    "maxTokensField": "max_tokens",
    "supportedReasoningEfforts": ["none", "low", "medium", "high"],
}

LMSTUDIO = ProviderKind(
    id="lmstudio",
    label="LM Studio",
    plugin_module="openclaw.providers.lmstudio.plugin",
    aliases=("lm-studio", "lm_studio"),
    apis=("lmstudio",),
    default_base_url="http://localhost:1234/v1",
    key_env_vars=("LM_API_TOKEN",),
    keyless_marker="lmstudio-local",
    keyless=True,
    local_server=True,
    loads_models=True,
    start_hint="Start LM Studio's server (`lms server start --port {port}`) and retry.",
    onboard_choices={"lmstudio": "openclaw.providers.lmstudio.onboard:onboard"},
    server_choice="lmstudio",
)
OLLAMA = ProviderKind(
    id="ollama",
    label="Ollama",
    plugin_module="openclaw.providers.ollama.plugin",
    apis=("ollama",),
    dialect=OLLAMA_NATIVE,
    # Native API root (no /v1); OLLAMA_HOST overrides it, as the ollama CLI reads it.
    default_base_url="http://127.0.0.1:11434",
    host_env_var="OLLAMA_HOST",
    key_env_vars=("OLLAMA_API_KEY",),
    keyless_marker="ollama-local",
    keyless=True,
    local_server=True,
    loads_models=True,
    compat=_OLLAMA_COMPAT,
    start_hint="Start Ollama (`ollama serve`, port {port}) and retry.",
    onboard_choices={"ollama": "openclaw.providers.ollama.onboard:onboard"},
    server_choice="ollama",
)
VLLM = ProviderKind(
    id="vllm",
    label="vLLM",
    default_base_url="http://127.0.0.1:8000/v1",
    key_env_vars=("VLLM_API_KEY",),
    keyless=True,
    local_server=True,
    start_hint="Start vLLM (`vllm serve MODEL --port {port}`) and retry.",
    onboard_choices={"vllm": "openclaw.providers.server_onboard:onboard"},
    server_choice="vllm",
)
SGLANG = ProviderKind(
    id="sglang",
    label="SGLang",
    default_base_url="http://127.0.0.1:30000/v1",
    key_env_vars=("SGLANG_API_KEY",),
    keyless=True,
    local_server=True,
    start_hint=(
        "Start SGLang (`python -m sglang.launch_server --model-path MODEL --port {port}`) "
        "and retry."
    ),
    onboard_choices={"sglang": "openclaw.providers.server_onboard:onboard"},
    server_choice="sglang",
)
LLAMA_CPP = ProviderKind(
    id="llama-cpp",
    label="llama.cpp",
    # Its second mode, the built-in engine, is chosen by the provider's localService block.
    plugin_module="openclaw.providers.llamacpp",
    aliases=("llamacpp", "llama.cpp", "llama-server"),
    default_base_url="http://127.0.0.1:8080/v1",
    key_env_vars=("LLAMA_SERVER_API_KEY",),
    keyless=True,
    local_server=True,
    compat=_LLAMACPP_COMPAT,
    start_hint="Start llama-server (`llama-server -m MODEL.gguf --port {port}`) and retry.",
    onboard_choices={
        "llama-cpp": "openclaw.providers.llamacpp:onboard",
        "llama-cpp-existing-server": "openclaw.providers.server_onboard:onboard",
    },
    server_choice="llama-cpp-existing-server",
)
# Other OpenAI-compatible local servers: no default URL (their ports clash), but they get the
# local-server compat defaults and run keyless.
LOCALAI = ProviderKind(id="localai", label="LocalAI", keyless=True, local_server=True)
JAN = ProviderKind(id="jan", label="Jan", keyless=True, local_server=True)
TABBYAPI = ProviderKind(
    id="tabbyapi", label="TabbyAPI", aliases=("tabby",), keyless=True, local_server=True
)
TEXT_GENERATION_WEBUI = ProviderKind(
    id="text-generation-webui", label="text-generation-webui", keyless=True, local_server=True
)
#: Any other provider id: a custom OpenAI-compatible endpoint.
OPENAI_COMPATIBLE = ProviderKind(
    id="openai-compatible",
    label="OpenAI-compatible server",
    apis=(OPENAI_COMPLETIONS, "openai", "openai-compatible"),
    start_hint="Check that the server at this URL is running and retry.",
    onboard_choices={"custom-api-key": "openclaw.providers.server_onboard:onboard"},
    server_choice="custom-api-key",
)

KINDS: tuple[ProviderKind, ...] = (
    LMSTUDIO,
    OLLAMA,
    VLLM,
    SGLANG,
    LLAMA_CPP,
    LOCALAI,
    JAN,
    TABBYAPI,
    TEXT_GENERATION_WEBUI,
    OPENAI_COMPATIBLE,
)

# Aliases of hosted providers the reference knows (core.md §3.3): normalised in refs like ours.
_HOSTED_ALIASES = {
    "z.ai": "zai",
    "z-ai": "zai",
    "bedrock": "amazon-bedrock",
    "aws-bedrock": "amazon-bedrock",
}

_BY_NAME: dict[str, ProviderKind] = {
    name: kind for kind in KINDS if kind is not OPENAI_COMPATIBLE for name in kind.names()
}
_BY_API: dict[str, ProviderKind] = {api: kind for kind in KINDS for api in kind.apis}


def canonical_provider_id(provider_id: str) -> str:
    """``llamacpp`` -> ``llama-cpp``; ids that are no alias come back lower-cased."""
    lowered = provider_id.strip().lower()
    kind = _BY_NAME.get(lowered)
    if kind is not None:
        return kind.id
    return _HOSTED_ALIASES.get(lowered, lowered)


def kind_named(provider_id: str) -> ProviderKind | None:
    """The kind whose id or alias this is (``None`` for a custom id)."""
    return _BY_NAME.get(provider_id.strip().lower())


def kind_for(provider_id: str, provider_cfg: Mapping[str, Any] | None = None) -> ProviderKind:
    """The kind of a configured provider: by id or alias, then by its ``api``, else generic."""
    kind = kind_named(provider_id)
    if kind is not None:
        return kind
    api = provider_cfg.get("api") if isinstance(provider_cfg, Mapping) else None
    if isinstance(api, str):
        by_api = _BY_API.get(api.strip().lower())
        if by_api is not None:
            return by_api
    return OPENAI_COMPATIBLE


def kind_by_id(kind_id: str) -> ProviderKind:
    for kind in KINDS:
        if kind.id == kind_id:
            return kind
    raise KeyError(kind_id)


#: Key variables of hosted providers a config may name (their kinds are not served here).
_HOSTED_KEY_ENV_VARS = {
    "openai": "OPENAI_API_KEY",
    "anthropic": "ANTHROPIC_API_KEY",
    "openrouter": "OPENROUTER_API_KEY",
}


def key_env_var(provider_id: str, provider_cfg: Mapping[str, Any] | None = None) -> str | None:
    """The environment variable that holds this provider's key (None for a custom provider)."""
    kind = kind_for(provider_id, provider_cfg)
    if kind.key_env_var:
        return kind.key_env_var
    return _HOSTED_KEY_ENV_VARS.get(canonical_provider_id(provider_id))


def kind_for_choice(choice: str) -> ProviderKind | None:
    """The kind an ``--auth-choice`` value onboards."""
    for kind in KINDS:
        if choice in kind.onboard_choices:
            return kind
    return None


def onboard_choices() -> list[str]:
    """Every ``--auth-choice`` value a kind declares, in registry order."""
    return [choice for kind in KINDS for choice in kind.onboard_choices]


def find_provider_key(providers: Mapping[str, Any], provider_id: str) -> str | None:
    """The key under ``models.providers`` that ``provider_id`` names: the exact key first,
    then one that is the same kind by alias (``llamacpp`` finds ``llama.cpp``)."""
    if provider_id in providers:
        return provider_id
    wanted = canonical_provider_id(provider_id)
    for key in providers:
        if canonical_provider_id(key) == wanted:
            return key
    return None
