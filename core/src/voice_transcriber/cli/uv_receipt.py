"""A uv tool's receipt (``uv-receipt.toml``) as ``uv tool install`` arguments, to install the tool again as it was.

``install`` and ``uninstall`` in a uv tool environment run ``uv tool install`` with everything the receipt
records, plus or minus plugins (:mod:`.plugin_env`): each requirement with its source, the constraint,
override and build-constraint files, the resolver and installer options, where the tool's executables go.
Standard library only.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


def receipt_files(receipt: dict[str, Any]) -> list[tuple[str, str]]:
    """The receipt's constraints, overrides and build constraints: (flag, the requirements file's text) each."""
    return [(flag, "".join(requirement_arg(r)[0] + "\n" for r in receipt[key]))
            for key, flag in (("constraints", "--constraints"), ("overrides", "--overrides"),
                              ("build-constraint-dependencies", "--build-constraints"))
            if receipt.get(key)]


def receipt_bin_dir(receipt: dict[str, Any]) -> str | None:
    """The directory the tool's executables were installed to, when the receipt names exactly one."""
    bins = {str(Path(e["install-path"]).parent) for e in receipt.get("entrypoints", []) if e.get("install-path")}
    return bins.pop() if len(bins) == 1 else None


def requirement_arg(requirement: dict[str, Any]) -> tuple[str, bool]:
    """One requirement of a uv receipt as a command-line argument, and whether it is editable.

    Receipts store ``{name, extras?, marker?}`` plus one source: ``specifier``/``index`` (a registry),
    ``path`` (a file), ``directory``, ``editable``, ``virtual``, ``git`` (the URL with ``rev``/``tag``/
    ``branch``/``subdirectory`` in its query and the commit in its fragment) or ``url``."""
    from urllib.parse import parse_qs, urlsplit, urlunsplit

    name = str(requirement["name"])
    extras = requirement.get("extras") or []
    head = f"{name}[{','.join(extras)}]" if extras else name
    marker = requirement.get("marker")
    editable = False
    if "editable" in requirement:
        path = Path(requirement["editable"])
        spec, editable = (str(path), True) if not extras and not marker else (f"{head} @ {path.as_uri()}", True)
    elif "directory" in requirement or "path" in requirement or "virtual" in requirement:
        location = requirement.get("directory") or requirement.get("path") or requirement.get("virtual")
        spec = f"{head} @ {Path(location).absolute().as_uri()}"
    elif "git" in requirement:
        parts = urlsplit(str(requirement["git"]))
        query = parse_qs(parts.query)
        reference = next((query[k][0] for k in ("rev", "tag", "branch") if k in query), None)
        path = parts.path + (f"@{reference}" if reference else "")
        url = urlunsplit((parts.scheme, parts.netloc, path, "", ""))
        fragment = f"#subdirectory={query['subdirectory'][0]}" if "subdirectory" in query else ""
        spec = f"{head} @ git+{url}{fragment}"
    elif "url" in requirement:
        fragment = f"#subdirectory={requirement['subdirectory']}" if requirement.get("subdirectory") else ""
        spec = f"{head} @ {requirement['url']}{fragment}"
    else:
        spec = f"{head}{requirement.get('specifier', '')}".replace(" ", "")
    if marker:
        spec += f" ; {marker}"
    return spec, editable


def receipt_options(options: dict[str, Any]) -> tuple[list[str], list[str]]:
    """The receipt's ``[tool.options]`` (the resolver and installer options the tool was installed with)
    as flags: ``find-links = [...]`` → ``--find-links X`` …, ``index = [{url, name}]`` → ``--index name=url``;
    and the names of those that have no flag form."""
    argv: list[str] = []
    skipped: list[str] = []
    for key, value in options.items():
        flag = f"--{key}"
        if key == "index" and isinstance(value, list) and all(isinstance(i, dict) and i.get("url") for i in value):
            for index in value:
                argv += [flag, f"{index['name']}={index['url']}" if index.get("name") else str(index["url"])]
        elif key == "config-settings" and isinstance(value, dict):
            for k, v in value.items():
                for item in v if isinstance(v, list) else [v]:
                    argv += ["--config-setting", f"{k}={item}"]
        elif isinstance(value, bool):
            if value:
                argv.append(flag)
        elif isinstance(value, (str, int, float)):
            argv += [flag, str(value)]
        elif isinstance(value, list) and all(isinstance(v, (str, int, float)) for v in value):
            for item in value:
                argv += [flag, str(item)]
        else:
            skipped.append(key)
    return argv, skipped
