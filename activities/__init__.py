"""Every side effect of an escalation: pages, persistence, look-ups."""
