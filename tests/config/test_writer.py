from __future__ import annotations

import json
import multiprocessing
import os
import random
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from openclaw.config.paths import Paths, resolve_paths
from openclaw.config.util import set_path
from openclaw.config.writer import update_config
from openclaw.errors import ConcurrentWriteError, ConfigError, ConfigValidationError


def test_first_write_creates_private_dir_and_file(isolated_home: Path) -> None:
    result = update_config(lambda doc: set_path(doc, "gateway.port", 18789))
    state = isolated_home / ".openclaw"
    assert result.path == state / "openclaw.json" and result.backup_path is None
    assert stat.S_IMODE(state.stat().st_mode) == 0o700
    assert stat.S_IMODE(result.path.stat().st_mode) == 0o600
    assert result.path.read_text() == '{\n  "gateway": {\n    "port": 18789\n  }\n}\n'


def test_placeholders_and_tilde_paths_written_as_authored(
    isolated_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LM_API_TOKEN", "sk-lm-secret-value-0001")
    path = isolated_home / ".openclaw" / "openclaw.json"
    path.parent.mkdir()
    path.write_text(
        "// mine\n{models: {providers: {lmstudio: {apiKey: '${LM_API_TOKEN}'}}},"
        " agents: {defaults: {workspace: '~/ws'}}}"
    )
    result = update_config(lambda doc: set_path(doc, "tools.profile", "full"))
    written = json.loads(path.read_text())
    assert written["models"]["providers"]["lmstudio"]["apiKey"] == "${LM_API_TOKEN}"
    assert written["agents"]["defaults"]["workspace"] == "~/ws"
    assert "sk-lm-secret" not in path.read_text()
    assert any("comments are not kept" in w for w in result.warnings)


def test_backups_rotate_and_keep_five(isolated_home: Path) -> None:
    for n in range(8):
        update_config(lambda doc, n=n: set_path(doc, "n", n))
    state = isolated_home / ".openclaw"
    assert json.loads((state / "openclaw.json").read_text())["n"] == 7
    assert json.loads((state / "openclaw.json.bak").read_text())["n"] == 6
    for k in range(1, 5):
        backup = state / f"openclaw.json.bak.{k}"
        assert json.loads(backup.read_text())["n"] == 6 - k
        assert stat.S_IMODE(backup.stat().st_mode) == 0o600
    assert not (state / "openclaw.json.bak.5").exists()


def test_invalid_candidate_is_not_written(isolated_home: Path) -> None:
    update_config(lambda doc: set_path(doc, "models.mode", "merge"))
    path = isolated_home / ".openclaw" / "openclaw.json"
    before = path.read_bytes()
    with pytest.raises(ConfigValidationError):
        update_config(lambda doc: set_path(doc, "models.mode", "sometimes"))
    assert path.read_bytes() == before
    assert not (isolated_home / ".openclaw" / "openclaw.json.bak").exists()


def test_redaction_sentinel_keeps_the_stored_secret(isolated_home: Path) -> None:
    update_config(
        lambda doc: set_path(doc, "models.providers.lmstudio.apiKey", "sk-real-0123456789")
    )
    update_config(
        lambda doc: set_path(doc, "models.providers.lmstudio.apiKey", "__OPENCLAW_REDACTED__")
    )
    path = isolated_home / ".openclaw" / "openclaw.json"
    assert (
        json.loads(path.read_text())["models"]["providers"]["lmstudio"]["apiKey"]
        == "sk-real-0123456789"
    )
    with pytest.raises(ConfigError, match="redaction placeholder"):
        update_config(lambda doc: set_path(doc, "gateway.auth.token", "__OPENCLAW_REDACTED__"))


def test_external_change_during_write_is_reapplied(isolated_home: Path) -> None:
    update_config(lambda doc: set_path(doc, "a", 1))
    path = isolated_home / ".openclaw" / "openclaw.json"
    calls = []

    def mutate(doc: dict) -> None:
        calls.append(dict(doc))
        if len(calls) == 1:  # an editor that ignores our lock saves meanwhile
            path.write_text('{"a": 1, "editor": true}')
        doc["ours"] = True

    update_config(mutate)
    assert json.loads(path.read_text()) == {"a": 1, "editor": True, "ours": True}
    assert len(calls) == 2


def test_file_that_keeps_changing_gives_up(isolated_home: Path) -> None:
    update_config(lambda doc: set_path(doc, "a", 1))
    path = isolated_home / ".openclaw" / "openclaw.json"
    counter = iter(range(100))

    def mutate(doc: dict) -> None:
        path.write_text(json.dumps({"a": next(counter)}))

    with pytest.raises(ConcurrentWriteError):
        update_config(mutate)


def _writer(paths: Paths, worker: int, count: int) -> None:
    for n in range(count):
        update_config(lambda doc, n=n: set_path(doc, f"keys.w{worker}_{n}", n), paths)


def test_eight_processes_fifty_writes_each_lose_nothing() -> None:
    paths = resolve_paths()
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_writer, args=(paths, w, 50)) for w in range(8)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    keys = json.loads(paths.config_path.read_text())["keys"]
    assert len(keys) == 400
    assert keys["w7_49"] == 49


