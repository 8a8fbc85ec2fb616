"""Every error openclaw raises on purpose.

The CLI turns any ``OpenClawError`` into one line (``message``) plus an optional hint line
(``hint``) and exit code 1; anything else is a bug and gets a traceback only with ``--debug``.
Messages must never contain a secret: callers pass origins, not URLs with credentials, and
keys are masked before they reach an error.

    OpenClawError
    ├── UsageError                  bad flags or arguments given to a command
    ├── ConfigError                 the config file cannot be read, parsed or written
    │   ├── ConfigValidationError   schema violations (``issues``: list of (path, message))
    │   ├── MissingEnvVarError      ``${VAR}`` unresolved in strict mode
    │   ├── IncludeError            ``$include`` confinement, depth, size or cycle
    │   └── ConcurrentWriteError    the file changed under us and retries ran out
    ├── AuthError                   no usable credential (``No API key found for provider …``)
    ├── ModelRefError               a model ref that cannot be parsed or resolved
    ├── NetworkError                transport failures below HTTP
    │   ├── SsrfBlockedError        the network guard refused a URL or a DNS answer
    │   ├── UnreachableError        connection refused / DNS failure / no route
    │   ├── RequestTimeoutError     connect, read or whole-request timeout
    │   ├── ConnectionClosedError   the server closed the connection (before or mid-response)
    │   └── ResponseTooLargeError   a body exceeded its size cap
    ├── DownloadError               a model download failed (missing/gated repo, hash mismatch, offline)
    ├── ProviderError               the server answered, but not with what we need
    │   ├── ProviderHTTPError       a non-2xx status (``status``, ``body_excerpt``)
    │   │   ├── ProviderAuthError       401 / 403
    │   │   ├── ProviderNotFoundError   404: unknown model or wrong base URL
    │   │   ├── ProviderRateLimitError  429
    │   │   └── ProviderTransientError  408 / 425 / 5xx
    │   ├── ContextOverflowError    prompt larger than the loaded context (``requested``, ``available``)
    │   ├── MalformedResponseError  not JSON, wrong shape, HTML where JSON was expected, broken stream
    │   └── ModelLoadError          LM Studio could not load a model with the needed context
    ├── EngineError                 the built-in llama.cpp engine cannot start (port taken, failed load)
    └── ToolError                   a tool refused or failed (reported back to the model)
"""

from __future__ import annotations

from collections.abc import Sequence


class OpenClawError(Exception):
    """Base class: ``message`` is the one line shown to the user, ``hint`` what to do next."""

    hint: str | None = None

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if hint is not None:
            self.hint = hint

    def __str__(self) -> str:
        return self.message


class UsageError(OpenClawError):
    pass


class ConfigError(OpenClawError):
    pass


class ConfigValidationError(ConfigError):
    """``issues`` are (dotted path, message) pairs; ``str()`` is the full report."""

    def __init__(self, file: str, issues: Sequence[tuple[str, str]]) -> None:
        self.file = file
        self.issues = list(issues)
        lines = [f"Invalid config at {file}:"]
        lines += [f"- {path or '<root>'}: {msg}" for path, msg in self.issues]
        super().__init__("\n".join(lines), hint="Fix the file (or run `openclaw config validate`).")


class MissingEnvVarError(ConfigError):
    def __init__(self, name: str, path: str) -> None:
        self.name = name
        self.path = path
        super().__init__(f'Missing env var "{name}" referenced at config path: {path}')


class IncludeError(ConfigError):
    pass


class ConcurrentWriteError(ConfigError):
    pass


class AuthError(OpenClawError):
    pass


class ModelRefError(OpenClawError):
    pass


class NetworkError(OpenClawError):
    pass


class SsrfBlockedError(NetworkError):
    """``reason`` is the guard's rule text; ``origin`` never carries path, query or userinfo."""

    def __init__(self, reason: str, *, origin: str | None = None, hint: str | None = None) -> None:
        self.reason = reason
        self.origin = origin
        text = reason if origin is None else f"{reason} ({origin})"
        super().__init__(text, hint=hint)


class UnreachableError(NetworkError):
    pass


class RequestTimeoutError(NetworkError):
    pass


class ConnectionClosedError(NetworkError):
    pass


class ResponseTooLargeError(NetworkError):
    pass


class DownloadError(OpenClawError):
    """A model pull failed: unknown or gated repo, no matching file, sha256 mismatch, offline."""


class ProviderError(OpenClawError):
    pass


class ProviderHTTPError(ProviderError):
    def __init__(
        self,
        message: str,
        *,
        status: int,
        body_excerpt: str = "",
        hint: str | None = None,
    ) -> None:
        self.status = status
        self.body_excerpt = body_excerpt
        super().__init__(message, hint=hint)


class ProviderAuthError(ProviderHTTPError):
    pass


class ProviderNotFoundError(ProviderHTTPError):
    pass


class ProviderRateLimitError(ProviderHTTPError):
    pass


class ProviderTransientError(ProviderHTTPError):
    pass


class ContextOverflowError(ProviderError):
    def __init__(
        self,
        message: str,
        *,
        requested: int | None = None,
        available: int | None = None,
        hint: str | None = None,
    ) -> None:
        self.requested = requested
        self.available = available
        super().__init__(message, hint=hint)


class MalformedResponseError(ProviderError):
    pass


class ModelLoadError(ProviderError):
    pass


class EngineError(OpenClawError):
    """The built-in engine could not be started, reached or stopped."""


class ToolError(OpenClawError):
    pass


#: Failures after which the agent may try the next fallback model (core.md §3.5).
#: Context overflow is deliberately absent: trimming handles it, another model would not.
FALLBACK_TRIGGERS: tuple[type[OpenClawError], ...] = (
    ProviderAuthError,
    ProviderRateLimitError,
    ProviderTransientError,
    UnreachableError,
    RequestTimeoutError,
    AuthError,
)
