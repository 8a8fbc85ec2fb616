"""Start-up cost of the commands that must feel instant.

Runs `openclaw --version` and `openclaw models list` (on a generated 50-model config in a
throw-away HOME) ten times each and prints the median wall time and the median peak RSS.
Targets: under 150 ms and 40 MB each. Also printed, without a target: `models list` when
the validation stamp is missing (the first read after the config changed).

    python bench/startup.py [--runs N]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET_MS = 150.0
TARGET_MB = 40.0


def write_config(home: Path, count: int = 50) -> None:
    models = [
        {
            "id": f"org/model-{n:02d}",
            "name": f"Model {n}",
            "reasoning": n % 2 == 0,
            "input": ["text", "image"] if n % 3 == 0 else ["text"],
            "cost": {"input": 0, "output": 0, "cacheRead": 0, "cacheWrite": 0},
            "contextWindow": 262144,
            "contextTokens": 32768,
            "maxTokens": 8192,
            "compat": {"supportsTools": True},
        }
        for n in range(count)
    ]
    config = {
        "models": {
            "mode": "merge",
            "providers": {
                "lmstudio": {
                    "baseUrl": "http://localhost:1234/v1",
                    "api": "openai-completions",
                    "apiKey": "lmstudio-local",
                    "models": models,
                }
            },
        },
        "agents": {"defaults": {"model": {"primary": "lmstudio/org/model-01"}}},
    }
    state = home / ".openclaw"
    state.mkdir(mode=0o700)
    (state / "openclaw.json").write_text(json.dumps(config, indent=2) + "\n")


def command() -> list[str]:
    script = Path(sys.executable).with_name("openclaw")
    if script.exists():
        return [str(script)]
    found = shutil.which("openclaw")
    return [found] if found else [sys.executable, "-m", "openclaw"]


def measure(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall milliseconds and peak RSS in MB of one run (rusage of exactly that child)."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = (time.perf_counter() - start) * 1000
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        err = proc.stderr.read().decode() if proc.stderr else ""
        raise SystemExit(f"{' '.join(argv)} failed ({proc.returncode}): {err}")
    if proc.stderr:
        proc.stderr.close()
    return wall, usage.ru_maxrss / 1024  # ru_maxrss is in KiB on Linux


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    base = command()
    with tempfile.TemporaryDirectory(prefix="openclaw-bench-") as tmp:
        home = Path(tmp)
        write_config(home)
        env = {k: v for k, v in os.environ.items() if not k.startswith("OPENCLAW_")}
        env.update({"HOME": str(home), "NO_COLOR": "1"})
        ok = True
        print(f"{'command':<28} {'wall ms (median)':>17} {'peak RSS MB (median)':>21}")
        for label, extra in (("openclaw --version", ["--version"]),
                             ("openclaw models list", ["models", "list"])):  # fmt: skip
            measure([*base, *extra], env)  # warm the page cache and the validation stamp
            runs = [measure([*base, *extra], env) for _ in range(args.runs)]
            wall = statistics.median(r[0] for r in runs)
            rss = statistics.median(r[1] for r in runs)
            ok = ok and wall < TARGET_MS and rss < TARGET_MB
            print(f"{label:<28} {wall:>17.1f} {rss:>21.1f}")
        # For information (no target): the first read of a changed config runs the full
        # pydantic validation; later reads reuse <stateDir>/.config-validated.json.
        stamp = home / ".openclaw" / ".config-validated.json"
        cold = []
        for _ in range(args.runs):
            stamp.unlink(missing_ok=True)
            cold.append(measure([*base, "models", "list"], env))
        wall = statistics.median(r[0] for r in cold)
        rss = statistics.median(r[1] for r in cold)
        print(f"{'(models list, no stamp)':<28} {wall:>17.1f} {rss:>21.1f}")
        print(
            f"targets: < {TARGET_MS:.0f} ms and < {TARGET_MB:.0f} MB -> {'OK' if ok else 'MISSED'}"
        )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
