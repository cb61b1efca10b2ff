"""The documentation site builds with `mkdocs build --strict` (every internal link and anchor valid),
and the README is short, links only to what exists, and needs nothing outside the repository."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LINK = re.compile(r"\]\(([^)\s]+)\)")


def anchors(page: Path) -> set[str]:
    """The heading ids MkDocs gives ``page`` (python-markdown's toc slugs)."""
    from markdown.extensions.toc import slugify

    text = re.sub(r"```.*?```", "", page.read_text(encoding="utf-8"), flags=re.S)
    found = set()
    for title in re.findall(r"^#{1,6} (.+?)\s*$", text, flags=re.M):
        plain = re.sub(r"[`*]|\[([^]]*)\]\([^)]*\)", r"\1", title)
        found.add(slugify(plain, "-"))
    return found


def test_the_site_builds_strict(tmp_path, monkeypatch, caplog):
    """What ``mkdocs build --strict`` does, in this process (the site is the point, not the process: a
    ``python -m mkdocs`` process cost ~0.6 CPU-s more); a warning fails it, and the warnings are shown."""
    from mkdocs.commands.build import build
    from mkdocs.config import load_config
    from mkdocs.exceptions import Abort

    monkeypatch.setenv("NO_MKDOCS_2_WARNING", "1")
    monkeypatch.chdir(ROOT)
    try:
        build(load_config(str(ROOT / "mkdocs.yml"), strict=True, site_dir=str(tmp_path / "site")))
    except Abort as exc:
        raise AssertionError(f"{exc}: {[r.getMessage() for r in caplog.records if r.levelname == 'WARNING']}") from None
    reference = (tmp_path / "site" / "config-reference" / "index.html").read_text(encoding="utf-8")
    # Generated from the models: a core key, a plugin's key, their defaults and variables.
    for expected in ("input.maxDurationSeconds", "transcription.local.model", "VOICE_TRANSCRIBER_LANGUAGE",
                     "output.typing"):
        assert expected in reference, expected
    assert "<!-- generated" not in reference and "appendFile" not in reference  # not the example plugin


def test_the_readme_is_short_and_every_link_in_it_resolves():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(readme.splitlines()) <= 200
    targets = [t for t in LINK.findall(readme) if not re.match(r"[a-z]+:", t)]
    assert targets, "the README points to the docs"
    for target in targets:
        path, _, anchor = target.partition("#")
        file = ROOT / path
        assert file.exists(), target
        if anchor:
            assert anchor in anchors(file), target
    assert "samples/jfk.flac" in readme and (ROOT / "samples" / "jfk.flac").exists()


def test_readme_and_docs_need_nothing_outside_the_repository():
    for page in [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]:
        text = page.read_text(encoding="utf-8")
        assert "../shared" not in text and "/work/" not in text, page
