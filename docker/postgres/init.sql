-- Runs once, when the postgres service initialises its data directory (docker-entrypoint-initdb.d).
-- driftline: the metadata store the detector replicas and the executor share (POSTGRES_DB).
-- app: the application's database, the executor's target (targets.postgres in executor.yaml).
-- pg_stat_statements (preloaded by the service's command) is what `driftline plan --pg` and the
-- closed loop's `queries: {pgStatStatements: true}` read.
CREATE EXTENSION IF NOT EXISTS pg_stat_statements;
CREATE DATABASE app;
\connect app
CREATE EXTENSION IF NOT EXISTS pg_stat_statements;
