"""Cost of the guard's policy check once DNS has answered (target: < 50 µs per request).

Measures what the transport runs for every hop besides the lookup itself: the pre-DNS host
checks with per-hop origin trust and the check of every DNS answer. Columns:

* ``check``: with warm caches (a host and addresses seen before: the usual case);
* ``+URL parse``: the same plus parsing the URL with httpx2 (the client has already parsed it
  when the transport runs);
* ``cold``: URL parse plus host and address parsing from scratch (caches cleared each round:
  a host or DNS answer never seen before).

    python bench/policy.py [ROUNDS]      # prints µs per check; exit 1 over budget
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

import httpx2

from openclaw.net.addresses import inspect_ip
from openclaw.net.guard import check_answers, check_target
from openclaw.net.hosts import parse_host
from openclaw.net.policy import STRICT_POLICY, NetPolicy, provider_policy

BUDGET_US = 50.0

CASES = [
    (
        "provider, trusted LAN origin (IP literal)",
        provider_policy("vllm", "http://192.168.1.10:1234/v1", None),
        "http://192.168.1.10:1234/v1/chat/completions",
        [],
    ),
    (
        "provider, trusted name, 2 answers",
        provider_policy("ollama", "http://ollama-host:11434", None),
        "http://ollama-host:11434/api/chat",
        ["192.168.1.20", "fd00::20"],
    ),
    (
        "strict, public name, 4 answers",
        STRICT_POLICY,
        "https://api.example.com/v1/models?x=1",
        ["93.184.216.34", "93.184.216.35", "2606:2800:220:1::1", "2606:2800:220:1::2"],
    ),
    ("strict, public IPv6 literal", STRICT_POLICY, "http://[2607:f8b0:400a:807::200e]/", []),
]


def _clear_caches() -> None:
    inspect_ip.cache_clear()
    parse_host.cache_clear()


def measure(policy: NetPolicy, url: str, answers: list[str], rounds: int, mode: str) -> float:
    """µs per check; ``mode`` is "check", "parse" or "cold"."""
    parsed = httpx2.URL(url)
    clear: Callable[[], None] = _clear_caches if mode == "cold" else (lambda: None)
    start = time.perf_counter()
    if mode == "check":
        for _ in range(rounds):
            target = check_target(parsed, policy)
            check_answers(target, answers, policy)
    else:
        for _ in range(rounds):
            clear()
            target = check_target(httpx2.URL(url), policy)
            check_answers(target, answers, policy)
    return (time.perf_counter() - start) / rounds * 1e6


def run(rounds: int, repeats: int = 3) -> dict[str, dict[str, float]]:
    """{case label: {mode: best µs per check}}."""
    results: dict[str, dict[str, float]] = {}
    for label, policy, url, answers in CASES:
        measure(policy, url, answers, 500, "parse")  # warm up
        results[label] = {
            mode: min(measure(policy, url, answers, rounds, mode) for _ in range(repeats))
            for mode in ("check", "parse", "cold")
        }
    return results


def main() -> int:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 20000
    results = run(rounds)
    print("   check  +URL parse     cold")
    for label, row in results.items():
        print(f"{row['check']:6.2f} µs  {row['parse']:6.2f} µs  {row['cold']:6.2f} µs  {label}")
    worst = {
        mode: max(row[mode] for row in results.values()) for mode in ("check", "parse", "cold")
    }
    print(
        f"worst: {worst['check']:.2f} µs per check once DNS has answered "
        f"({worst['parse']:.2f} µs including httpx2 URL parsing, {worst['cold']:.2f} µs "
        f"with cold caches); budget {BUDGET_US:g} µs"
    )
    return 0 if worst["parse"] < BUDGET_US else 1


if __name__ == "__main__":
    raise SystemExit(main())
