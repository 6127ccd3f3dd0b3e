"""bridge: have Amazon's fulfillment network ship a web shop's orders.

Importing this package has no side effects; objects are built in `bridge.bootstrap`.
"""

__version__ = "0.1.0"
