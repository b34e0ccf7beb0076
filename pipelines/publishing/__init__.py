"""Building the published star schema and switching it in atomically."""
