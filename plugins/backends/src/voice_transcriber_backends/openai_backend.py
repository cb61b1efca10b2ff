"""Backend plugin module (work in progress)."""
