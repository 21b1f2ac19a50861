"""The hub's subcommands: ``serve``, ``org``, ``user``."""

from __future__ import annotations

import argparse
from typing import Any


def register(commands: argparse._SubParsersAction[Any]) -> None:
    """Add the hub's subcommands to ``samspil``."""
