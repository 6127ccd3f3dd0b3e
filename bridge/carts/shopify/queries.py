"""The GraphQL documents bridge sends to the Shopify Admin API, with what each asks of
the cost budget. All were validated against the published schema of the pinned version.

Cost, by Shopify's published rules: a scalar costs 0, an object 1, a connection
2 + first × (the cost of one node), a mutation 10. Shopify refuses a query whose
requested cost is over 1,000 points, so nested connection sizes are chosen here and the
orders page size is derived from them; orders that overflow a nested connection are
completed with follow-up queries."""

from __future__ import annotations

MAX_QUERY_COST = 1000
MUTATION_COST = 10

# -- orders changed in a window -------------------------------------------------------

# Most orders have one fulfillment order per location and a handful of lines.
PAGE_FULFILLMENT_ORDERS = 3
PAGE_FO_LINE_ITEMS = 15

_FO_NODE_COST_PAGE = 1 + 1 + 1 + (2 + PAGE_FO_LINE_ITEMS)  # node, assignedLocation, location, lineItems
# node, address, shippingLine, totalPriceSet + shopMoney, risk + assessments, fulfillment orders
ORDER_NODE_COST = 1 + 1 + 1 + 2 + 2 + (2 + PAGE_FULFILLMENT_ORDERS * _FO_NODE_COST_PAGE)


def orders_page_cost(first: int) -> int:
    return 2 + first * ORDER_NODE_COST


MAX_ORDERS_PER_PAGE = (MAX_QUERY_COST - 2) // ORDER_NODE_COST

_FO_LINE_FIELDS = """
          pageInfo { hasNextPage endCursor }
          nodes { id sku remainingQuantity requiresShipping productTitle variantTitle }"""

_FULFILLMENT_ORDER_FIELDS = """
        id
        status
        assignedLocation { location { id } }"""

ORDERS_UPDATED = f"""
query BridgeOrdersUpdated($first: Int!, $after: String, $query: String!) {{
  orders(first: $first, after: $after, query: $query, sortKey: UPDATED_AT) {{
    pageInfo {{ hasNextPage endCursor }}
    nodes {{
      id
      name
      email
      createdAt
      updatedAt
      cancelledAt
      displayFinancialStatus
      totalPriceSet {{ shopMoney {{ amount currencyCode }} }}
      tags
      note
      risk {{ recommendation assessments {{ riskLevel }} }}
      shippingAddress {{
        name firstName lastName company address1 address2 city provinceCode zip countryCodeV2 phone
      }}
      shippingLine {{ title code }}
      fulfillmentOrders(first: {PAGE_FULFILLMENT_ORDERS}) {{
        pageInfo {{ hasNextPage endCursor }}
        nodes {{{_FULFILLMENT_ORDER_FIELDS}
          lineItems(first: {PAGE_FO_LINE_ITEMS}) {{{_FO_LINE_FIELDS}
          }}
        }}
      }}
    }}
  }}
}}
"""

# -- every fulfillment order of one order (orders that overflow a page's nesting) -------

FULL_FULFILLMENT_ORDERS = 10
FULL_FO_LINE_ITEMS = 50
ORDER_FULFILLMENT_ORDERS_COST = 1 + 2 + FULL_FULFILLMENT_ORDERS * (1 + 1 + 1 + 2 + FULL_FO_LINE_ITEMS)

ORDER_FULFILLMENT_ORDERS = f"""
query BridgeOrderFulfillmentOrders($id: ID!, $after: String) {{
  order(id: $id) {{
    id
    fulfillmentOrders(first: {FULL_FULFILLMENT_ORDERS}, after: $after) {{
      pageInfo {{ hasNextPage endCursor }}
      nodes {{{_FULFILLMENT_ORDER_FIELDS}
        lineItems(first: {FULL_FO_LINE_ITEMS}) {{{_FO_LINE_FIELDS}
        }}
      }}
    }}
  }}
}}
"""

MANY_FO_LINE_ITEMS = 250
FULFILLMENT_ORDER_LINES_COST = 1 + 2 + MANY_FO_LINE_ITEMS

FULFILLMENT_ORDER_LINES = f"""
query BridgeFulfillmentOrderLines($id: ID!, $after: String) {{
  fulfillmentOrder(id: $id) {{
    id
    lineItems(first: {MANY_FO_LINE_ITEMS}, after: $after) {{{_FO_LINE_FIELDS}
    }}
  }}
}}
"""

# -- tracking already on the order ------------------------------------------------------

TRACKED_FULFILLMENTS = 50
TRACKING_PER_FULFILLMENT = 10
ORDER_TRACKING_COST = 1 + TRACKED_FULFILLMENTS * (1 + TRACKING_PER_FULFILLMENT)

ORDER_TRACKING = f"""
query BridgeOrderTracking($id: ID!) {{
  order(id: $id) {{
    id
    fulfillments(first: {TRACKED_FULFILLMENTS}) {{
      id
      status
      trackingInfo(first: {TRACKING_PER_FULFILLMENT}) {{ number }}
    }}
  }}
}}
"""

