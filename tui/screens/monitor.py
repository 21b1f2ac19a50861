"""The operator monitor: throughput, status counts, health, hub processes, organisations and
one queue.

Refreshes every few seconds in a worker (input never waits for it). Operators see metadata
only, and each organisation's letter format (XML for OIOXML, or FHIR; ``f`` switches it).
The organisations' table scrolls and keeps its cursor on the same organisation (by GLN)
across refreshes: a refresh updates its cells in place, and rebuilds it only when the rows
shown change. ``/`` narrows it by name, GLN, sector or format as you type; Esc clears the
filter. A long name is shortened keeping its last word (the municipality,
:func:`~tui.screens.formatting.short_name`). Enter on a queued message opens its trail;
actions are confirmed (revoking a client certificate: by typing its serial number) and
audited by the hub.
"""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.events import Resize
from textual.screen import Screen
from textual.widgets import DataTable, Input, Sparkline, Static
from textual.widgets.data_table import ColumnKey

from tui.clock import parse_time
from tui.screens.base import HubUptime, MonitorRoom
from tui.screens.confirm import ConfirmScreen
from tui.screens.formatting import short_id, short_name
from tui.screens.revoke_certificate import RevokeCertificateForm
from tui.screens.trail import TrailScreen
from tui.widgets.connection_banner import ConnectionBanner
from tui.widgets.key_bar import KeyBar
from tui.widgets.notice import Notice
from tui.widgets.top_bar import TopBar
from tui.workers import in_worker

STALE_POLL_SECONDS = 15 * 60.0  # default: a partner silent this long is highlighted
NAME_WIDTH = 16  # the organisations' name column at 80 columns; wider on a wider screen
NAME_WIDTH_MAX = 40
OTHER_COLUMNS = 13 + 13 + 4 + 8 + 12 + 6 * 2 + 2  # the other columns, cell padding, scrollbar
#: an organisation's letter format (``format``) in words, and in its column (four wide, so
#: that at 80 columns a name keeps its last word: "XML" as MedCom says for OIOXML and EDIFACT)
FORMAT_NAME = {"oioxml": "OIOXML", "fhir": "FHIR"}
FORMAT_CELL = {"oioxml": "XML", "fhir": "FHIR"}


def age(seconds: float) -> str:
    seconds = max(int(seconds), 0)
    if seconds < 60:
        return f"{seconds} s"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes} m"
    return f"{minutes // 60} t {minutes % 60} m"


def number(n: int) -> str:
    return f"{n:,}".replace(",", ".")


def processes_line(texts: Any, summary: dict[str, Any]) -> Text:
    """The hub processes on the database (host/pid), those that stopped heartbeating first:
    the line is cut at the screen's edge, the warning must not be."""
    if "processes" not in summary:  # a hub from before the heartbeat
        return Text()
    processes = summary["processes"]
    line = Text(texts("mon.procs", n=len(processes)))
    if stale := summary.get("stale_processes", 0):
        line.append("  " + texts("mon.procs_stale", n=stale), style="bold yellow")
    for p in processes:
        line.append(f"  {p['host']}/{p['pid']}", style="dim")
    return line


def decimal(texts: Any, value: float) -> str:
    """A number as the language writes it (a decimal comma in Danish)."""
    shown = f"{value:g}"
    return shown.replace(".", ",") if getattr(texts, "lang", "da") == "da" else shown


def matches(needle: str, organisation: dict[str, Any], sector_label: str) -> bool:
    """Whether the filter ``needle`` is in the organisation's name, GLN, sector (its key or
    as the screen names it) or letter format, ignoring case."""
    needle = needle.strip().casefold()
    haystack = (
        organisation["name"],
        organisation["gln"],
        organisation["sector"],
        sector_label,
        organisation.get("format", ""),
    )
    return not needle or any(needle in str(part).casefold() for part in haystack)


def flagged(summary: dict[str, Any]) -> list[dict[str, Any]]:
    """The organisations whose day is far above their usual (the stolen-token signal)."""
    return [r for r in summary.get("index_rates", []) if r.get("flagged")]


