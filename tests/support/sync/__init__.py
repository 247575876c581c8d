"""Test kit for sync: a TUF repository built with tuf.api.metadata, a threaded HTTP
server with Range support and a report API, and a fault-injecting proxy. Used by
tests/sync/ (whose conftest.py holds the fixtures) and by bench/sync_*.py."""
