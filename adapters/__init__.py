"""Platform adapters: each verifies, acknowledges, parses, calls one use case; and publishes."""
