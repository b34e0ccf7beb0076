"""Synthetic, deterministic demo exports with documented defects and their truth."""
