-- central.db as sqlite-utils migration m001_central made it (before Alembic);
-- tests/central/test_central_store.py upgrades a database made from it.
CREATE TABLE "_sqlite_migrations" (
   "id" INTEGER PRIMARY KEY,
   "migration_set" TEXT,
   "name" TEXT,
   "applied_at" TEXT
);
CREATE UNIQUE INDEX "idx__sqlite_migrations_migration_set_name"
    ON "_sqlite_migrations" ("migration_set", "name");
CREATE TABLE "user" (
   "name" TEXT PRIMARY KEY,
   "role" TEXT NOT NULL,
   "token_hash" TEXT,
   "created_at" TEXT
);
CREATE TABLE "media" (
   "sha256" TEXT PRIMARY KEY,
   "kind" TEXT NOT NULL,
   "name" TEXT NOT NULL,
   "format" TEXT,
   "size" INTEGER NOT NULL,
   "duration_s" REAL,
   "width" INTEGER,
   "height" INTEGER,
   "state" TEXT NOT NULL,
   "uploaded_at" TEXT,
   "uploaded_by" TEXT,
   "approved_at" TEXT,
   "approved_by" TEXT,
   "retired_at" TEXT,
   "retired_by" TEXT
);
CREATE TABLE "gate" (
   "id" TEXT PRIMARY KEY,
   "name" TEXT NOT NULL,
   "province" TEXT,
   "faces" TEXT NOT NULL,
   "token_hash" TEXT,
   "token_issued_at" TEXT,
   "created_at" TEXT
);
CREATE TABLE "gate_group" (
   "id" TEXT PRIMARY KEY,
   "name" TEXT,
   "created_at" TEXT
);
CREATE TABLE "gate_group_member" (
   "group_id" TEXT REFERENCES "gate_group"("id"),
   "gate_id" TEXT REFERENCES "gate"("id"),
   PRIMARY KEY ("group_id", "gate_id")
);
CREATE TABLE "playlist" (
   "id" TEXT PRIMARY KEY,
   "name" TEXT NOT NULL,
   "created_at" TEXT
);
CREATE TABLE "playlist_item" (
   "playlist_id" TEXT REFERENCES "playlist"("id"),
   "position" INTEGER,
   "media_sha256" TEXT REFERENCES "media"("sha256"),
   "duration_s" REAL,
   PRIMARY KEY ("playlist_id", "position")
);
CREATE TABLE "schedule_entry" (
   "id" TEXT PRIMARY KEY,
   "name" TEXT,
   "target_kind" TEXT NOT NULL,
   "target_id" TEXT NOT NULL,
   "playlist_id" TEXT NOT NULL REFERENCES "playlist"("id"),
   "faces" TEXT NOT NULL,
   "start_date" TEXT,
   "end_date" TEXT,
   "weekdays" TEXT NOT NULL,
   "start_time" TEXT NOT NULL,
   "end_time" TEXT NOT NULL,
   "level" TEXT NOT NULL,
   "not_before" TEXT,
   "not_after" TEXT,
   "created_at" TEXT,
   "created_by" TEXT
);
CREATE TABLE "fallback" (
   "id" INTEGER PRIMARY KEY,
   "target_kind" TEXT NOT NULL,
   "target_id" TEXT NOT NULL,
   "face_id" INTEGER,
   "playlist_id" TEXT NOT NULL REFERENCES "playlist"("id")
);
CREATE TABLE "power_window" (
   "id" INTEGER PRIMARY KEY,
   "target_kind" TEXT NOT NULL,
   "target_id" TEXT NOT NULL,
   "face_id" INTEGER,
   "weekdays" TEXT NOT NULL,
   "start_time" TEXT NOT NULL,
   "end_time" TEXT NOT NULL
);
CREATE TABLE "notice" (
   "id" TEXT PRIMARY KEY,
   "target_kind" TEXT NOT NULL,
   "target_id" TEXT NOT NULL,
   "kind" TEXT NOT NULL,
   "level" TEXT NOT NULL,
   "texts" TEXT NOT NULL,
   "faces" TEXT,
   "style" TEXT,
   "starts_at" TEXT,
   "expires_at" TEXT,
   "created_at" TEXT,
   "created_by" TEXT
);
CREATE INDEX schedule_entry_target ON schedule_entry(target_kind, target_id);
CREATE INDEX fallback_target ON fallback(target_kind, target_id);
CREATE INDEX power_window_target ON power_window(target_kind, target_id);
CREATE INDEX notice_target ON notice(target_kind, target_id);
CREATE TABLE "release" (
   "gate_id" TEXT,
   "version" INTEGER,
   "content_sha256" TEXT,
   "published_at" TEXT,
   "publication_id" INTEGER,
   "document" TEXT,
   PRIMARY KEY ("gate_id", "version")
);
CREATE TABLE "publication" (
   "id" INTEGER PRIMARY KEY,
   "at" TEXT,
   "by" TEXT,
   "repository_version" INTEGER,
   "gates_changed" INTEGER,
   "note" TEXT
);
CREATE TABLE "gate_status" (
   "gate_id" TEXT PRIMARY KEY,
   "last_heartbeat_at" TEXT,
   "sent_at" TEXT,
   "release_version" INTEGER,
   "last_good_release_version" INTEGER,
   "heartbeat" TEXT
);
CREATE TABLE "heartbeat" (
   "id" INTEGER PRIMARY KEY,
   "gate_id" TEXT,
   "received_at" TEXT,
   "sent_at" TEXT,
   "release_version" INTEGER,
   "body" TEXT
);
CREATE INDEX heartbeat_gate ON heartbeat(gate_id, received_at);
CREATE TABLE "proof_of_play" (
   "gate_id" TEXT,
   "row_id" INTEGER,
   "face_id" INTEGER,
   "media_sha256" TEXT,
   "entry_id" TEXT,
   "level" TEXT,
   "started_at" TEXT,
   "ended_at" TEXT,
   "outcome" TEXT,
   "reason" TEXT,
   "batch_id" TEXT,
   "received_at" TEXT,
   PRIMARY KEY ("gate_id", "row_id")
);
CREATE INDEX proof_of_play_media ON proof_of_play(media_sha256, started_at);
CREATE TABLE "screenshot" (
   "gate_id" TEXT,
   "face_id" INTEGER,
   "taken_at" TEXT,
   "received_at" TEXT,
   "file" TEXT,
   "content_type" TEXT,
   "size" INTEGER,
   PRIMARY KEY ("gate_id", "face_id")
);
CREATE TABLE "audit" (
   "id" INTEGER PRIMARY KEY,
   "at" TEXT,
   "who" TEXT,
   "action" TEXT,
   "subject" TEXT,
   "detail" TEXT
);
INSERT INTO _sqlite_migrations VALUES (1, 'gatecast.central', 'm001_central', '2026-11-29 23:35:28.685054+00:00');
