"""``samspil tui --token-file PATH`` (and ``SAMSPIL_TOKEN_FILE``) reads the token from a file,
so it is neither on the command line (``ps``) nor in the shell's history; a file that cannot
serve is refused with exit status 2, naming the file and never its content."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.commands import free_port
from tests.tui.test_exit_status import in_a_terminal
from tui.exits import ExitStatus

TOKEN = "smp_" + "f" * 43


def _env(**extra: str) -> dict[str, str]:
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("SAMSPIL_")},
        "SAMSPIL_HUB": f"http://127.0.0.1:{free_port()}",  # nobody answers there
        "TERM": "xterm-256color",
        **extra,
    }


def _token_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "caseworker.token"
    path.write_text(text, encoding="utf-8")
    path.chmod(0o600)
    return path


@pytest.mark.parametrize("how", ["option", "variable"])
def test_the_token_comes_from_the_file(tmp_path: Path, how: str) -> None:
    path = _token_file(tmp_path, f"{TOKEN}\n")
    args, env = ["tui", "--token-file", str(path)], _env()
    if how == "variable":
        args, env = ["tui"], _env(SAMSPIL_TOKEN_FILE=str(path))
    # with a usable token the app starts and waits for the hub, which never answers
    status, said = in_a_terminal(args, env, when="afbrudt", keys=b"q")
    assert status == ExitStatus.HUB_UNREACHABLE, said
    assert TOKEN not in said


@pytest.mark.parametrize(
    ("text", "says"),
    [
        (None, "cannot read the token file"),
        ("", "must hold one token and nothing else (it holds 0 words)"),
        (f"caseworker\t{TOKEN}\n", "must hold one token and nothing else (it holds 2 words)"),
    ],
)
def test_a_token_file_that_cannot_serve_is_refused_by_name(
    tmp_path: Path, text: str | None, says: str
) -> None:
    path = tmp_path / "missing.token" if text is None else _token_file(tmp_path, text)
    done = subprocess.run(
        [sys.executable, "-m", "samspil", "tui", "--token-file", str(path)],
        env=_env(), capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 2
    assert f"samspil: {'cannot read the token file ' if text is None else ''}" in done.stderr
    assert str(path) in done.stderr
    assert says in done.stderr
    assert TOKEN not in done.stdout + done.stderr


def test_a_token_on_the_command_line_and_a_token_file_are_one_too_many(tmp_path: Path) -> None:
    path = _token_file(tmp_path, TOKEN)
    done = subprocess.run(
        [sys.executable, "-m", "samspil", "tui", "--token-file", str(path), "--token", TOKEN],
        env=_env(), capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 2
    assert "not allowed with argument" in done.stderr
