"""Pytest fixtures: openai_api (work in progress)."""