def alerts_text(texts: Any, summary: dict[str, Any]) -> Text:
    """One line per flagged rate: the organisation, today's count and its usual day."""
    lines = [
        texts(
            "mon.rate_alert",
            org=r["name"],
            today=r["today"],
            what=texts(f"mon.rate.{r['kind']}"),
            usual=decimal(texts, r["usual"]),
        )
        for r in flagged(summary)
    ]
    return Text("\n".join(lines), style="bold red")


class MonitorScreen(Screen[None], MonitorRoom):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "trail", show=False),
        Binding("r", "redeliver", show=False),
        Binding("s", "report", show=False),
        Binding("d", "token", show=False),
        Binding("f", "format", show=False),
        Binding("c", "certificate", show=False),
        Binding("x", "expired", show=False),
        Binding("tab", "switch", show=False),
        Binding("slash", "filter", show=False),
        Binding("escape", "clear_filter", show=False),
        Binding("question_mark", "app.help", show=False),
        Binding("q", "app.quit", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.organisations: list[dict[str, Any]] = []
        self.queue: list[dict[str, Any]] = []
        self.selected: str | None = None
        self.show_expired = False
        self.filter = ""
        self.suspects: set[str] = set()
        self.shown: list[str] = []  # the GLNs in the organisations' table, in order
        self.name_width = NAME_WIDTH

    def compose(self) -> ComposeResult:
        t = self.monitor.texts
        yield TopBar()
        yield ConnectionBanner()
        with Horizontal(id="rate"):
            yield Static(t("mon.rate") + " ", id="rate-label")
            yield Sparkline([0], id="spark")
            yield Static(id="rate-counts")
        yield Static(id="line2")
        yield Static(id="procs")
        yield Static(id="alerts")
        yield Static(t("mon.orgs"), id="orgs-head", classes="heading")
        yield Input(placeholder=t("mon.filter"), id="filter")
        orgs: DataTable[Text | str] = DataTable(id="orgs", cursor_type="row")
        orgs.add_column(t("mon.gln"), key="gln", width=13)
        orgs.add_column(t("mon.name"), key="name", width=NAME_WIDTH)
        orgs.add_column(t("mon.sector"), key="sector", width=13)
        orgs.add_column(t("mon.format"), key="format", width=4)
        orgs.add_column(t("mon.depth"), key="depth", width=8)
        orgs.add_column(t("mon.last_poll"), key="poll", width=12)
        yield orgs
        yield Static(id="queue-head", classes="heading")
        queue: DataTable[Text | str] = DataTable(id="queue", cursor_type="row")
        queue.add_column("id", key="id", width=5)
        queue.add_column(t("inbox.type"), key="type", width=6)
        queue.add_column(t("inbox.from"), key="from", width=16)
        queue.add_column(t("inbox.time"), key="time", width=5)
        queue.add_column(t("inbox.status"), key="status", width=11)
        queue.add_column("", key="note", width=24)
        yield queue
        yield Notice(id="notice")
        yield KeyBar()

    def on_mount(self) -> None:
        t = self.monitor.texts
        self.query_one(KeyBar).show(
            [
                ("enter", t("key.trail")),
                ("r", t("key.redeliver")),
                ("s", t("key.report")),
                ("d", t("key.token")),
                ("f", t("key.format")),
                ("c", t("key.certificate")),
                ("x", t("key.expired")),
                ("/", t("key.filter")),
                ("?", t("key.help")),
                ("q", t("key.quit")),
            ]
        )
        self.ready()
        self.query_one("#orgs", DataTable).focus()
        self.reload()
        self.set_interval(self.monitor.refresh_seconds, self.reload)

    def reload(self) -> None:
        self.start("monitor", self._load)

    async def _load(self) -> None:
        app = self.monitor
        client = app.client
        summary = await self.hub(client.summary)
        flow = await self.hub(lambda: client.throughput(60))
        health = await self.hub(client.health)
        organisations = await self.hub(client.operator_organisations)
        if summary is None or flow is None or health is None or organisations is None:
            return
        self.monitor.keep_region(summary.get("region"))
        self.organisations = organisations
        if self.selected is None and organisations:
            busiest = max(organisations, key=lambda o: (o["inbox_depth"], o["gln"]))
            self.selected = busiest["gln"]
        queue: list[dict[str, Any]] = []
        if self.selected:
            gln = self.selected
            wanted = "expired" if self.show_expired else None
            queue = await self.hub(lambda: client.queue(gln, status=wanted)) or []
        self.queue = queue
        self._draw(summary, flow, health)

    # --- drawing ---------------------------------------------------------------------------

    def _draw(self, summary: dict[str, Any], flow: dict[str, Any], health: dict[str, Any]) -> None:
        app = self.monitor
        t = app.texts
        now = app.now()
        total = list(flow.get("total") or [0])
        self.query_one("#spark", Sparkline).data = total
        by = summary.get("by_status", {})
        p99 = health.get("submit_p99_ms")
        counts = Text(f" {total[-1]:>4}  ")
        counts.append(
            t(
                "mon.counts",
                accepted=number(sum(by.values())),
                receipted=number(by.get("receipted", 0)),
            )
        )
        counts.append("  " + t("mon.p99", ms=f"{p99:g} ms" if p99 is not None else "–"))
        self.query_one("#rate-counts", Static).update(counts)
        db_ok = bool(health.get("database", {}).get("ok"))
        line2 = Text(
            t(
                "mon.line2",
                overdue=summary.get("overdue_receipts", 0),
                expired=summary.get("expired", 0),
                rejected=by.get("rejected", 0),
                errors=f"{health.get('error_rate_percent', 0):g}".replace(".", ","),
            )
        )
        line2.append(
            "  " + t("mon.db", state="●" if db_ok else "✖"), style="green" if db_ok else "bold red"
        )
        disk = health.get("disk_used_percent")
        if disk is not None:
            line2.append("  " + t("mon.disk", percent=f"{disk:.0f}"))
        self.query_one("#line2", Static).update(line2)
        self.query_one("#procs", Static).update(processes_line(t, summary))
        alerts = self.query_one("#alerts", Static)
        alerts.update(alerts_text(t, summary))
        alerts.display = bool(flagged(summary))
        uptime = health.get("uptime_seconds")
        self.app.post_message(HubUptime(float(uptime) if isinstance(uptime, int | float) else None))

        self.suspects = {r["organisation"] for r in flagged(summary)}
        self._draw_organisations()
        selected = next((o for o in self.organisations if o["gln"] == self.selected), None)
        label = selected["name"] if selected else "—"
        head = t("mon.queue", org=label) + (
            f"  ({t('status.expired')})" if self.show_expired else ""
        )
        if selected is not None and selected.get("letters_consumed_by") == "people":
            head += "  · " + t("mon.taken_by_people")
        self.query_one("#queue-head", Static).update(head)
        queue = self.query_one("#queue", DataTable)
        row = queue.cursor_row
        queue.clear()
        for m in self.queue:
            note = ""
            if m.get("ack_requested") and not m.get("receipt_id") and m["status"] != "expired":
                waited = (now - parse_time(m["received_at"])).total_seconds()
                if m.get("overdue") or waited > 120 * 60:
                    note = t("mon.no_receipt", age=age(waited))
            queue.add_row(
                "…" + short_id(m["id"], 4),
                m["type"],
                self.monitor.org_label(m["sender"]),
                app.local(m["received_at"]),
                t(f"status.{m['status']}"),
                Text(note, style="yellow"),
                key=m["id"],
            )
        if self.queue:
            queue.move_cursor(row=min(max(row, 0), len(self.queue) - 1))

    def _visible(self) -> list[dict[str, Any]]:
        t = self.monitor.texts
        return [
            o for o in self.organisations if matches(self.filter, o, t(f"sector.{o['sector']}"))
        ]

    def _cells(self, o: dict[str, Any]) -> dict[str, Text | str]:
        app = self.monitor
        t = app.texts
        poll = o.get("last_poll")
        if o.get("letters_consumed_by") == "people":  # its system does not poll: no ⚠
            since = Text(t("mon.by_people"), style="cyan")
        elif poll is None:
            since = Text(t("mon.never"), style="dim")
        else:
            seconds = (app.now() - parse_time(poll)).total_seconds()
            stale = seconds > app.stale_after
            since = Text(
                ("⚠ " if stale else "") + age(seconds), style="bold yellow" if stale else ""
            )
        if o.get("token_disabled"):
            name = Text("⛔ " + short_name(o["name"], self.name_width - 2), style="bold red")
        elif o["gln"] in self.suspects:
            name = Text("⚑ " + short_name(o["name"], self.name_width - 2), style="bold red")
        else:
            name = Text(short_name(o["name"], self.name_width))
        return {
            "gln": o["gln"],
            "name": name,
            "sector": t(f"sector.{o['sector']}"),
            "format": FORMAT_CELL.get(o.get("format", ""), "–"),  # "–": a hub before formats
            "depth": Text(str(o["inbox_depth"]), justify="right"),
            "poll": since,
        }

    def _draw_organisations(self) -> None:
        """The organisations the filter lets through. The same rows as shown: their cells are
        updated in place (the cursor and the scroll stay); other rows: the table is rebuilt
        with the cursor on the selected organisation."""
        t = self.monitor.texts
        visible = self._visible()
        head = Text(t("mon.orgs"), style="bold")
        if self.filter.strip():
            head.append(
                "  " + t("mon.shown", shown=len(visible), total=len(self.organisations)),
                style="bold",
            )
        head.append("   " + t("mon.stale", age=age(self.monitor.stale_after)), style="dim")
        self.query_one("#orgs-head", Static).update(head)
        orgs = self.query_one("#orgs", DataTable)
        glns = [o["gln"] for o in visible]
        width = min(max(NAME_WIDTH, self.size.width - OTHER_COLUMNS), NAME_WIDTH_MAX)
        if glns == self.shown and width == self.name_width:
            for o in visible:
                for column, value in self._cells(o).items():
                    orgs.update_cell(o["gln"], column, value)
            return
        self.name_width = width
        orgs.columns[ColumnKey("name")].width = width
        orgs.clear()
        for o in visible:
            orgs.add_row(*self._cells(o).values(), key=o["gln"])
        self.shown = glns
        if self.selected in glns:
            orgs.move_cursor(row=glns.index(self.selected))
        elif glns:  # the selected organisation is filtered out: the first shown is selected
            orgs.move_cursor(row=0)
            self.selected = glns[0]
            self.reload()

    def on_resize(self, event: Resize) -> None:
        if self.organisations:
            self._draw_organisations()

    # --- the filter ------------------------------------------------------------------------

    def action_filter(self) -> None:
        field = self.query_one("#filter", Input)
        field.display = True
        field.focus()

    def action_clear_filter(self) -> None:
        field = self.query_one("#filter", Input)
        if not field.display and not self.filter:
            return
        field.value = ""  # Input.Changed redraws the table with every organisation
        field.display = False
        self.filter = ""
        self._draw_organisations()
        self.query_one("#orgs", DataTable).focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "filter" and event.value != self.filter:
            self.filter = event.value
            self._draw_organisations()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "filter":  # keep the filter, go on in the table
            self.query_one("#orgs", DataTable).focus()

    # --- moving around ---------------------------------------------------------------------

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        table = event.data_table
        if table.id != "orgs" or not table.has_focus or table.row_count == 0:
            return
        current = table.coordinate_to_cell_key(table.cursor_coordinate).row_key
        if event.row_key != current:  # posted while the table was rebuilt: not where it is
            return
        if event.row_key.value != self.selected:
            self.selected = event.row_key.value
            self.reload()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        if event.data_table.id == "orgs":
            self.query_one("#queue", DataTable).focus()
        else:
            self.action_trail()

    def action_switch(self) -> None:
        orgs, queue = self.query_one("#orgs", DataTable), self.query_one("#queue", DataTable)
        (queue if orgs.has_focus else orgs).focus()

    def action_expired(self) -> None:
        self.show_expired = not self.show_expired
        self.reload()

    def _current_message(self) -> dict[str, Any] | None:
        queue = self.query_one("#queue", DataTable)
        if not self.queue or queue.cursor_row < 0:
            return None
        return self.queue[min(queue.cursor_row, len(self.queue) - 1)]

    def action_trail(self) -> None:
        message = self._current_message()
        if message is not None:
            self.app.push_screen(TrailScreen(message["id"]))

    # --- actions, each confirmed -----------------------------------------------------------

    def _confirm(self, question: str, then: Any) -> None:
        t = self.monitor.texts

        def answer(yes: bool | None) -> None:
            if yes:
                in_worker(self, then, "monitor-action")

        self.app.push_screen(ConfirmScreen(question, t("confirm.yes"), t("confirm.no")), answer)

    def action_redeliver(self) -> None:
        message = self._current_message()
        if message is None:
            return
        app = self.monitor
        question = app.texts(
            "mon.redeliver_q", id=short_id(message["id"]), org=app.org_label(message["receiver"])
        )
        self._confirm(
            question, lambda: self._act(app.client.redeliver, message["id"], "mon.redelivered")
        )

    def action_report(self) -> None:
        message = self._current_message()
        if message is None:
            return
        app = self.monitor
        question = app.texts("mon.report_q", id=short_id(message["id"]))
        self._confirm(
            question, lambda: self._act(app.client.status_report, message["id"], "mon.reported")
        )

    def action_token(self) -> None:
        selected = next((o for o in self.organisations if o["gln"] == self.selected), None)
        if selected is None:
            return
        app = self.monitor
        disable = not selected.get("token_disabled")
        question = app.texts(
            "mon.disable_q" if disable else "mon.enable_q",
            whose=app.texts.genitive(selected["name"]),
        )

        async def change(gln: str) -> dict[str, Any]:
            return await app.client.set_token(gln, disabled=disable)

        self._confirm(
            question,
            lambda: self._act(
                change, selected["gln"], "mon.disabled" if disable else "mon.enabled"
            ),
        )

    def action_format(self) -> None:
        """Switch the selected organisation's letter format (OIOXML ⇄ FHIR), confirmed."""
        selected = next((o for o in self.organisations if o["gln"] == self.selected), None)
        if selected is None or selected.get("format") not in FORMAT_NAME:
            return
        app = self.monitor
        wanted = "fhir" if selected["format"] == "oioxml" else "oioxml"
        question = app.texts(
            "mon.format_q",
            whose=app.texts.genitive(selected["name"]),
            old=FORMAT_NAME[selected["format"]],
            new=FORMAT_NAME[wanted],
        )

        async def change(gln: str) -> dict[str, Any]:
            return await app.client.set_format(gln, wanted)

        self._confirm(
            question,
            lambda: self._act(
                change, selected["gln"], "mon.format_set", format=FORMAT_NAME[wanted]
            ),
        )

    def action_certificate(self) -> None:
        """Revoke one client certificate of the selected organisation (a form: its serial)."""
        selected = next((o for o in self.organisations if o["gln"] == self.selected), None)
        if selected is None:
            return
        app = self.monitor

        def revoked(serial: str | None) -> None:
            if serial is not None:
                self.query_one(Notice).tell(
                    app.texts("mon.cert_revoked", serial=serial, org=selected["name"])
                )

        self.app.push_screen(RevokeCertificateForm(selected["gln"], selected["name"]), revoked)

    async def _act(self, call: Any, target: str, done_key: str, **words: str) -> None:
        app = self.monitor
        notice = self.query_one(Notice)
        result = await self.hub(lambda: call(target))  # a refusal is said by the app
        if result is not None:
            new_id = short_id(result.get("id", ""))
            notice.tell(app.texts(done_key, id=new_id, **words))
            await self._load()
