"""Shared pytest fixtures for the voice-transcriber test suites (loaded by the root conftest.py)."""
