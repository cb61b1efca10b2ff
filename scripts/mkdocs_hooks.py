"""MkDocs hooks (mkdocs.yml ``hooks:``) for the documentation site.

* The nav lists the pages we plan; pages not written yet are left out, and pages under docs/
  that the nav does not list are added under "More", so a new page always shows.
* ``<!-- generated: config-reference -->`` becomes the configuration reference, rendered from the
  pydantic models of the core and of the installed first-party plugins (``config reference``).
* ``<!-- generated: benchmarks -->`` becomes BENCHMARKS.md (built from bench/results/).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FIRST_PARTY_ONLY = {"VOICE_TRANSCRIBER_DISABLE_PLUGINS": "append-file"}  # the example plugin is not ours


def on_config(config):
    docs = Path(config["docs_dir"])
    listed: set[str] = set()

    def keep(items):
        kept = []
        for item in items:
            if isinstance(item, dict):
                (title, value), = item.items()
                if isinstance(value, list):
                    value = keep(value)
                    if value:
                        kept.append({title: value})
                elif (docs / value).exists():
                    listed.add(value)
                    kept.append(item)
            elif (docs / item).exists():
                listed.add(item)
                kept.append(item)
        return kept

    nav = keep(config["nav"] or [])
    extra = sorted(str(p.relative_to(docs)) for p in docs.rglob("*.md") if str(p.relative_to(docs)) not in listed)
    if extra:
        nav.append({"More": extra})
    config["nav"] = nav
    return config


def on_page_markdown(markdown, page, config, files):
    if "<!-- generated: config-reference -->" in markdown:
        markdown = markdown.replace("<!-- generated: config-reference -->", config_reference())
    if "<!-- generated: benchmarks -->" in markdown:
        markdown = markdown.replace("<!-- generated: benchmarks -->", benchmarks())
    return markdown


def config_reference() -> str:
    from voice_transcriber.cli.config_reference import reference_markdown
    from voice_transcriber.cli.run_cmd import CliState, known_sections
    from voice_transcriber.plugins import get_plugin_manager

    pm = get_plugin_manager(environ={**os.environ, **FIRST_PARTY_ONLY})
    return reference_markdown(known_sections(CliState(pm=pm)))


def benchmarks() -> str:
    text = (ROOT / "BENCHMARKS.md").read_text(encoding="utf-8")
    return re.sub(r"\A(<!--.*?-->\s*)?# [^\n]*\n", "", text, flags=re.S)  # the banner and the title
