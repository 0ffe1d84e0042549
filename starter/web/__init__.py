"""The HTTP API: ingest for monitoring tools, the responder API, health checks."""

from starter.web.app import create_app

__all__ = ["create_app"]
