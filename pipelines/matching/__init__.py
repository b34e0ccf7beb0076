"""One organisation master: CRM accounts and workplace-learning rows resolved to real organisations."""
