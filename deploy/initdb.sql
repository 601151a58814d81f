-- Run once by the postgres image on an empty data volume (mounted in /docker-entrypoint-initdb.d/).
-- POSTGRES_DB (dagster) holds Dagster's runs, event log and schedules; this is the second database: the
-- warehouse engine's (SALESCOPE_WAREHOUSE_URL). Both are owned by POSTGRES_USER.
CREATE DATABASE warehouse;
