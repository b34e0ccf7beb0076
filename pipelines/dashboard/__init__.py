"""Johdon työpöytä: the management dashboard, written from the published set only (what a BI tool sees)."""
