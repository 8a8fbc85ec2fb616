"""Model refs, aliases and the configured catalog."""
