# Sourced by the scripts: installs uv (into .tools/) and the locked dependencies (into .venv/).
# Needs only Python >= 3.11 on the machine.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PYTHON="${PYTHON:-python3}"
"$PYTHON" - <<'PY' || { echo "Recourse needs Python >= 3.11 (set PYTHON=...)" >&2; exit 1; }
import sys
sys.exit(0 if sys.version_info >= (3, 11) else 1)
PY
UV_VERSION="0.13.9"
if [ ! -x .tools/bin/uv ] || [ "$(.tools/bin/uv --version | cut -d' ' -f2)" != "$UV_VERSION" ]; then
  "$PYTHON" -m venv .tools
  .tools/bin/python -m pip install --quiet --disable-pip-version-check "uv==$UV_VERSION"
fi
export UV_PYTHON_DOWNLOADS=never UV_NO_PROGRESS=1
.tools/bin/uv sync --frozen --quiet --python "$PYTHON"
export PATH="$ROOT/.venv/bin:$PATH"
