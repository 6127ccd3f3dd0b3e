"""Everything a simulator instance can be told at start-up."""

from __future__ import annotations

from dataclasses import dataclass, field

DEFAULT_PORT = 8765
DEFAULT_MARKETPLACE_ID = "ATVPDKIKX0DER"  # Amazon.com (US)


@dataclass
class SimConfig:
    # Storage: a SQLite file survives restarts; None keeps everything in memory.
    db_path: str | None = None

    # Simulated seconds per real second; 0 freezes the clock so only `advance` moves it.
    clock_factor: float = 1.0

    # Order lifecycle, in simulated seconds spent in each status.
    received_seconds: float = 30.0
    planning_seconds: float = 60.0
    processing_seconds: float = 120.0
    # Carrier transit time after shipping, until tracking says DELIVERED.
    transit_seconds: float = 2 * 86400.0
    # FillAll orders short of stock wait this long for stock, then ship what they have.
    fill_all_wait_seconds: float = 24 * 3600.0
    # Orders placed on Hold are cancelled by Amazon after 14 days.
    hold_expiry_seconds: float = 14 * 86400.0

    marketplace_id: str = DEFAULT_MARKETPLACE_ID

    # LWA: strict mode accepts only these credentials; otherwise any well-formed ones.
    strict_auth: bool = False
    client_id: str | None = None
    client_secret: str | None = None
    refresh_tokens: tuple[str, ...] = ()
    access_token_seconds: int = 3600

    # Per-operation token buckets; overrides map operationId -> (rate per second, burst).
    rate_limits: bool = True
    rate_limit_overrides: dict[str, tuple[float, int]] = field(default_factory=dict)

    # How long a "dropped" response is held back: longer than any sane client timeout.
    drop_seconds: float = 30.0
    # Seed for fault-injection dice, so a failing run can be replayed.
    fault_seed: int | None = None

    # Paging.
    inventory_page_size: int = 50
    inventory_next_token_seconds: float = 30.0
    orders_page_size: int = 100
