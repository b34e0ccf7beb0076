"""Dagster assets by layer: raw → validated → published."""
