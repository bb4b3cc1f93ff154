"""The sensor edge: MQTT ingestion (ingest), the payload contract (payload), the intake shared with HTTP (intake),
registry files (registry_file), the simulated district (district, simulate) and its commands (cli). See
docs/sensors.md."""
