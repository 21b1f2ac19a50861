"""A list of the hub's entries (letters, children) as a table, one row an entry.

The caseworker's lists (the inbox and the sent letters, the archive, Mine børn and the
recent lookups) all draw the same way: named columns (added by the screen, or given to
:meth:`~EntryTable.refill` where the screen's width decides them), every row keyed by its
entry's id, and the whole list drawn again when the hub answers — where the cursor must stay
put. :class:`EntryTable` holds that: :meth:`~EntryTable.refill` draws the rows (and, when the
screen's width decides them, the columns) keeping the cursor on the same row number or on
the same entry, and :meth:`~EntryTable.under_cursor` / :attr:`~EntryTable.cursor_key` say
which entry the cursor is on.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Literal, TypeVar

from rich.text import Text
from textual.widgets import DataTable

__all__ = ["ColumnSpec", "EntryTable", "Keep"]

T = TypeVar("T")

ColumnSpec = tuple[str, str, int]
"""A column: its heading, its key and its width in cells."""

Keep = Literal["row", "key", "none"]
"""Where the cursor goes when the rows are drawn again: the same row number (within the new
rows), the same entry (by its key, when it is still listed), or nowhere (the first row)."""


class EntryTable(DataTable[str | Text]):
    """A row-cursor table of entries keyed by id (see the module docstring)."""

    def __init__(self, *, id: str) -> None:
        super().__init__(id=id, cursor_type="row")

    @property
    def cursor_key(self) -> str | None:
        """The key of the row under the cursor, if there is a row."""
        if self.row_count == 0:
            return None
        row_key, _ = self.coordinate_to_cell_key(self.cursor_coordinate)
        return row_key.value

    def under_cursor(self, entries: Sequence[T]) -> T | None:
        """The entry of ``entries`` (the rows, in their order) under the cursor, if any."""
        if not entries or self.cursor_row < 0:
            return None
        return entries[min(self.cursor_row, len(entries) - 1)]

    def refill(
        self,
        rows: Iterable[tuple[str, Sequence[str | Text]]],
        *,
        keep: Keep,
        columns: Sequence[ColumnSpec] | None = None,
    ) -> None:
        """Draw ``rows`` (each its key and its cells) in place of those shown, with
        ``columns`` in place of the columns when given; the cursor as ``keep`` says."""
        row, key = self.cursor_row, self.cursor_key
        if columns is None:
            self.clear()
        else:
            self.clear(columns=True)
            for label, key, width in columns:
                self.add_column(label, key=key, width=width)
        keys: list[str] = []
        for row_key, cells in rows:
            self.add_row(*cells, key=row_key)
            keys.append(row_key)
        if keep == "row" and keys:
            self.move_cursor(row=min(max(row, 0), len(keys) - 1))
        elif keep == "key" and key is not None and key in keys:
            self.move_cursor(row=self.get_row_index(key))
