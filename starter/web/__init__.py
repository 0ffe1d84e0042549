"""The HTTP API: ingest for monitoring tools, the responder API, health checks (``starter.web.app``).

Nothing is imported here, so the CLI's token commands do not load the web framework."""
