"""Cart adapters: one module per platform behind the contract in `contract.py`."""
