"""Pytest fixtures: pulse (work in progress)."""
