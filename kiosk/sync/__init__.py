"""Sync with the province's central authority: signed releases in (TUF), reports out.

Modules: `fetcher` (resuming HTTP downloads), `release` (the release document and its
checks), `activate` (the one SQLite transaction that swaps releases), `pull` (one TUF
refresh and download), `disk` (room for media), `clock` (whether expiry can be trusted),
`outbox` and `report` (heartbeats, proof of play, screenshots), `loop` (the
`gatecast sync` service), `schema` (the tables sync owns).
"""
