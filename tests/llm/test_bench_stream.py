"""bench/stream.py runs end to end (small size) and reports all three clients."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench" / "stream.py"


@pytest.mark.slow
def test_bench_stream_runs() -> None:
    proc = subprocess.run(
        [sys.executable, str(BENCH), "--chunks", "300", "--runs", "1", "--json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert set(result["chunks_per_second"]) == {"openclaw", "openai", "bare"}
    assert all(rate > 0 for rate in result["chunks_per_second"].values())
