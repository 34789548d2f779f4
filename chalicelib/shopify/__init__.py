"""The adapter to Shopify: webhook verification and the order payloads outlet reads."""
