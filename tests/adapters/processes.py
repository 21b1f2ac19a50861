"""An adapter as its own process (``samspil adapter KIND --config FILE``): its TOML file,
starting it, stopping it with SIGTERM, and a run that is expected to end by itself."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
from pathlib import Path

from messages.hl7.samples import GP_GLN, PPR_GLN
from tests.commands import samspil

__all__ = ["adapter_argv", "run_adapter", "start_adapter", "stop_adapter", "write_config"]


ORGANISATIONS = {"gp": (GP_GLN, "Lægehuset Vestbyen"), "municipality": (PPR_GLN, "PPR Aalborg")}
"""The organisation each kind of adapter runs for here: (GLN, name)."""


def write_config(folder: Path, kind: str, hub_url: str, token: str, sections: str) -> Path:
    """``KIND.toml`` in ``folder``: ``[hub]`` (its token in ``KIND.token`` beside it) and
    ``[organisation]`` (the one ``kind`` runs for here), then ``sections``."""
    gln, name = ORGANISATIONS[kind]
    (folder / f"{kind}.token").write_text(token)
    path = folder / f"{kind}.toml"
    path.write_text(
        f"""
[hub]
url = "{hub_url}"
token_file = "{kind}.token"

[organisation]
gln = "{gln}"
name = "{name}"
{sections}""",
        encoding="utf-8",
    )
    return path


def adapter_argv(kind: str, config: Path) -> list[str]:
    return [sys.executable, "-m", "samspil", "adapter", kind, "--config", str(config)]


async def start_adapter(kind: str, config: Path) -> asyncio.subprocess.Process:
    """The adapter running in its own process, its output piped."""
    return await asyncio.create_subprocess_exec(
        *adapter_argv(kind, config),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def stop_adapter(process: asyncio.subprocess.Process) -> str:
    """SIGTERM, then what the adapter wrote to stderr once it has ended."""
    process.send_signal(signal.SIGTERM)
    _, raw = await asyncio.wait_for(process.communicate(), 20)
    return raw.decode()


def run_adapter(kind: str, config: Path) -> subprocess.CompletedProcess[str]:
    """The command run to its end (a configuration it refuses)."""
    return samspil("adapter", kind, "--config", str(config), timeout=30)
