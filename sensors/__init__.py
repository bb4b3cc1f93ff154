"""MQTT ingestion, payload schema, device registry import and the district simulator. Built in a later issue."""
