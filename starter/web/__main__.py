"""``python -m starter.web --host 127.0.0.1 --port 8080``: the HTTP API (as ``escalate serve``)."""

from starter.cli import main_serve

main_serve()
