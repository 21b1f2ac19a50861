"""A caseworker's day in a real terminal: ``samspil tui`` in tmux at 80×24, typed at the way
a person types, against a hub started the way ``make demo`` starts it.

``samspil demo`` (a fresh hub on SQLite and the simulated pilot region, kept running) runs in
a temporary folder on a free port; the demo's caseworker at PPR Aalborg then, in one session
of the caseworker app:

1. opens "Mine børn" (``m``) and looks up the first child there;
2. opens the inbox (``i``), reads a referral and replies to it (``r``, ctrl+s);
3. records an attested consent for the child (``s``, ``n``) and revokes it again (``r``),
   and sees the child's overview change at once both times;
4. loses the token: an operator disables it (``samspil user disable``, the same effect on the
   app as an expired token: a 401), the app asks for a new one, the caseworker pastes the
   one ``samspil user add`` gave and carries on where she was;
5. quits (``q``): the app ends with status 0.

Every step waits for what the screen must show, within a bound, and fails with the screen as
it was (:class:`SessionFailed`); nothing waits on the clock. No token is ever typed on a
command line or printed: the new token goes from its file into a tmux buffer and is pasted.

``make tui-check`` runs it (``python -m tests.tui.tmux_session``);
``tests/tui/test_caseworkers_day.py`` runs it in the test suite.
"""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from adapters.simulation.region import pilot_region
from adapters.simulation.run import CONTACTS
from samspil.simulate import demo_caseworker
from tui.exits import ExitStatus
from tui.i18n import Texts
from tui.problems import SENTENCES

__all__ = ["DEMO_ARGS", "SessionFailed", "Terminal", "caseworkers_day", "demo_hub", "main"]

DEMO_ARGS = ("--children", "6", "--seed", "29", "--speed", "40")
"""A small region, quickly run; PPR Aalborg's pathways stay under way, so it has children."""

WAIT = 30.0
"""The longest wait for one screen (a bound on failure, not a pause: polled)."""

POLL = 0.1

SIZE = (80, 24)

T = Texts("da")
CPR = re.compile(r"\b(\d{6}-\d{4})\b")


class SessionFailed(AssertionError):
    """A step of the session did not see what it should have; the message holds the screen."""


def _prefix(key: str, **values: object) -> str:
    """What a text starts with, up to its first placeholder not given in ``values`` or its
    first line's end (as a screen line holds it)."""
    mark = "\x00"

    class Open(dict[str, object]):
        def __missing__(self, _: str) -> str:
            return mark

    return T(key).format_map(Open(values)).split(mark)[0].split("\n")[0]


# --- the terminal ----------------------------------------------------------------------------


