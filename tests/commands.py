"""The ``samspil`` command run as its own process, as an operator would run it, and a free
port for a process to listen on."""

from __future__ import annotations

import socket
import subprocess
import sys

__all__ = ["free_port", "samspil"]


def samspil(
    *args: str, env: dict[str, str] | None = None, check: bool = False, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """``samspil ARGS`` to its end, its output captured as text (``env`` None: this one's)."""
    return subprocess.run(
        [sys.executable, "-m", "samspil", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=check,
    )


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port
