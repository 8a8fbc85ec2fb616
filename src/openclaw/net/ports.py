"""Choosing a free loopback port for a server we are about to start (the built-in engine).

Sockets are opened only inside ``openclaw.net``; this binds and closes one on 127.0.0.1.
"""

from __future__ import annotations

import random
import socket

#: Below the Linux (32768+) and Windows (49152+) ephemeral ranges, so the port is not handed
#: out to an outgoing connection while the server is stopped, and clear of the well-known
#: local-server ports (LM Studio 1234, llama-server 8080, Ollama 11434).
PORT_RANGE = range(20000, 30000)


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    """Whether ``host:port`` can be bound right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def free_loopback_port(attempts: int = 50) -> int:
    """A port on 127.0.0.1 nobody listens on now (from :data:`PORT_RANGE`, else the OS's)."""
    for port in random.sample(PORT_RANGE, attempts):
        if port_is_free(port):
            return port
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        chosen: int = sock.getsockname()[1]
        return chosen
