"""Auth: profile store, non-secret markers, credential resolution and redaction."""
