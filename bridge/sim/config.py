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

    # A returned unit takes this long to reach the fulfillment center, then this long to
    # be inspected (Processed) and put back on the shelf or counted as damaged.
    return_transit_seconds: float = 3 * 86400.0
    return_inspection_seconds: float = 86400.0
    # How long a deliveryOffers answer stays valid (its expiresAt).
    delivery_offer_seconds: float = 3600.0

    marketplace_id: str = DEFAULT_MARKETPLACE_ID
    # Where stock goes when no fulfillment center is named (admin, addInventory).
    default_fulfillment_center: str = "ABE2"

    # LWA: strict mode accepts only these credentials; otherwise any well-formed ones.
    strict_auth: bool = False
    client_id: str | None = None
    client_secret: str | None = None
    refresh_tokens: tuple[str, ...] = ()
    access_token_seconds: int = 3600

    # Per-operation token buckets; overrides map operationId -> (rate per second, burst).
    # The profile picks the defaults: "docs" (Amazon's rate-limit pages and changelog) or
    # "model" (the models' "Usage Plan" tables); see limits.py.
    rate_limits: bool = True
    rate_limit_profile: str = "docs"
    rate_limit_overrides: dict[str, tuple[float, int]] = field(default_factory=dict)

    # Received means "validated, with enough sellable inventory" (the model's words), so an
    # order its stock cannot cover for its policy is Invalid at create. False keeps the
    # older, lenient way: accepted as Received, the policy deciding when planning starts.
    invalid_when_short: bool = True

    # How long a "dropped" response is held back: longer than any sane client timeout.
    drop_seconds: float = 30.0
    # Seed for fault-injection dice, so a failing run can be replayed.
    fault_seed: int | None = None

    # Paging.
    inventory_page_size: int = 50
    inventory_next_token_seconds: float = 30.0
    orders_page_size: int = 100

    # Inbound (Fulfillment Inbound API), in simulated seconds. Asynchronous operations stay
    # IN_PROGRESS this long; offered packing/placement/transportation options and delivery
    # windows expire after the validity period.
    inbound_operation_seconds: float = 5.0
    inbound_option_valid_seconds: float = 7 * 86400.0
    # A shipment's trip once its labels are printed: READY_TO_SHIP -> SHIPPED (carrier
    # pickup) -> IN_TRANSIT -> DELIVERED -> CHECKED_IN -> RECEIVING -> CLOSED.
    inbound_pickup_seconds: float = 86400.0
    inbound_shipped_seconds: float = 6 * 3600.0
    inbound_transit_seconds: float = 3 * 86400.0
    inbound_check_in_seconds: float = 12 * 3600.0
    inbound_receiving_start_seconds: float = 12 * 3600.0
    # Receiving turns units into fulfillable stock in this many equal steps over this long.
    inbound_receiving_seconds: float = 2 * 86400.0
    inbound_receiving_steps: int = 4
