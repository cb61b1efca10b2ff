"""Pytest fixtures: desktop (work in progress)."""
