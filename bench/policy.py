"""Cost of the guard's policy check once DNS has answered (target: < 50 µs per request).

Measures what the transport runs for every hop besides the lookup itself: the pre-DNS host
checks with per-hop origin trust and the check of every DNS answer; the second column adds
parsing the URL with httpx2 (the client has already parsed it when the transport runs).

    python bench/policy.py            # prints µs per check for a few representative requests
"""

from __future__ import annotations

import sys
import time

import httpx2

from openclaw.net.guard import check_answers, check_target
from openclaw.net.policy import STRICT_POLICY, provider_policy

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


def measure(policy, url: str, answers: list[str], rounds: int, *, parse: bool) -> float:  # type: ignore[no-untyped-def]
    parsed = httpx2.URL(url)
    start = time.perf_counter()
    if parse:
        for _ in range(rounds):
            target = check_target(httpx2.URL(url), policy)
            check_answers(target, answers, policy)
    else:
        for _ in range(rounds):
            target = check_target(parsed, policy)
            check_answers(target, answers, policy)
    return (time.perf_counter() - start) / rounds * 1e6


def main() -> int:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 20000
    worst = worst_parsed = 0.0
    print("   check  +URL parse")
    for label, policy, url, answers in CASES:
        measure(policy, url, answers, 500, parse=True)  # warm up
        micros = min(measure(policy, url, answers, rounds, parse=False) for _ in range(3))
        with_parse = min(measure(policy, url, answers, rounds, parse=True) for _ in range(3))
        worst, worst_parsed = max(worst, micros), max(worst_parsed, with_parse)
        print(f"{micros:6.2f} µs  {with_parse:6.2f} µs  {label}")
    print(
        f"worst: {worst:.2f} µs per check once DNS has answered "
        f"({worst_parsed:.2f} µs including httpx2 URL parsing); budget 50 µs"
    )
    return 0 if worst_parsed < 50 else 1


if __name__ == "__main__":
    raise SystemExit(main())