FULFILLMENT_CREATE = """
mutation BridgeFulfillmentCreate($fulfillment: FulfillmentInput!) {
  fulfillmentCreate(fulfillment: $fulfillment) {
    fulfillment { id status trackingInfo { company number url } }
    userErrors { field message }
  }
}
"""

# -- notes ------------------------------------------------------------------------------

ORDER_NOTE_COST = 1
ORDER_NOTE = """
query BridgeOrderNote($id: ID!) {
  order(id: $id) { id note }
}
"""

ORDER_NOTE_UPDATE = """
mutation BridgeOrderNoteUpdate($input: OrderInput!) {
  orderUpdate(input: $input) {
    order { id }
    userErrors { field message }
  }
}
"""

# -- lifecycle writes: cancels, delivery events ------------------------------------------

ORDER_CANCELLED_COST = 1
ORDER_CANCELLED = """
query BridgeOrderCancelled($id: ID!) {
  order(id: $id) { id cancelledAt }
}
"""

# Reason OTHER, no restock, no refund (refundMethod: original payment methods false; the
# deprecated `refund` is left out). Shopify cancels in a job: `cancelledAt` shows it done.
ORDER_CANCEL = """
mutation BridgeOrderCancel($orderId: ID!, $notifyCustomer: Boolean, $staffNote: String) {
  orderCancel(orderId: $orderId, reason: OTHER, restock: false,
              refundMethod: {originalPaymentMethodsRefund: false},
              notifyCustomer: $notifyCustomer, staffNote: $staffNote) {
    job { id done }
    orderCancelUserErrors { code field message }
  }
}
"""

# Each FulfillmentOrderLineItem's order line, with what was ordered, what is left after
# edits and refunds, and what is still unfulfilled; and the order's lines by SKU for a
# fulfillment order line that an earlier edit emptied.
CANCEL_FOS = 5
CANCEL_FO_LINES = 50
CANCEL_ORDER_LINES = 50
_LINE_ITEM_FIELDS = "id sku quantity currentQuantity unfulfilledQuantity"
ORDER_LINES_FOR_CANCEL_COST = (1 + 2 + CANCEL_FOS * (1 + 2 + CANCEL_FO_LINES * (1 + 1))
                               + 2 + CANCEL_ORDER_LINES)
ORDER_LINES_FOR_CANCEL = f"""
query BridgeOrderLinesForCancel($id: ID!) {{
  order(id: $id) {{
    id
    cancelledAt
    fulfillmentOrders(first: {CANCEL_FOS}) {{
      nodes {{
        id
        lineItems(first: {CANCEL_FO_LINES}) {{ nodes {{ id lineItem {{ {_LINE_ITEM_FIELDS} }} }} }}
      }}
    }}
    lineItems(first: {CANCEL_ORDER_LINES}) {{ nodes {{ {_LINE_ITEM_FIELDS} }} }}
  }}
}}
"""

EDIT_LINES = 250
ORDER_EDIT_BEGIN = f"""
mutation BridgeOrderEditBegin($id: ID!) {{
  orderEditBegin(id: $id) {{
    calculatedOrder {{
      id
      lineItems(first: {EDIT_LINES}) {{ nodes {{ id sku quantity editableQuantity }} }}
    }}
    userErrors {{ field message }}
  }}
}}
"""

ORDER_EDIT_SET_QUANTITY = """
mutation BridgeOrderEditSetQuantity($id: ID!, $lineItemId: ID!, $quantity: Int!) {
  orderEditSetQuantity(id: $id, lineItemId: $lineItemId, quantity: $quantity, restock: false) {
    calculatedLineItem { id quantity }
    userErrors { field message }
  }
}
"""

ORDER_EDIT_COMMIT = """
mutation BridgeOrderEditCommit($id: ID!, $notifyCustomer: Boolean, $staffNote: String) {
  orderEditCommit(id: $id, notifyCustomer: $notifyCustomer, staffNote: $staffNote) {
    order { id }
    userErrors { field message }
  }
}
"""

FULFILLMENT_EVENTS_PAGE = 250
FULFILLMENT_EVENTS_COST = 1 + 2 + FULFILLMENT_EVENTS_PAGE
FULFILLMENT_EVENTS = f"""
query BridgeFulfillmentEvents($id: ID!, $after: String) {{
  fulfillment(id: $id) {{
    id
    events(first: {FULFILLMENT_EVENTS_PAGE}, after: $after) {{
      pageInfo {{ hasNextPage endCursor }}
      nodes {{ status message }}
    }}
  }}
}}
"""

FULFILLMENT_EVENT_CREATE = """
mutation BridgeFulfillmentEventCreate($event: FulfillmentEventInput!) {
  fulfillmentEventCreate(fulfillmentEvent: $event) {
    fulfillmentEvent { id status }
    userErrors { field message }
  }
}
"""

