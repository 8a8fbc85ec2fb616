"""Run as a subprocess by the lock tests: hold a sidecar lock the way a real command does.

python -m tests.interop.lock_holder hold <target> <seconds>
    take the lock, print "held", sleep, release.
python -m tests.interop.lock_holder write <config> <key> <value> <seconds>
    `update_config` that sets a top-level env var entry and sleeps while holding the lock.
python -m tests.interop.lock_holder flock <lockfile> <seconds>
    hold flock on a file the way filelock (older versions of this project) did.
"""

from __future__ import annotations

import fcntl
import os
import sys
import time
from pathlib import Path


def main(argv: list[str]) -> None:
    mode = argv[0]
    if mode == "hold":
        from openclaw.config.locks import sidecar_lock

        with sidecar_lock(Path(argv[1])):
            print("held", flush=True)
            time.sleep(float(argv[2]))
    elif mode == "write":
        from openclaw.config.writer import update_config

        def mutate(doc: dict) -> None:
            print("held", flush=True)
            time.sleep(float(argv[4]))
            doc.setdefault("env", {}).setdefault("vars", {})[argv[2]] = argv[3]

        update_config(mutate)
    elif mode == "flock":
        fd = os.open(argv[1], os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX)
        print("held", flush=True)
        time.sleep(float(argv[2]))
    else:
        raise SystemExit(f"unknown mode {mode}")


if __name__ == "__main__":
    main(sys.argv[1:])
