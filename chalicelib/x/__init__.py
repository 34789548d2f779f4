"""The adapter to X: webhook security, and the payloads of both webhook envelopes."""
