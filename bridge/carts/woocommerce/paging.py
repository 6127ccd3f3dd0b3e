"""Walking WooCommerce's order list by modification time without skipping or repeating.

WooCommerce pages with `page=N` over `orderby=modified`. Page numbers are positions in
a result set that changes under us: an order edited while we page leaves the window
(its new modification time is later than the window's end), every order behind it
moves up one place, and the first order of the next page is never seen. Orders sharing
one modification second also come back in no fixed order from one request to the next.

So a page token never holds a page number. It holds a position in time:

* `anchor`: every order still to return was modified at or after this second
  (WooCommerce's timestamps have whole seconds);
* `seen`: the ids already returned whose modification second is `anchor`.

Each call asks again from the anchor (`modified_after` = anchor − 1 s, since WooCommerce
compares it exclusively) for page 1 with `len(seen) + limit` rows, and skips the ids in
`seen`. Rows are sorted by time, so the unseen rows of the anchor second come before any
later row and nothing can be jumped over; an order that leaves the window meanwhile only
shortens the list.

One second can hold many orders (a bulk status change in the admin). Once `seen` grows
past `CROWDED`, that second is swept on its own, ordered by id (a stable order), with
`offset`: nobody can add an order to a second that has passed, only take one out (by
editing it), and each removal shows as a smaller `X-WP-Total`. The sweep steps its offset
back by the number removed, so it may read a row twice (skipped through `seen`) but never
steps over one.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field, replace

# Re-read at most this many already-returned rows per request before sweeping a second.
CROWDED = 50
MAX_PER_PAGE = 100  # WooCommerce refuses per_page above 100


@dataclass(frozen=True)
class Sweep:
    """A crowded second walked by id: the next `offset` to read, valid while the second
    still holds `total` orders."""

    offset: int = 0
    total: int | None = None


@dataclass(frozen=True)
class Position:
    anchor: int                                  # epoch second
    seen: frozenset[int] = field(default_factory=frozenset)
    sweep: Sweep | None = None

    def after(self, stamp: int, order_id: int) -> Position:
        """The position once the order (modified at `stamp`) has been returned."""
        if stamp > self.anchor:
            return Position(anchor=stamp, seen=frozenset({order_id}))
        return replace(self, seen=self.seen | {order_id})

    def crowded(self) -> Position:
        return replace(self, sweep=self.sweep or Sweep())

    def next_second(self) -> Position:
        return Position(anchor=self.anchor + 1)


def encode(position: Position) -> str:
    data = {"a": position.anchor, "s": sorted(position.seen)}
    if position.sweep is not None:
        data["w"] = [position.sweep.offset, position.sweep.total]
    raw = json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode(token: str) -> Position:
    try:
        data = json.loads(base64.urlsafe_b64decode((token + "=" * (-len(token) % 4)).encode()))
        sweep = Sweep(*data["w"]) if "w" in data else None
        return Position(anchor=int(data["a"]), seen=frozenset(int(i) for i in data["s"]), sweep=sweep)
    except (ValueError, KeyError, TypeError) as exc:
        # Tokens only come from this adapter; a broken one is a bug, not a cart problem.
        raise ValueError(f"not a page token of the WooCommerce adapter: {token!r}") from exc
