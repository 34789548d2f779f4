"""Listening: hearing what X says about the brand, its products, its competitors and its topics.

``rules`` (what to listen for: X search queries, tagged with outlet's rule ids), ``posts`` (each
post heard, stored once, counted once per rule), ``search`` (the scheduled recent search) and
``reports`` (share of voice, rising terms, most-engaged posts).
"""
