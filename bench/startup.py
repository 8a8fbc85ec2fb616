"""Start-up cost of the commands that must feel instant, as ratios to a bare interpreter.

Runs a bare `python -c pass`, `openclaw --version` and `openclaw models list` (on a generated
50-model config in a throw-away HOME) side by side, interleaved, ten rounds, and prints the
median wall time, the median peak RSS, and each command's ratio to the bare interpreter
started the same way (so a busy machine slows both alike). Targets: `models list` at most 6x
the bare interpreter, and under 40 MB. Also printed, without a target: `models list` when the
validation stamp is missing (the first read after the config changed).

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

TARGET_RATIO = 6.0
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
    commands = {
        "python -c pass (baseline)": [sys.executable, "-c", "pass"],
        "openclaw --version": [*base, "--version"],
        "openclaw models list": [*base, "models", "list"],
    }
    with tempfile.TemporaryDirectory(prefix="openclaw-bench-") as tmp:
        home = Path(tmp)
        write_config(home)
        # PYTHONDONTWRITEBYTECODE (set by some shells and sandboxes) would recompile every
        # module on every run: a cost no installed copy pays.
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith("OPENCLAW_") and k != "PYTHONDONTWRITEBYTECODE"
        }
        env.update({"HOME": str(home), "NO_COLOR": "1"})
        for argv in commands.values():
            measure(argv, env)  # warm the page cache and the validation stamp
        runs: dict[str, list[tuple[float, float]]] = {label: [] for label in commands}
        for _ in range(args.runs):  # interleaved: a load spike hits every command alike
            for label, argv in commands.items():
                runs[label].append(measure(argv, env))
        baseline = statistics.median(r[0] for r in runs["python -c pass (baseline)"])
        print(f"{'command':<28} {'wall ms':>9} {'x bare':>7} {'peak RSS MB':>12}")
        results = {}
        for label, measured in runs.items():
            wall = statistics.median(r[0] for r in measured)
            rss = statistics.median(r[1] for r in measured)
            results[label] = (wall / baseline, rss)
            print(f"{label:<28} {wall:>9.1f} {wall / baseline:>7.2f} {rss:>12.1f}")
        # For information (no target): the first read of a changed config runs the full
        # pydantic validation; later reads reuse <stateDir>/.config-validated.json.
        stamp = home / ".openclaw" / ".config-validated.json"
        cold = []
        for _ in range(args.runs):
            stamp.unlink(missing_ok=True)
            cold.append(measure(commands["openclaw models list"], env))
        wall = statistics.median(r[0] for r in cold)
        rss = statistics.median(r[1] for r in cold)
        print(f"{'(models list, no stamp)':<28} {wall:>9.1f} {wall / baseline:>7.2f} {rss:>12.1f}")
        ratio, rss = results["openclaw models list"]
        ok = ratio <= TARGET_RATIO and rss < TARGET_MB
        print(
            f"target: models list <= {TARGET_RATIO:.0f}x bare and < {TARGET_MB:.0f} MB -> "
            f"{ratio:.2f}x, {rss:.1f} MB: {'OK' if ok else 'MISSED'}"
        )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
