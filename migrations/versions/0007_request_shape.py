"""orders.request in bridge's own field names: rows saved earlier hold Amazon's
createFulfillmentOrder body; they are converted so a pending submission still sends
exactly what it would have sent

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07 06:05:00
"""

from datetime import datetime

import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

_orders = sa.table("orders", sa.column("id", sa.Integer), sa.column("request", sa.JSON))

# Amazon's destination address fields → bridge's Address fields.
_ADDRESS = {"name": "name", "addressLine1": "line1", "addressLine2": "line2",
            "addressLine3": "line3", "city": "city", "stateOrRegion": "state",
            "postalCode": "postal_code", "countryCode": "country_code", "phone": "phone"}


def _from_amazon(body: dict) -> dict:
    address = body.get("destinationAddress") or {}
    date = datetime.strptime(body["displayableOrderDate"], "%Y-%m-%dT%H:%M:%SZ")
    return {
        "seller_fulfillment_order_id": body["sellerFulfillmentOrderId"],
        "displayable_id": body["displayableOrderId"],
        "displayable_date": date.isoformat() + "+00:00",
        "comment": body["displayableOrderComment"],
        "shipping_speed": body["shippingSpeedCategory"],
        "destination": {ours: address.get(theirs, "") for theirs, ours in _ADDRESS.items()},
        "fulfillment_policy": body.get("fulfillmentPolicy", "FillOrKill"),
        "items": [{"seller_sku": item["sellerSku"], "item_id": item["sellerFulfillmentOrderItemId"],
                   "quantity": item["quantity"]} for item in body.get("items", [])],
        "notification_emails": list(body.get("notificationEmails", [])),
        "hold": body.get("fulfillmentAction") == "Hold",
    }


def upgrade() -> None:
    connection = op.get_bind()
    rows = connection.execute(sa.select(_orders.c.id, _orders.c.request)
                              .where(_orders.c.request.is_not(None))).all()
    for order_id, request in rows:
        if isinstance(request, dict) and "sellerFulfillmentOrderId" in request:
            connection.execute(sa.update(_orders).where(_orders.c.id == order_id)
                               .values(request=_from_amazon(request)))


def downgrade() -> None:
    """Nothing to undo for the schema; the older code reads only Amazon's shape, so a
    downgrade with submissions pending needs them drained first."""
