"""The client side: the Python API services import, and the ``escalate`` CLI."""
