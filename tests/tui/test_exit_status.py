"""``samspil tui`` in a real terminal (a pseudo-terminal): what it prints and the exit status
it ends with when the hub never answered; and the one line said about an internal error.
The status codes themselves are :class:`tui.exits.ExitStatus`; the Pilot tests in
``test_refusals.py`` show the others."""

from __future__ import annotations

import fcntl
import json
import os
import re
import select
import struct
import subprocess
import sys
import termios
import time

from tests.commands import free_port
from tests.tui.conftest import CHILD as CPR
from tui.exits import ExitStatus, fault_line
from tui.screens.formatting import show_cpr

_ESCAPES = re.compile(r"\x1b(\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)|[@-Z\\-_])")


def in_a_terminal(args: list[str], env: dict[str, str], when: str, keys: bytes) -> tuple[int, str]:
    """Run ``samspil ARGS`` on a pseudo-terminal of 80×24; once its screen shows ``when``,
    type ``keys``. Its exit status and everything it wrote (escape codes taken out)."""
    leader, follower = os.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    process = subprocess.Popen(
        [sys.executable, "-m", "samspil", *args],
        stdin=follower,
        stdout=follower,
        stderr=follower,
        env=env,
        start_new_session=True,
    )
    os.close(follower)
    written = bytearray()
    typed = False
    deadline = time.monotonic() + 60  # a safety net, not a wait: output ends the loop
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([leader], [], [], 1.0)
            if not ready:
                if process.poll() is not None:
                    break
                continue
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # the terminal's other end closed: the app has ended
                break
            if not chunk:
                break
            written += chunk
            if not typed and when in _ESCAPES.sub("", written.decode("utf-8", "replace")):
                os.write(leader, keys)
                typed = True
        status = process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        os.close(leader)
    return status, _ESCAPES.sub("", written.decode("utf-8", "replace"))


def test_quitting_before_the_hub_ever_answered_exits_69_and_says_why() -> None:
    port = free_port()
    token = "smp_" + "k" * 43
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("SAMSPIL_")},
        "SAMSPIL_HUB": f"http://127.0.0.1:{port}",
        "SAMSPIL_TOKEN": token,
        "TERM": "xterm-256color",
    }
    status, said = in_a_terminal(["tui"], env, when="afbrudt", keys=b"q")
    assert status == ExitStatus.HUB_UNREACHABLE
    assert status == 69  # as README says
    assert f"samspil: hubben på 127.0.0.1:{port} svarede ikke, mens appen kørte." in said
    assert token not in said
    assert "Traceback" not in said


def test_an_internal_error_is_told_by_its_kind_and_place_never_its_text() -> None:
    try:
        json.loads(f'{{"child": "{CPR}"')  # raised in the standard library, not in ours
    except ValueError as exc:
        outside = exc
    assert re.fullmatch(r"JSONDecodeError in decoder\.py:\d+", fault_line(outside))
    try:
        show_cpr(None)  # type: ignore[arg-type]  # raised in the apps' own code
    except AttributeError as exc:
        inside = exc
    assert re.fullmatch(r"AttributeError in tui/screens/formatting\.py:\d+", fault_line(inside))
    assert CPR not in fault_line(outside)
