"""Webhook notifications of alerts: an outbox in PostgreSQL fed from the alerts topic.

``routing``, ``signing`` and ``backoff`` are the pure core (what to send to whom, how
it is signed, when to retry); ``outbox``, ``sender``, ``consumer`` and ``delivery`` are
the adapters; ``service.run_notifier`` wires them and is what ``ecm notify`` runs.
"""
