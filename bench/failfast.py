"""How fast the CLI gives up when a server is down, silent or dripping.

The test suite checks what these commands say and their exit codes, with generous hang
guards; the figures live here. Each case runs the real CLI as a subprocess in a throw-away
HOME against 127.0.0.1 only: a closed port (connection refused), a server that accepts and
never answers, and one that drips one byte a second.

    python bench/failfast.py [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

MODEL = "m"
#: A command still running after this long counts as hanging (exit shown as -1).
HANG_SECONDS = 120


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def silent_server(drip: bool) -> Iterator[int]:
    """Accepts connections; answers nothing (or one byte of a never-ending body a second)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    server.settimeout(0.2)
    stop = threading.Event()
    held: list[socket.socket] = []

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            held.append(conn)
            if drip:
                threading.Thread(target=drip_to, args=(conn,), daemon=True).start()

    def drip_to(conn: socket.socket) -> None:
        try:
            conn.recv(65536)
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n")
            while not stop.is_set():
                conn.sendall(b" ")
                time.sleep(1.0)
        except OSError:
            return

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield int(server.getsockname()[1])
    finally:
        stop.set()
        thread.join()
        for conn in held:
            conn.close()
        server.close()


def write_config(home: Path, port: int, provider: str = "llama-cpp") -> None:
    state = home / ".openclaw"
    state.mkdir(parents=True, exist_ok=True)
    config = {
        "models": {
            "providers": {
                provider: {
                    "baseUrl": f"http://127.0.0.1:{port}/v1",
                    "api": "openai-completions",
                    "models": [{"id": MODEL, "name": MODEL, "contextWindow": 8192}],
                }
            }
        },
        "agents": {"defaults": {"model": {"primary": f"{provider}/{MODEL}"}}},
    }
    (state / "openclaw.json").write_text(json.dumps(config))


def run(args: list[str], home: Path) -> tuple[float, int]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENCLAW_")}
    env.update({"HOME": str(home), "NO_COLOR": "1"})
    started = time.perf_counter()
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "openclaw", *args],
            env=env,
            capture_output=True,
            stdin=subprocess.DEVNULL,
            timeout=HANG_SECONDS,
        )
    except subprocess.TimeoutExpired:
        return HANG_SECONDS * 1000, -1  # reported as a hang
    return (time.perf_counter() - started) * 1000, proc.returncode


CASES = {
    "models status --probe": ["models", "status", "--probe"],
    "models list --refresh": ["models", "list", "--refresh"],
    "agent -m hi": ["agent", "-m", "hi"],
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    print(f"{'server':<10} {'command':<24} {'wall ms (median)':>17} {'exit':>5}")
    for label in ("closed", "silent", "drip"):
        for name, argv in CASES.items():
            results = []
            for _ in range(args.runs):
                with tempfile.TemporaryDirectory(prefix="openclaw-bench-") as tmp:
                    home = Path(tmp)
                    if label == "closed":
                        write_config(home, closed_port())
                        results.append(run(argv, home))
                    else:
                        with silent_server(drip=label == "drip") as port:
                            write_config(home, port)
                            results.append(run(argv, home))
            wall = statistics.median(r[0] for r in results)
            codes = sorted({r[1] for r in results})
            print(f"{label:<10} {name:<24} {wall:>17.0f} {','.join(map(str, codes)):>5}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
