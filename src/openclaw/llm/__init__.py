"""Provider-agnostic chat: message and event types (``types``), compat resolution
(``compat``), the openai-completions protocol (``openai_completions``) with its SSE decoder
(``sse``), usage normalisation (``usage``), error classification (``errors``) and plain-text
tool-call promotion (``text_toolcalls``). Nothing here is imported eagerly."""
