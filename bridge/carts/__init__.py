"""Cart adapters: one package per platform behind the contract in `contract.py`."""
