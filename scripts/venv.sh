# Sourced by the other scripts: make sure a virtualenv with the project's dependencies exists.
#
# The venv lives outside the checkout, keyed by a hash of pyproject.toml and the extras, so CI
# and repeated runs reuse it, while any change to the pinned dependencies builds a fresh one
# from nothing. The project itself is installed editable on every run (seconds).
# Usage: EXTRAS=ocr,dev source scripts/venv.sh   -> sets $VENV and puts it first on PATH.
# The calling scripts set -euo pipefail; an interactive shell that sources this keeps its own.

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
EXTRAS=${EXTRAS:-ocr}
PYTHON=${PYTHON:-python3}
key=$( (cat "$ROOT/pyproject.toml"; echo "$EXTRAS"; "$PYTHON" --version) | sha256sum | cut -c1-16)
VENV=${RECEIPTFLOW_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/receiptflow/venv-$key}

# Built in place (console scripts record their interpreter's path, so a venv cannot be moved)
# and marked complete at the end: an interrupted build is thrown away and redone. A venv named
# by RECEIPTFLOW_VENV that already exists is the caller's: used as it is, never rebuilt.
if [ -n "${RECEIPTFLOW_VENV:-}" ] && [ -x "$VENV/bin/python" ]; then
  :
elif [ ! -f "$VENV/.complete" ]; then
  echo "building virtualenv $VENV (extras: $EXTRAS)" >&2
  rm -rf "$VENV"
  "$PYTHON" -m venv "$VENV"
  # Dependencies only (the project is installed editable below, from wherever it is checked out).
  "$VENV/bin/python" -m pip install -q "$ROOT[$EXTRAS]"
  "$VENV/bin/python" -m pip uninstall -q -y receiptflow
  touch "$VENV/.complete"
fi
"$VENV/bin/python" -m pip install -q --no-deps -e "$ROOT" >/dev/null
export PATH="$VENV/bin:$PATH"
