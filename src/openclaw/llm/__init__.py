"""Provider-agnostic chat: message and event types (``types``), compat resolution
(``compat``), the openai-completions protocol in three parts - request building
(``openai_request``), stream processing (``openai_stream``, with ``think_tags``) and transport
(``openai_completions.stream_chat``) - with its SSE decoder (``sse``), usage normalisation
(``usage``), error classification (``errors``) and plain-text tool-call promotion
(``text_toolcalls``). Nothing here is imported eagerly."""
