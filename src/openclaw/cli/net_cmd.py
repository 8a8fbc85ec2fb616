"""`openclaw net check`: explain what the network guard decides for a URL. Never connects.

The decision goes through ``openclaw.net.guard.evaluate_chain``, the same checks the client
runs for every hop.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from openclaw.config.kinds import LMSTUDIO
from openclaw.errors import UsageError

if TYPE_CHECKING:
    from openclaw.net.policy import NetPolicy


@click.group("net")
def net() -> None:
    """Explain what the network guard allows."""


def _parse_resolve(values: tuple[str, ...]) -> dict[str, list[str]]:
    from openclaw.net.addresses import canonical_ip
    from openclaw.net.hosts import normalize_host

    table: dict[str, list[str]] = {}
    for item in values:
        host, sep, ips = item.partition("=")
        host = normalize_host(host)
        if not sep or not host:
            raise UsageError(
                f"Invalid --resolve value: {item!r}",
                hint="Use --resolve HOST=IP[,IP...], e.g. --resolve llm.lan=192.168.1.50",
            )
        answers = table.setdefault(host, [])
        for ip in filter(None, (p.strip() for p in ips.split(","))):
            try:
                canonical_ip(ip)
            except ValueError:
                raise UsageError(
                    f"Invalid address in --resolve {host}: {ip!r}",
                    hint="Give IP addresses (IPv4 dotted decimal or IPv6), comma-separated.",
                ) from None
            answers.append(ip)
    return table


def _policy(provider: str | None, base_url: str | None, allow_private: str | None) -> NetPolicy:
    from openclaw.net.policy import STRICT_POLICY, provider_policy, split_origin

    flag = None if allow_private is None else allow_private == "true"
    if provider is not None and base_url is not None:
        raise UsageError(
            "Use either --provider or --base-url, not both.",
            hint="--provider reads the baseUrl from the config; --base-url gives one directly.",
        )
    if provider is not None:
        # The policy the provider's own requests get: its base URL (or its kind's default
        # server, as when it is used unconfigured) trusted exactly.
        from openclaw.config.loader import load_config
        from openclaw.errors import ConfigError
        from openclaw.providers.endpoint import provider_base

        cfg = load_config()
        try:
            key, _kind, settings, base = provider_base(cfg, provider)
        except ConfigError:
            known = ", ".join(sorted(cfg.providers())) or "none configured"
            raise UsageError(
                f"Unknown provider: {provider}",
                hint=f"Configured providers: {known}.",
            ) from None
        allow = flag if flag is not None else settings.allow_private_network
        return provider_policy(key, base, allow)
    if base_url is not None:
        if split_origin(base_url) is None:
            from openclaw.net.guard import display_raw_url

            raise UsageError(
                f"Invalid --base-url: {display_raw_url(base_url)!r}",
                hint="Give the provider's baseUrl, an http:// or https:// URL with a valid host "
                f"and port, e.g. --base-url http://192.168.1.10:{LMSTUDIO.default_port}/v1",
            )
        return provider_policy("<id>", base_url, flag)
    if flag is True:
        raise UsageError(
            "--allow-private-network needs --provider or --base-url.",
            hint="Without a provider the guard is strict: public addresses only.",
        )
    return STRICT_POLICY


@net.command("check")
@click.argument("url")
@click.option("--provider", "provider", metavar="ID", help="Use this configured provider's policy.")
@click.option("--base-url", "base_url", metavar="URL", help="Act as a provider with this baseUrl.")
@click.option(
    "--allow-private-network",
    "allow_private",
    type=click.Choice(["true", "false"]),
    help="The provider's request.allowPrivateNetwork.",
)
@click.option(
    "--resolve",
    "resolve",
    multiple=True,
    metavar="HOST=IP[,IP...]",
    help="Answer DNS for HOST; turns real DNS off (only listed names resolve).",
)
@click.option(
    "--no-dns", is_flag=True, help="Resolve no names at all (same as an empty --resolve)."
)
@click.option(
    "--redirect",
    "redirects",
    multiple=True,
    metavar="URL",
    help="A Location the server would send (repeatable, in order).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the decision as JSON.")
def check(
    url: str,
    provider: str | None,
    base_url: str | None,
    allow_private: str | None,
    resolve: tuple[str, ...],
    no_dns: bool,
    redirects: tuple[str, ...],
    as_json: bool,
) -> None:
    """Say whether URL may be fetched, why, which addresses it would dial, and each hop.

    Exit status 0 when allowed, 1 when blocked. Makes no connection.
    """
    from openclaw.net.guard import evaluate_chain

    policy = _policy(provider, base_url, allow_private)
    resolver = None
    if resolve or no_dns:
        table = _parse_resolve(resolve)

        def resolver(host: str, port: int) -> list[str]:
            return list(table.get(host, []))

    hops = evaluate_chain(url, policy, resolver, list(redirects))
    allowed = all(h.allowed for h in hops)
    reason = hops[-1].reason
    if as_json:
        from openclaw.cli.common import echo_json

        echo_json({"allowed": allowed, "reason": reason, "hops": [h.as_json() for h in hops]})
        if not allowed and hops[-1].hint:
            click.echo(f"Hint: {hops[-1].hint}", err=True)
    else:
        click.echo(f"{'allowed' if allowed else 'blocked'}: {reason}")
        for index, hop in enumerate(hops):
            state = "allowed" if hop.allowed else "blocked"
            addresses = ", ".join(hop.addresses) if hop.addresses else "-"
            click.echo(f"  hop {index}: {hop.url}")
            click.echo(f"    {state}: {hop.reason}")
            click.echo(f"    addresses: {addresses}")
            if hop.hint and not hop.allowed:
                click.echo(f"    hint: {hop.hint}")
    if not allowed:
        raise click.exceptions.Exit(1)