class Terminal:
    """One tmux server of its own (its own socket), one session, one window of 80×24."""

    def __init__(self) -> None:
        self.socket = f"samspil-day-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.session = "day"
        self.started = False
        self.status_file = Path(os.devnull)

    def _tmux(self, *args: str, env: dict[str, str] | None = None) -> str:
        done = subprocess.run(
            ["tmux", "-L", self.socket, "-f", os.devnull, *args],
            capture_output=True,
            text=True,
            timeout=15,
            check=False,
            env=env,
        )
        if done.returncode != 0:
            raise SessionFailed(f"tmux {args[0]} failed: {done.stderr.strip()}")
        return done.stdout

    def start(self, argv: list[str], env: dict[str, str], cwd: Path) -> None:
        """Run ``argv`` in the terminal. A shell around it writes its exit status to a file
        (tmux itself may miss the end of a program whose terminal closed first); the window
        stays when it ends, to be read."""
        width, height = SIZE
        self.status_file = cwd / f"{self.socket}.status"
        wrapped = ["sh", "-c", '"$@"; echo "$?" > "$0.part" && mv "$0.part" "$0"',
                   str(self.status_file), *argv]  # fmt: skip
        self._tmux(
            "new-session", "-d", "-s", self.session, "-x", str(width), "-y", str(height),
            "-c", str(cwd), shlex.join(wrapped),
            ";", "set-option", "-t", self.session, "remain-on-exit", "on",
            env=env,
        )  # fmt: skip
        self.started = True

    def screen(self) -> str:
        return self._tmux("capture-pane", "-p", "-t", self.session)

    def keys(self, *keys: str) -> None:
        """Press keys, by tmux's names (``Enter``, ``Escape``, ``Down``, ``C-s``, ``m``)."""
        for key in keys:
            self._tmux("send-keys", "-t", self.session, key)

    def type(self, text: str) -> None:
        """Type ``text`` as it is."""
        self._tmux("send-keys", "-t", self.session, "-l", text)

    def paste_file(self, path: Path) -> None:
        """Paste what ``path`` holds (never on a command line)."""
        self._tmux("load-buffer", "-b", "paste", str(path))
        self._tmux("paste-buffer", "-b", "paste", "-d", "-p", "-t", self.session)

    def wait_for(
        self, what: str, *texts: str, gone: tuple[str, ...] = (), timeout: float = WAIT
    ) -> str:
        """The screen, once it shows every one of ``texts`` and none of ``gone``; else
        :class:`SessionFailed` saying ``what`` was awaited, with the screen."""
        return self.wait_until(
            what,
            lambda s: all(t in s for t in texts) and not any(g in s for g in gone),
            timeout=timeout,
        )

    def wait_until(self, what: str, settled: Callable[[str], bool], timeout: float = WAIT) -> str:
        deadline = time.monotonic() + timeout
        while True:
            screen = self.screen()
            if settled(screen):
                return screen
            if time.monotonic() > deadline:
                raise SessionFailed(
                    f"{what}: not on the screen after {timeout:g} s. The screen:\n{screen}"
                )
            time.sleep(POLL)

    def ended(self) -> int | None:
        """The exit status of what runs in the window, once it has ended."""
        try:
            said = self.status_file.read_text()
        except FileNotFoundError:
            return None
        return int(said) if said.strip() else None

    def stacks(self) -> str:
        """Where the program in the window is stuck: Python's fault handler (on in the
        window's environment) prints every thread's stack on SIGABRT; what it printed."""
        shell = self._tmux("display-message", "-p", "-t", self.session, "#{pane_pid}").strip()
        for pid in _children(shell):
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGABRT)
        with contextlib.suppress(SessionFailed):
            self.wait_until("the program, ended", lambda _: self.ended() is not None, 10)
        return "What it printed as it was stopped:\n" + self._tmux(
            "capture-pane", "-p", "-J", "-S", "-200", "-t", self.session
        )

    def close(self) -> None:
        if self.started:
            with contextlib.suppress(SessionFailed, subprocess.TimeoutExpired):
                self._tmux("kill-server")
            self.started = False


def _children(pid: str) -> list[int]:
    """The processes whose parent is ``pid``."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError):
                stat = (entry / "stat").read_text()
                if stat.rpartition(")")[2].split()[1] == pid:
                    found.append(int(entry.name))
    return found


# --- the hub -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Demo:
    url: str
    org: str
    """The demo caseworker's organisation, as the demo names it."""
    token_file: Path
    hub_dir: Path
    """The hub's data folder (its SQLite database)."""


def _hear_ctrl_c() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def clean_env() -> dict[str, str]:
    """This process's environment without Samspil's settings."""
    return {k: v for k, v in os.environ.items() if not k.startswith("SAMSPIL_")}


@contextlib.contextmanager
def demo_hub(folder: Path, *, timeout: float = 240) -> Iterator[Demo]:
    """``samspil demo`` in ``folder`` on a free port, kept running; stopped with Ctrl-C (as
    a person stops it) when the block ends."""
    stderr = (folder / "demo.stderr").open("w")
    demo = subprocess.Popen(
        [sys.executable, "-m", "samspil", "demo", *DEMO_ARGS, "--port", "0", "--keep-running"],
        cwd=folder, stdout=subprocess.PIPE, stderr=stderr, text=True,
        env={**clean_env(), "PYTHONUNBUFFERED": "1"},
        # started from a background job, Ctrl-C would be ignored: hear it as a terminal would
        preexec_fn=_hear_ctrl_c,
    )  # fmt: skip
    watchdog = threading.Timer(timeout, demo.kill)  # a demo that never gets there is stopped
    watchdog.start()
    try:
        assert demo.stdout is not None
        lines = []
        for line in demo.stdout:
            lines.append(line)
            if "Ctrl-C stops it" in line:
                break
        watchdog.cancel()
        out = "".join(lines)
        # keep reading what it prints, so it never blocks on a full pipe
        threading.Thread(target=demo.stdout.read, daemon=True).start()
        tui = re.search(
            r"^Caseworker TUI \((.+)\): \S*samspil tui --hub (\S+) --token-file (\S+)$", out, re.M
        )
        if tui is None or "Ctrl-C stops it" not in out:
            raise SessionFailed(
                f"samspil demo did not keep its hub running (status {demo.poll()}); it said:\n"
                f"{out}\n{(folder / 'demo.stderr').read_text()}"
            )
        yield Demo(
            url=tui.group(2),
            org=tui.group(1),
            token_file=Path(tui.group(3)),
            hub_dir=folder / "var" / "demo" / "hub",
        )
    finally:
        watchdog.cancel()
        if demo.poll() is None:
            demo.send_signal(signal.SIGINT)
            try:
                demo.wait(timeout=60)
            except subprocess.TimeoutExpired:
                demo.kill()
                demo.wait()
        if demo.stdout is not None:
            demo.stdout.close()
        stderr.close()


