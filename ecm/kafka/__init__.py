"""Kafka adapters shared by the worker, the API, the simulator and the provider client."""
