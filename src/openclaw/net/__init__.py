"""Network guard: the only place that opens sockets.

``openclaw.net.policy`` (NetPolicy, STRICT_POLICY, provider_policy, policy_for_provider_config)
is import-light. ``openclaw.net.client`` (async_client) imports httpx2; import it where
requests are made. ``openclaw.net.errors`` maps transport exceptions to openclaw's errors, once.
"""
