"""Pydantic schema for the config sections this project reads (core.md §2.1-2.4, §3, §4).

Only ``models``, ``agents.defaults.{model,imageModel,models}`` and ``auth`` are checked.
Wrong types and values are errors. Keys we do not know inside those sections are kept
(``extra="allow"``) and reported as warnings, so files written by newer OpenClaw versions
still load. This module imports pydantic: import it only where validation runs.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from openclaw.config.providers_known import BUNDLED_PROVIDER_IDS as BUNDLED_PROVIDER_IDS

PositiveInt = Annotated[int, Field(gt=0)]
NonNegativeNumber = Annotated[float, Field(ge=0)]
NonEmptyStr = Annotated[str, Field(min_length=1)]

ApiName = Literal[
    "openai-completions",
    "openai-responses",
    "openai-codex-responses",
    "azure-openai-responses",
    "anthropic-messages",
    "ollama",
    "google-generative-ai",
    "google-gemini-cli",
    "google-vertex",
    "bedrock-converse-stream",
    "mistral-conversations",
    "github-copilot",
]


class Section(BaseModel):
    model_config = ConfigDict(strict=True, extra="allow", populate_by_name=True)


def _check_secret_input(value: Any) -> Any:
    if value is None or isinstance(value, str):
        return value
    if (
        isinstance(value, dict)
        and value.get("source") in ("env", "file", "exec")
        and isinstance(value.get("id"), str)
        and value["id"]
        and isinstance(value.get("provider", "default"), str)
    ):
        return value
    raise ValueError(
        'expected a string or a SecretRef object {source: "env"|"file"|"exec", provider, id}'
    )


# A secret: a string (literal, ${VAR}, marker) or a SecretRef object.
SecretInput = Annotated[Any, AfterValidator(_check_secret_input)]


class Cost(Section):
    input: NonNegativeNumber = 0
    output: NonNegativeNumber = 0
    cacheRead: NonNegativeNumber = 0
    cacheWrite: NonNegativeNumber = 0
    tieredPricing: list[dict[str, Any]] | None = None


class Compat(Section):
    supportsStore: bool | None = None
    supportsPromptCacheKey: bool | None = None
    supportsDeveloperRole: bool | None = None
    supportsReasoningEffort: bool | None = None
    supportedReasoningEfforts: list[str] | None = None
    reasoningEffortMap: dict[str, str] | None = None
    visibleReasoningDetailTypes: list[str] | None = None
    supportsUsageInStreaming: bool | None = None
    supportsTools: bool | None = None
    supportsStrictMode: bool | None = None
    maxTokensField: Literal["max_completion_tokens", "max_tokens"] | None = None
    thinkingFormat: (
        Literal["openai", "openrouter", "deepseek", "together", "qwen", "qwen-chat-template", "zai"]
        | None
    ) = None
    requiresStringContent: bool | None = None
    strictMessageKeys: bool | None = None
    requiresToolResultName: bool | None = None
    requiresAssistantAfterToolResult: bool | None = None
    requiresThinkingAsText: bool | None = None
    requiresReasoningContentOnAssistantMessages: bool | None = None
    requiresMistralToolIds: bool | None = None
    requiresOpenAiAnthropicToolPayload: bool | None = None
    toolSchemaProfile: str | None = None
    unsupportedToolSchemaKeywords: list[str] | None = None
    toolCallArgumentsEncoding: str | None = None
    nativeWebSearchTool: Any = None
    supportsTemperature: bool | None = None
    supportsInstructions: bool | None = None
    appendOnlyRuntimeContext: bool | None = None


class ImageInputLimits(Section):
    maxBytes: PositiveInt | None = None
    maxPixels: PositiveInt | None = None
    maxSidePx: PositiveInt | None = None
    preferredSidePx: PositiveInt | None = None
    tokenMode: str | None = None


class MediaInput(Section):
    image: ImageInputLimits | None = None


class ModelParams(BaseModel):
    # Free-form request params (temperature, top_p, num_ctx, ...): unknown keys are normal
    # here, so they are neither errors nor warnings; the few we interpret are typed.
    model_config = ConfigDict(strict=True, extra="allow")
    preload: bool | None = None
    ttlSeconds: PositiveInt | None = None
    streaming: bool | None = None
    maxTokens: PositiveInt | None = None


class ModelRow(Section):
    id: NonEmptyStr
    name: str | None = None
    api: ApiName | None = None
    baseUrl: str | None = None
    reasoning: bool | None = None
    input: list[Literal["text", "image", "video", "audio"]] | None = None
    cost: Cost | None = None
    contextWindow: PositiveInt | None = None
    contextTokens: PositiveInt | None = None
    maxTokens: PositiveInt | None = None
    params: ModelParams | None = None
    headers: dict[str, SecretInput] | None = None
    compat: Compat | None = None
    mediaInput: MediaInput | None = None
    metadataSource: Literal["models-add"] | None = None


class RequestAuth(Section):
    mode: Literal["provider-default", "authorization-bearer", "header"]
    token: SecretInput = None
    headerName: str | None = None
    value: SecretInput = None
    prefix: str | None = None


class RequestProxy(Section):
    mode: Literal["env-proxy", "explicit-proxy"]
    url: str | None = None
    tls: dict[str, Any] | None = None


class RequestTls(Section):
    ca: str | None = None
    cert: str | None = None
    key: SecretInput = None
    passphrase: SecretInput = None
    serverName: str | None = None
    insecureSkipVerify: bool | None = None


class ProviderRequest(Section):
    headers: dict[str, SecretInput] | None = None
    auth: RequestAuth | None = None
    proxy: RequestProxy | None = None
    tls: RequestTls | None = None
    allowPrivateNetwork: bool | None = None


class AgentRuntime(Section):
    id: NonEmptyStr


class LocalService(Section):
    command: NonEmptyStr
    args: list[str] | None = None
    cwd: str | None = None
    env: dict[str, str] | None = None
    healthUrl: str | None = None
    readyTimeoutMs: PositiveInt | None = None
    idleStopMs: PositiveInt | None = None


class Provider(Section):
    baseUrl: str | None = None
    baseURL: str | None = None
    apiKey: SecretInput = None
    auth: Literal["api-key", "token", "oauth", "aws-sdk"] | None = None
    api: ApiName | None = None
    headers: dict[str, SecretInput] | None = None
    authHeader: bool | None = None
    contextWindow: PositiveInt | None = None
    contextTokens: PositiveInt | None = None
    maxTokens: PositiveInt | None = None
    timeoutSeconds: PositiveInt | None = None
    injectNumCtxForOpenAICompat: bool | None = None
    params: ModelParams | None = None
    request: ProviderRequest | None = None
    models: list[ModelRow] | None = None
    region: str | None = None
    agentRuntime: AgentRuntime | None = None
    localService: LocalService | None = None

    @field_validator("baseUrl", "baseURL")
    @classmethod
    def _base_url(cls, value: str | None) -> str | None:
        if value is not None and not value.lower().startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        return value


class ModelsSection(Section):
    mode: Literal["merge", "replace"] | None = None
    providers: dict[str, Provider] | None = None


def _check_model_selection(value: Any) -> Any:
    if isinstance(value, str):
        if not value.strip():
            raise ValueError("model ref must not be empty")
        return value
    if isinstance(value, dict):
        primary = value.get("primary")
        fallbacks = value.get("fallbacks", [])
        if (primary is None or (isinstance(primary, str) and primary.strip())) and (
            isinstance(fallbacks, list) and all(isinstance(f, str) and f for f in fallbacks)
        ):
            return value
    raise ValueError("expected a model ref string or an object {primary, fallbacks: [refs]}")


class AgentModelEntry(Section):
    alias: NonEmptyStr | None = None
    params: dict[str, Any] | None = None
    thinking: str | None = None


class AgentDefaults(BaseModel):
    # Only the model settings are ours; workspace, sandbox, ... belong to other features.
    model_config = ConfigDict(strict=True, extra="ignore")
    model: Any = None
    imageModel: Any = None
    models: dict[str, AgentModelEntry] | None = None

    @field_validator("model", "imageModel")
    @classmethod
    def _selection(cls, value: Any) -> Any:
        return value if value is None else _check_model_selection(value)


class AgentsSection(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore")
    defaults: AgentDefaults | None = None


class AuthProfileConfig(Section):
    provider: NonEmptyStr
    mode: Literal["api_key", "token", "oauth"]
    email: str | None = None


class AuthSection(Section):
    profiles: dict[str, AuthProfileConfig] | None = None
    order: dict[str, list[str]] | None = None
    cooldowns: dict[str, Any] | None = None


class Root(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore")
    models: ModelsSection | None = None
    agents: AgentsSection | None = None
    auth: AuthSection | None = None