_LOOP_WRITER = """
import sys
from openclaw.config.util import set_path
from openclaw.config.writer import update_config
n = 0
while True:
    n += 1
    update_config(lambda doc: set_path(doc, "counter", {"n": n, "pad": "x" * (n % 5000)}))
"""


@pytest.mark.slow
def test_sigkill_mid_write_never_leaves_a_broken_file(isolated_home: Path) -> None:
    path = isolated_home / ".openclaw" / "openclaw.json"
    rng = random.Random(7)
    last = -1
    for _round in range(8):
        proc = subprocess.Popen([sys.executable, "-c", _LOOP_WRITER], env=dict(os.environ))
        deadline = time.monotonic() + 30
        while not path.exists() and time.monotonic() < deadline:  # first write done
            time.sleep(0.01)
        time.sleep(rng.random() * 0.3)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        data = json.loads(path.read_text())  # never truncated or mixed
        assert data["counter"]["n"] >= 1
        last = data["counter"]["n"]
    assert last >= 1
    # The next writer sweeps temp files a killed writer left behind.
    update_config(lambda doc: set_path(doc, "after", True))
    assert [p.name for p in path.parent.iterdir() if p.name.endswith(".tmp")] == []


def test_include_directives_survive_a_write(isolated_home: Path) -> None:
    state = isolated_home / ".openclaw"
    state.mkdir()
    (state / "providers.json5").write_text("{lmstudio: {baseUrl: 'http://localhost:1234/v1'}}")
    (state / "openclaw.json").write_text(
        '{"models": {"providers": {"$include": "providers.json5"}}}'
    )
    update_config(lambda doc: set_path(doc, "models.providers.lmstudio.timeoutSeconds", 60))
    written = json.loads((state / "openclaw.json").read_text())
    assert written["models"]["providers"]["$include"] == "providers.json5"
    assert (
        state / "providers.json5"
    ).read_text() == "{lmstudio: {baseUrl: 'http://localhost:1234/v1'}}"
    from openclaw.config.loader import load_config

    assert load_config().provider("lmstudio") == {
        "baseUrl": "http://localhost:1234/v1",
        "timeoutSeconds": 60,
    }


def test_lock_held_elsewhere_times_out_with_a_clear_error(tmp_path: Path) -> None:
    from openclaw.config.atomic import file_lock

    target = tmp_path / "openclaw.json"
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time; from pathlib import Path; from openclaw.config.locks import acquire; "
         "acquire(Path(sys.argv[1])); print('held', flush=True); time.sleep(30)", str(target)],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        locked = pytest.raises(ConcurrentWriteError, match="is locked by another process")
        with locked, file_lock(target, timeout=0.2):
            pass
    finally:
        holder.kill()
        holder.wait()
    with file_lock(target, timeout=5):  # released when the holder died
        pass
