"""The provider-facing HTTP API: ``create_app`` builds it, ``ecm api`` serves it."""

from ecm.api.app import create_app

__all__ = ["create_app"]
