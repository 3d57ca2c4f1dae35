"""PostgreSQL (with TimescaleDB when present) storage: migrations, sinks and queries."""
