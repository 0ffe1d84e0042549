"""The escalation domain: models, policy and roster loading, ladder rules, settings."""
