"""Benchmark one `openclaw agent -m hi` turn against an instant fake LM Studio.

Runs the real CLI as a subprocess (fresh interpreter each run, temp HOME) and reports:
wall time per run (median / min / max), the turn's own durationMs, peak RSS of the child
process, the prompt size of the "hi" request (characters / 4 of its messages and tool schemas)
and the HTTP requests one turn makes.

    python bench/agent_turn.py [--runs 5] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.servers.fake_lmstudio import FakeLMStudio, Reply  # noqa: E402

MODEL = "qwen/qwen3.5-9b"


def write_config(home: Path, base_url: str) -> None:
    state = home / ".openclaw"
    state.mkdir(parents=True)
    (state / "openclaw.json").write_text(
        json.dumps(
            {
                "models": {
                    "providers": {
                        "lmstudio": {
                            "baseUrl": base_url,
                            "api": "openai-completions",
                            "apiKey": "lmstudio-local",
                            "models": [
                                {
                                    "id": MODEL,
                                    "contextWindow": 32768,
                                    "maxTokens": 4096,
                                    "reasoning": False,
                                }
                            ],
                        }
                    }
                },
                "agents": {"defaults": {"model": {"primary": f"lmstudio/{MODEL}"}}},
            }
        )
    )


def run_once(env: dict[str, str], cwd: Path) -> tuple[float, int, dict[str, Any]]:
    """(wall seconds, peak RSS KiB, parsed --json output) of one CLI run."""
    t0 = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-m", "openclaw", "agent", "-m", "hi", "--json", "--new"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        env=env,
        cwd=cwd,
    )
    assert proc.stdout is not None and proc.stderr is not None
    out = proc.stdout.read()
    err = proc.stderr.read()
    _pid, status, usage = os.wait4(proc.pid, 0)
    wall = time.monotonic() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"agent failed ({proc.returncode}): {err.decode()}")
    return wall, usage.ru_maxrss, json.loads(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--json", action="store_true", help="print the numbers as JSON")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp, FakeLMStudio() as fake:
        home = Path(tmp)
        write_config(home, fake.base_url)
        (home / "cwd").mkdir()
        env = {k: v for k, v in os.environ.items() if not k.startswith("OPENCLAW_")}
        env.update(HOME=str(home), NO_COLOR="1")
        walls: list[float] = []
        rss: list[int] = []
        durations: list[int] = []
        requests_per_turn: list[str] = []
        body: dict[str, Any] = {}
        for _ in range(args.runs):
            fake.clear_requests()
            fake.script(Reply(text="Hello! How can I help?"))
            wall, maxrss, out = run_once(env, home / "cwd")
            walls.append(wall)
            rss.append(maxrss)
            durations.append(out["meta"]["durationMs"])
            requests_per_turn = fake.paths()
            chats = [r.json for r in fake.requests if r.path == "/v1/chat/completions"]
            body = chats[-1]
        chars = len(json.dumps(body.get("messages", []), ensure_ascii=False)) + len(
            json.dumps(body.get("tools", []), ensure_ascii=False)
        )
        system = next((m["content"] for m in body["messages"] if m["role"] == "system"), "")
        result = {
            "runs": args.runs,
            "wall_s": {
                "median": round(statistics.median(walls), 3),
                "min": round(min(walls), 3),
                "max": round(max(walls), 3),
            },
            "turn_duration_ms_median": statistics.median(durations),
            "peak_rss_mb_max": round(max(rss) / 1024, 1),
            "prompt_tokens_chars_div_4": chars // 4,
            "system_prompt_chars": len(system),
            "tools_sent": [t["function"]["name"] for t in body.get("tools", [])],
            "http_requests_per_turn": requests_per_turn,
        }
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"runs                 {result['runs']}")
        w = result["wall_s"]
        print(f"wall (s)             median {w['median']}  min {w['min']}  max {w['max']}")
        print(f"turn durationMs      median {result['turn_duration_ms_median']}")
        print(f"peak RSS (MB)        {result['peak_rss_mb_max']}")
        print(f"prompt tokens (c/4)  {result['prompt_tokens_chars_div_4']}")
        print(f"system prompt chars  {result['system_prompt_chars']}")
        print(f"tools sent           {', '.join(result['tools_sent'])}")
        print(f"requests per turn    {'; '.join(result['http_requests_per_turn'])}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
