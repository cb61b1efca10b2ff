"""The formatters page's (docs/formatters.md) third-party formatter example is this directory's readme_emoji_formatter.py,
verbatim, and it works as a plugin: docs and code cannot drift apart."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

EXAMPLE = Path(__file__).with_name("readme_emoji_formatter.py")


def test_readme_shows_the_example_verbatim(formatter_readme):
    blocks = re.findall(r"```python\n(.*?)```", formatter_readme, re.DOTALL)
    assert EXAMPLE.read_text(encoding="utf-8") in blocks


def test_readme_documents_every_formatter_and_its_options(formatter_readme, registry):

    ours = {name: reg.cls for name, reg in registry.formatters.items() if reg.cls.__module__.startswith("voice_transcriber_formatter")}
    assert len(ours) == 11
    for name, cls in ours.items():
        assert f"`{name}`" in formatter_readme, name
        for field in (cls.config_model.model_fields.values() if cls.config_model else []):
            assert f"`{field.alias}`" in formatter_readme, f"{name}: {field.alias}"


def test_the_example_runs_as_a_plugin(scripted_pm, dictate, write_config):
    spec = importlib.util.spec_from_file_location("readme_emoji_formatter", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert scripted_pm.register_plugin(module, "emoji-example")
    try:
        assert dictate("great job smiley", "--format", "emoji").stdout == "great job 🙂\n"
        write_config({"formatter": {"emoji": {"emojis": {"party": "🎉"}}}})
        assert dictate("let's party", "--format", "emoji").stdout == "let's 🎉\n"
    finally:
        scripted_pm.unregister(name="emoji-example")