def _operator(demo: Demo, *args: str) -> subprocess.CompletedProcess[str]:
    """``samspil ARGS`` run by the hub's operator on the hub's own database."""
    return subprocess.run(
        [sys.executable, "-m", "samspil", *args],
        env={**clean_env(), "SAMSPIL_DATA_DIR": str(demo.hub_dir)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


# --- the day -------------------------------------------------------------------------------


def caseworkers_day(folder: Path, say: Callable[[str], None] = lambda _: None) -> None:
    """The session (see the module's docstring) in ``folder``; raises :class:`SessionFailed`."""
    home = demo_caseworker(pilot_region())
    person = CONTACTS[home.kind][0]
    with demo_hub(folder) as demo:
        say(f"samspil demo is running at {demo.url}")
        term = Terminal()
        try:
            env = {
                **clean_env(),
                "TERM": "xterm-256color",
                "SAMSPIL_LANG": "da",
                "PYTHONFAULTHANDLER": "1",  # stacks on SIGABRT, should the app hang
            }
            argv = [sys.executable, "-m", "samspil", "tui", "--hub", demo.url,
                    "--token-file", str(demo.token_file)]  # fmt: skip
            term.start(argv, env, cwd=folder)
            _day(term, demo, home.gln, person, folder, say)
        finally:
            term.close()


def _day(
    term: Terminal, demo: Demo, gln: str, person: str, folder: Path, say: Callable[[str], None]
) -> None:
    # --- 1. a child from "Mine børn" --------------------------------------------------------
    term.wait_for("the app's first screen, saying who I am", T("key.inbox"), person)
    term.keys("m")
    mine = term.wait_for(
        "Mine børn with the organisation's children",
        T("mine.title", org=demo.org),
        _prefix("mine.counts"),
    )
    children = CPR.findall(mine)
    if not children:
        raise SessionFailed(f"Mine børn lists no child. The screen:\n{mine}")
    cpr = children[0]
    term.keys("Enter")
    term.wait_for("the child's overview", _prefix("child.head", cpr=cpr))
    say("looked up the first child in Mine børn")

    # --- 2. read a letter and reply to it ---------------------------------------------------
    term.keys("i")
    inbox = term.wait_for(
        "the inbox with a referral", T("inbox.title", org=demo.org), "XDIS91", T("inbox.sent")
    )
    rows = _inbox_rows(inbox)
    letter = next((n for n, row in enumerate(rows) if "XDIS91" in row), None)
    if letter is None:
        raise SessionFailed(f"no letter (XDIS91) in the inbox. The screen:\n{inbox}")
    term.keys(*["Down"] * letter, "Enter")
    term.wait_for(
        "the letter, read",
        _prefix("letter.subject"),
        _prefix("letter.from"),
    )
    term.keys("r")
    term.wait_for("the reply, to write", _prefix("compose.reply_title"))
    term.type("Tak for henvisningen. Vi har sat en samtale i gang.")
    term.keys("C-s")
    term.wait_for("the reply, sent", _prefix("compose.sent"))
    term.keys("Escape", "Escape")
    term.wait_for("the child's overview again", _prefix("child.head", cpr=cpr))
    say("read a referral in the inbox and replied to it")

    # --- 3. record a consent and revoke it; the overview changes at once --------------------
    attested = T("child.known.attested_here")
    if attested in term.screen():
        raise SessionFailed(
            f"the overview already shows a consent attested by us:\n{term.screen()}"
        )
    term.keys("s")
    term.wait_for("the child's consents", _prefix("consents.title", cpr=cpr))
    term.keys("n")
    term.wait_for("the consent form", T("form.title"))
    giver = "Mor Testesen"
    term.type(giver)
    term.keys("Tab", "Enter")  # the relation: its list opens under the prompt
    term.wait_until("the list of relations", lambda screen: screen.count(T("form.relation")) >= 2)
    term.keys("Down", "Enter")  # the list's first
    term.wait_for(
        "what the consent would open",
        _prefix("form.preview", relation=T("relation.custodial-parent")),
    )
    term.keys("C-s")
    confirm = _prefix("form.confirm")
    screen = term.wait_until(
        "the consent, saved (or the question whether to save it)",
        lambda s: confirm in s or T("consents.recorded_ok") in s,
    )
    if confirm in screen:  # it does not open every sector chosen: save it all the same
        term.keys("j")
    term.wait_for("the consent, recorded", T("consents.recorded_ok"), giver)
    term.keys("Escape")
    term.wait_for(
        "the overview, showing the consent at once",
        _prefix("child.head", cpr=cpr),
        attested,
    )
    say("recorded a consent: the overview shows it")
    term.keys("s")
    term.wait_for("the child's consents", _prefix("consents.title", cpr=cpr), giver)
    _revoke(term, giver)
    term.wait_for("the consent, revoked", T("consents.revoked_ok"))
    term.keys("Escape")
    term.wait_for(
        "the overview, without the revoked consent",
        _prefix("child.head", cpr=cpr),
        gone=(attested,),
    )
    say("revoked it: the overview shows it no longer")

    # --- 4. the token stops working; a new one, and on -------------------------------------
    term.keys("i")
    term.wait_for("the inbox", T("inbox.title", org=demo.org))
    off = _operator(demo, "user", "disable", "--org", gln, "--name", person)
    if off.returncode != 0:
        raise SessionFailed(f"samspil user disable failed: {off.stderr.strip()}")
    term.wait_for(  # the inbox's next refresh is refused
        "the prompt for a new token",
        T("session.title"),
        SENTENCES["da"]["unauthorized"],
        timeout=WAIT,
    )
    say("the token was disabled: the app asks for a new one")
    added = _operator(demo, "user", "add", "--org", gln, "--name", person, "--role", "caseworker")
    token = added.stdout.strip()
    if added.returncode != 0 or not token:
        raise SessionFailed(f"samspil user add failed: {added.stderr.strip()}")
    token_file = folder / "new.token"
    fd = os.open(token_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(token)  # no newline: pasted into the field as it is
    term.paste_file(token_file)
    term.keys("Enter")
    screen = term.wait_for(
        "the session, going on with the new token",
        T("inbox.title", org=demo.org),
        gone=(T("session.title"),),
    )
    if token in screen:
        raise SessionFailed("the new token was shown on the screen")
    term.keys("m")  # the hub asked again, with the new token
    term.wait_for(
        "Mine børn, read with the new token",
        T("mine.title", org=demo.org),
        _prefix("mine.counts"),
    )
    say("logged in again with a new token: the app goes on")

    # --- 5. the end ---------------------------------------------------------------------------
    term.keys("Escape", "Escape")
    term.wait_for("the child's overview", _prefix("child.head", cpr=cpr))
    term.keys("q")
    status = _ended(term)
    if status != ExitStatus.QUIT:
        raise SessionFailed(f"the app ended with status {status}. The screen:\n{term.screen()}")
    say("quit: the app ended with status 0")


def _inbox_rows(screen: str) -> list[str]:
    """The inbox table's rows on the screen, top first (its header line left out)."""
    lines = screen.splitlines()
    header = next(n for n, line in enumerate(lines) if T("inbox.time") in line)
    rows = []
    for line in lines[header + 1 :]:
        if not line.strip() or T("inbox.sent") in line:
            break
        rows.append(line)
    return rows


def _revoke(term: Terminal, giver: str) -> None:
    """Revoke the consent ``giver`` gave: ``r`` on each consent in turn until the question
    names them, then yes."""
    for _ in range(10):
        term.keys("r")
        question = term.wait_for("the question whether to revoke", T("confirm.yes"))
        if T("consents.revoke_q", name=giver).split("?")[0] in question:
            term.keys("j")
            return
        term.keys("n")
        term.wait_for("the question, gone", gone=(T("confirm.yes"),))
        term.keys("Down")
    raise SessionFailed(f"no consent from {giver} to revoke. The screen:\n{term.screen()}")


def _ended(term: Terminal) -> int:
    deadline = time.monotonic() + WAIT
    while (status := term.ended()) is None:
        if time.monotonic() > deadline:
            raise SessionFailed(f"the app did not end on q. {term.stacks()}")
        time.sleep(POLL)
    return status


def main() -> int:
    """``make tui-check``: the session in a temporary folder; 0 when every step was seen."""

    def say(line: str) -> None:
        print(f"  ✔ {line}", flush=True)  # noqa: T201 - make tui-check reports each step

    with tempfile.TemporaryDirectory(prefix="samspil-tui-check-") as folder:
        try:
            caseworkers_day(Path(folder), say=say)
        except SessionFailed as exc:
            print(f"tui-check failed: {exc}", file=sys.stderr)  # noqa: T201
            return 1
    say("tui-check: a caseworker's day in a real terminal went as it should")
    return 0


if __name__ == "__main__":
    sys.exit(main())
