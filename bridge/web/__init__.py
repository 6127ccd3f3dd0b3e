"""`bridge serve`: the HTTP side of bridge (health, metrics, webhooks, the console)."""
