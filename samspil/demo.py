"""``samspil demo`` (what ``make demo`` runs): a fresh hub on embedded SQLite and the
simulated Region Nordjylland pilot at a watchable speed.

Every organisation of the pilot — PPR and the family department of five municipalities,
child and adolescent psychiatry and 15 GP clinics — is registered in the hub and has its own
real adapter; simulated clinic systems, the hospital EHR and the municipal case systems
drive them with HL7 over MLLP, MedCom files and JSON-lines events, and synthetic children
move through their pathways (see :mod:`adapters.simulation.run`): most families sign their
consent at the consent service (verified), the rest consent to the caseworker (attested),
and late in the run a stolen GP token registers many children in a burst. A plain-text
progress line is printed every few seconds (on a terminal the operator monitor takes its
place, the hub's URL in its top line), then a summary, ending with what the hub's operators'
summary flags. Each run is a fresh region: the hub's database and every adapter's folders
under ``var/demo`` start empty. A share of the pathways is still under way when the run ends;
with a terminal attached the hub keeps running afterwards and the summary names a few of
those children (fictitious CPR numbers) with the caseworker TUI command of an organisation
whose case for them is active; every child of the demo's caseworker's organisation (PPR
Aalborg) stays under way, so its "Mine børn" (``m`` in the caseworker TUI) lists them. PPR
Aalborg takes its letters in with the caseworker TUI rather than its case system, so its
inbox fills with the referrals sent to it. The tokens are in files under ``var/demo`` (yours
only); the printed commands read them with ``--token-file`` and no token is ever printed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import shlex
import shutil
import sys
import time
from pathlib import Path
from typing import Any

from adapters.cli import LOG_FORMAT
from adapters.simulation.region import pilot_region
from adapters.simulation.run import (
    HubAccess,
    HubProvider,
    OpenPathway,
    Progress,
    SimulationSettings,
    simulate,
)
from samspil.rate_flags import flagged_sentences
from samspil.simulate import (
    add_simulation_options,
    demo_caseworker,
    embedded_hub,
    run_alerts,
    settings_from,
    started,
)

__all__ = ["TO_LOOK_UP", "main", "register", "run_demo"]

TO_LOOK_UP = 3
"""How many of the children still under way the summary names."""


def register(commands: argparse._SubParsersAction[Any]) -> None:
    demo = commands.add_parser(
        "demo", help="a fresh embedded hub and the simulated pilot region, watchable"
    )
    add_simulation_options(demo, children=30, speed=1.0)
    demo.add_argument(
        "--port", type=int, default=8080, help="port for the hub (next free if taken)"
    )
    stay = demo.add_mutually_exclusive_group()
    stay.add_argument(
        "--keep-running",
        dest="keep_running",
        action="store_true",
        default=None,
        help="keep the hub running afterwards (default when a terminal is attached)",
    )
    stay.add_argument("--exit", dest="keep_running", action="store_false", help="stop at the end")
    demo.set_defaults(handler=_handler)


def _handler(args: argparse.Namespace) -> int:
    return main(args)


def _say(text: str) -> None:
    print(f"{time.strftime('%H:%M:%S')}  {text}", flush=True)


async def run_demo(args: argparse.Namespace, keep_running: bool) -> int:
    workdir = Path.cwd() / "var" / "demo"
    # the caseworker the demo introduces finds children in "Mine børn" after the run
    home = demo_caseworker(pilot_region()).gln
    settings = settings_from(args, workdir / "region", keep_open=frozenset({home}))
    alerts = run_alerts(settings.children)
    async with embedded_hub(pilot_region(), workdir, port=args.port, **alerts) as hub:
        print(f"Samspil hub on embedded SQLite at {hub.url}  (database: {workdir / 'hub'})")
        if args.port > 0 and not hub.url.endswith(f":{args.port}"):
            print(f"Port {args.port} was taken: the hub listens on the next free one, {hub.url}")
        print(
            f"Simulated pilot region: {len(pilot_region())} organisations with their own "
            f"adapters, {settings.children} synthetic children, {settings.speed:g} simulated "
            "day(s) per second."
        )
        print(
            f"Tokens (yours only, never printed): {hub.token_file}; one alone in a file for "
            f"the operator and for each organisation's caseworker beside it"
        )
        print(
            f"Consent service (signs consent documents; its keys at "
            f"{hub.consent_service}/.well-known/jwks.json are the hub's SAMSPIL_CONSENT_JWKS): "
            f"{hub.consent_service}"
        )
        print(
            f"Stolen-token alert: SAMSPIL_RATE_ALERT_MINIMUM={alerts['rate_alert_minimum']} "
            "(a fresh hub's usual day is 0: an organisation is flagged from that many new "
            "children or attested consents today, more than any of this run's registers)."
        )
        here = demo_caseworker(pilot_region())
        print(f"Caseworker TUI ({here.name}): {_tui_command(hub, here.gln)}")
        if here.letters_by_people:
            print(
                f"{here.name}'s letters are taken in by its caseworkers in the TUI, not by its "
                "case system: referrals wait in its inbox (i), and every letter is in its "
                "letter archive (b). The other organisations' systems take theirs in."
            )
        print(
            f"Operator monitor: {_samspil()} monitor --hub {hub.url} --token-file "
            f"{shlex.quote(str(workdir / 'operator.token'))}\n"
        )

        running = started(hub)  # registered above, in the demo's own folder
        if keep_running and sys.stdout.isatty():
            progress, health = await _with_monitor(hub, settings, running)
        else:
            progress, health = await simulate(settings, running, report=_say)
        refused = sum(h["refused"] for h in health)
        cut = progress.started - progress.completed - progress.errors
        print(
            f"\nDone: {progress.completed} of {progress.started} pathways played out "
            f"({len(progress.still_open)} of them go on, their cases active"
            + (f"; {cut} cut off when the run ended" if cut > 0 else "")
            + "); "
            f"{progress.referrals} referrals, {progress.referrals_arrived} arrived as letters; "
            f"{sum(h['sent'] for h in health)} requests reached the hub, {refused} refused, "
            f"{sum(h['outbox_depth'] for h in health)} still queued."
        )
        print(
            f"Consents: {progress.consents_verified} verified (signed at the consent service), "
            f"{progress.consents_attested} attested (the caseworker's word)."
        )
        if progress.intrusion is not None:
            print(
                f"Late in the run a stolen token of {progress.intrusion.org.name} registered "
                f"{progress.intrusion.children} children and attested "
                f"{progress.intrusion.consents} consents. What the hub's operators see:"
            )
        for sentence in await flagged_sentences(hub):
            print(sentence)
        if keep_running:
            _to_look_up(hub, progress.still_open)
            print(f"\nThe hub keeps running at {hub.url} — Ctrl-C stops it.", flush=True)
            await asyncio.Event().wait()
    return 0 if progress.errors == 0 else 1


def _samspil() -> str:
    """The ``samspil`` command as the reader can paste it: bare where it is on ``PATH`` (an
    activated virtual environment), else the one this demo runs from (``.venv/bin/samspil``
    after ``make demo``)."""
    beside = Path(sys.executable).with_name("samspil")
    if shutil.which("samspil") == str(beside) or not beside.exists():
        return "samspil"
    try:
        return shlex.quote(str(beside.relative_to(Path.cwd())))
    except ValueError:
        return shlex.quote(str(beside))


def _tui_command(hub: HubAccess, gln: str) -> str:
    """The caseworker TUI for a caseworker of ``gln``: the token read from its file."""
    token_file = shlex.quote(str(hub.caseworker_files[gln]))
    return f"{_samspil()} tui --hub {hub.url} --token-file {token_file}"


def _to_look_up(hub: HubAccess, still_open: list[OpenPathway]) -> None:
    """A few children whose course is still under way, each with the caseworker TUI of an
    organisation whose case for them is active (the demo's own caseworker's first)."""
    home = demo_caseworker(pilot_region()).gln
    ordered = sorted(still_open, key=lambda p: home not in {o.gln for o in p.orgs})
    if not ordered:
        return
    print(
        f"\nChildren to look up in the caseworker TUI (fictitious CPR numbers the simulation "
        f"made up; {len(still_open)} children's cases are still active):"
    )
    for pathway in ordered[:TO_LOOK_UP]:
        org = next((o for o in pathway.orgs if o.gln == home), pathway.orgs[0])
        print(f"  {pathway.cpr}  {org.name}:  {_tui_command(hub, org.gln)}")


async def _with_monitor(
    hub: HubAccess, settings: SimulationSettings, running: HubProvider
) -> tuple[Progress, list[dict[str, Any]]]:
    """On a terminal the operator monitor shows the region at work (q leaves it, and the
    simulation finishes without it)."""
    from tui.monitor_app import MonitorApp
    from wire.client import HubClient

    work = asyncio.create_task(simulate(settings, running, report=None))
    await MonitorApp(HubClient(hub.url, hub.operator_token), where=hub.url).run_async()
    return await work


def main(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.ERROR, format=LOG_FORMAT)
    stay = sys.stdin.isatty() if args.keep_running is None else args.keep_running
    with contextlib.suppress(KeyboardInterrupt):
        return asyncio.run(run_demo(args, stay))
    return 0