# -- stock ------------------------------------------------------------------------------

SKUS_PER_LOOKUP = 50
VARIANTS_PER_LOOKUP = 250
VARIANTS_BY_SKU_COST = 2 + VARIANTS_PER_LOOKUP * (1 + 1)

VARIANTS_BY_SKU = f"""
query BridgeVariantsBySku($query: String!, $after: String) {{
  productVariants(first: {VARIANTS_PER_LOOKUP}, after: $after, query: $query) {{
    pageInfo {{ hasNextPage endCursor }}
    nodes {{ id sku inventoryItem {{ id tracked }} }}
  }}
}}
"""

# The shop's `available` quantity at the location, read by SKU: inventory items carry the
# SKU and their level at one location, so one node costs 3 (item, level, quantities).
# A connection page holds at most 250 nodes; 2 + 250 × 3 = 752 points, under the cap.
# As many SKUs as a page holds go in one search; a SKU on several variants (or a loose
# search match) that overflows the page is read on the next page.
SKUS_PER_STOCK_READ = 250
STOCK_READ_PAGE = 250
STOCK_READ_COST = 2 + STOCK_READ_PAGE * (1 + 1 + 1)

INVENTORY_LEVELS_BY_SKU = f"""
query BridgeInventoryLevels($query: String!, $location: ID!, $after: String) {{
  inventoryItems(first: {STOCK_READ_PAGE}, after: $after, query: $query) {{
    pageInfo {{ hasNextPage endCursor }}
    nodes {{
      id
      sku
      tracked
      inventoryLevel(locationId: $location) {{ quantities(names: ["available"]) {{ name quantity }} }}
    }}
  }}
}}
"""

# Shopify caps input arrays at 250 entries.
QUANTITIES_PER_CALL = 250

# From 2026-04 every quantity needs `changeFromQuantity`: the quantity expected before the
# change (compare-and-swap, CHANGE_FROM_QUANTITY_STALE when it differs) or null to skip the
# check; `compareQuantity`/`ignoreCompareQuantity` are gone from the schema. The mutation
# needs an idempotency key, one per change, the same on a retry of it.
INVENTORY_SET_QUANTITIES = """
mutation BridgeInventorySetQuantities($input: InventorySetQuantitiesInput!, $key: String!) {
  inventorySetQuantities(input: $input) @idempotent(key: $key) {
    inventoryAdjustmentGroup { reason }
    userErrors { code field message }
  }
}
"""

# -- the online check (bridge config check --online) ----------------------------------------

PROBE_APP_COST = 2  # shop and the app installation; accessScopes is a plain list
PROBE_APP = """
query BridgeProbeApp {
  shop { name }
  currentAppInstallation { accessScopes { handle } }
}
"""

PROBE_LOCATION_COST = 1
PROBE_LOCATION = """
query BridgeProbeLocation($id: ID!) {
  location(id: $id) { id name isActive fulfillsOnlineOrders }
}
"""

PROBE_LOCATIONS_PAGE = 50
PROBE_LOCATIONS_COST = 2 + PROBE_LOCATIONS_PAGE
PROBE_LOCATIONS = f"""
query BridgeProbeLocations {{
  locations(first: {PROBE_LOCATIONS_PAGE}, includeInactive: true) {{
    nodes {{ id name isActive }}
  }}
}}
"""

ALL = {
    "BridgeOrdersUpdated": ORDERS_UPDATED,
    "BridgeOrderFulfillmentOrders": ORDER_FULFILLMENT_ORDERS,
    "BridgeFulfillmentOrderLines": FULFILLMENT_ORDER_LINES,
    "BridgeOrderTracking": ORDER_TRACKING,
    "BridgeFulfillmentCreate": FULFILLMENT_CREATE,
    "BridgeOrderCancelled": ORDER_CANCELLED,
    "BridgeOrderCancel": ORDER_CANCEL,
    "BridgeOrderLinesForCancel": ORDER_LINES_FOR_CANCEL,
    "BridgeOrderEditBegin": ORDER_EDIT_BEGIN,
    "BridgeOrderEditSetQuantity": ORDER_EDIT_SET_QUANTITY,
    "BridgeOrderEditCommit": ORDER_EDIT_COMMIT,
    "BridgeFulfillmentEvents": FULFILLMENT_EVENTS,
    "BridgeFulfillmentEventCreate": FULFILLMENT_EVENT_CREATE,
    "BridgeOrderNote": ORDER_NOTE,
    "BridgeOrderNoteUpdate": ORDER_NOTE_UPDATE,
    "BridgeVariantsBySku": VARIANTS_BY_SKU,
    "BridgeInventoryLevels": INVENTORY_LEVELS_BY_SKU,
    "BridgeInventorySetQuantities": INVENTORY_SET_QUANTITIES,
    "BridgeProbeApp": PROBE_APP,
    "BridgeProbeLocation": PROBE_LOCATION,
    "BridgeProbeLocations": PROBE_LOCATIONS,
}
