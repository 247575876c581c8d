"""PostgreSQL: autovacuum of the report tables made cheap and spread, per table.

Measured (autovacuum log, `log_autovacuum_min_duration = 0`, the intake bench at
10,000 gates x5 with the 15 s naptime of the time, docs/benchmarks.md "Autovacuum
of the report tables"): every 15 s one worker vacuumed AND analyzed heartbeat,
gate_status, proof_of_play, play_day and face_time_day in 1-2 s of a whole core,
and the worst half-seconds of report latency fell on those rounds. The costly
parts were the ANALYZEs of the append-only history (heartbeat 0.2 s of CPU, 0.6 s
elapsed, proof_of_play 0.4 s / 0.9 s), each run over a 30,000-row sample, and the
statistics of columns no query filters on.

What the planner needs, and from whom (the queries that read these tables):
* heartbeat: the console's gate history (`gate_id = ? AND received_at` in a
  window: the `heartbeat_gate` index) and prune_heartbeats (`received_at <`: the
  BRIN `heartbeat_received`). Statistics of gate_id and received_at; `body` (1.5 KB
  of JSON, never in a WHERE) gets none: its statistics were most of heartbeat's
  ANALYZE.
* proof_of_play: intake's ON CONFLICT (the primary key), the alert rules' "media
  started on a face" (`gate_id, face_id, started_at`), prune_proof_of_play
  (`received_at <`, `outcome <>`; it groups by media and outcome). entry_id, level,
  ended_at, reason and batch_id are only read back: no statistics.
* gate_status: one row per gate, read by key or whole (the alert loop's scan).
  `heartbeat` and `alert_view` (JSON, never filtered): no statistics.

Append-only heartbeat and proof_of_play: their statistics (how many gates, the
range of times) hardly change from one hour to the next, and a stale upper end of
received_at only makes "recent" look rarer, which favours the indexes those
queries use anyway. With PostgreSQL's defaults (analyze after 50 rows + 10 % of the
table) a young table (a fresh central, or the first hours of a big fleet) was
analyzed every round. Now:
* heartbeat: analyze after 100,000 new rows (+10 % of the table, PostgreSQL's
  scale factor): 10 min at 10,000 gates reporting a minute, a week at 10 gates
  (where the whole table is a few MB and any plan is quick); vacuum (to set pages
  all-visible, and freeze, before a wraparound vacuum would have to read the
  whole history) after as many inserted rows (+20 %).
* proof_of_play (12 rows a gate-minute): the same at 1,000,000 rows: 8 min at
  10,000 gates, a week or so at 10.
* both: `autovacuum_vacuum_cost_delay = 20` ms (PostgreSQL's 2 ms with the cost
  limit 200 is ~100,000 cached pages a second: a core for a second on a big
  table): a vacuum of proof_of_play at 1.1 M rows spread from 1.1 s to 7.6 s of
  elapsed time at the same 0.26 s of CPU (the lead's r5/r6 runs).
gate_status: its statistics change only when gates are added, yet every report
updates it, so it qualified for ANALYZE every round (0.03-0.05 s CPU, 0.1 s
elapsed, each time). `autovacuum_analyze_scale_factor = 60`: once every gate has
reported 60 times (an hour at a report a minute, whatever the fleet's size); a new
central's first gates (from no rows) still get analyzed at once (50 rows). Its
vacuum stays as it is: since 0015 a report's update is heap-only and pages prune
themselves, but vacuum is what records the freed room in the free-space map (a
new gate's row goes where there is room), advances relfrozenxid, and it costs
0.01 s of CPU a round.
play_day / face_time_day: updated in place (0014), ANALYZE 0.03-0.06 s of CPU a
round, vacuum ~0. Their statistics (the days, the gates) change when a day starts;
a day past the histogram's end is found through the primary key, which leads with
`day` (PostgreSQL reads the index's real end). `autovacuum_analyze_scale_factor =
5`: after five times the table's rows were written.

SQLite has none of this (it has no autovacuum daemon; central.db runs its own).
central/schema.py mirrors each value (postgresql_with, the columns'
info["postgresql_statistics"]); tests/central/test_central_pg_autovacuum.py checks
a fresh and an upgraded database against it.

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-30
"""

from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

# Columns no query filters, joins or groups on: no statistics (attstattarget 0).
NO_STATISTICS = {
    "heartbeat": ("body",),
    "gate_status": ("heartbeat", "alert_view"),
    "proof_of_play": ("entry_id", "level", "ended_at", "reason", "batch_id"),
}

STORAGE = {
    "heartbeat": {"autovacuum_analyze_threshold": 100_000,
                  "autovacuum_vacuum_insert_threshold": 100_000,
                  "autovacuum_vacuum_cost_delay": 20},
    "proof_of_play": {"autovacuum_analyze_threshold": 1_000_000,
                      "autovacuum_vacuum_insert_threshold": 1_000_000,
                      "autovacuum_vacuum_cost_delay": 20},
    "gate_status": {"autovacuum_analyze_scale_factor": 60},
    "play_day": {"autovacuum_analyze_scale_factor": 5},
    "face_time_day": {"autovacuum_analyze_scale_factor": 5},
}


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, columns in NO_STATISTICS.items():
        op.execute(f"ALTER TABLE {table} "
                   + ", ".join(f"ALTER COLUMN {c} SET STATISTICS 0" for c in columns))
    for table, options in STORAGE.items():
        op.execute(f"ALTER TABLE {table} SET ("
                   + ", ".join(f"{k} = {v}" for k, v in options.items()) + ")")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, columns in NO_STATISTICS.items():
        op.execute(f"ALTER TABLE {table} "
                   + ", ".join(f"ALTER COLUMN {c} SET STATISTICS -1" for c in columns))
    for table, options in STORAGE.items():
        op.execute(f"ALTER TABLE {table} RESET ({', '.join(options)})")
