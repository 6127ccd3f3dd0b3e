"""Use cases. Each takes its collaborators explicitly (ledger, storefront config, cart
adapter, SP-API client) so tests can hand it fakes and tasks stay a few lines."""
