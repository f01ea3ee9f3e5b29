"""docs/extending.md, followed as written: its worked example (a model family, a loss and a data set) runs, and a
model family dropped into genzoo/models/ as one new package is a built-in model with no other change."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "extending.md"


def code_blocks(text: str) -> list[tuple[str, str]]:
    """The doc's fenced blocks as (language, code)."""
    return re.findall(r"```(\w*)\n(.*?)```", text, flags=re.S)


def write_example(folder: Path) -> dict[str, str]:
    """Write every block that starts with a ``# toyae/…`` (or ``# try_toyae.py``) line as that file; return them."""
    files = {}
    for _, code in code_blocks(DOC.read_text(encoding="utf-8")):
        first = code.splitlines()[0]
        if first.startswith("# ") and first[2:].strip().endswith(".py"):
            files[first[2:].strip()] = code
    for name, code in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(code)
    return files


def run_python(code: str, cwd: Path, pythonpath: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(pythonpath), "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True, text=True, timeout=600)


def test_the_worked_example_runs_as_written(tmp_path: Path) -> None:
    files = write_example(tmp_path)
    assert {"toyae/__init__.py", "toyae/ae/__init__.py", "toyae/ae/model.py", "try_toyae.py"} <= set(files)
    (tmp_path / "toyae" / "__init__.py").touch()
    result = run_python((tmp_path / "try_toyae.py").read_text(), tmp_path, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("20 {'loss':")
    assert "torch.Size([4, 32]) torch.Size([4, 3, 16, 16])" in result.stdout
    assert "'heldout_mse':" in result.stdout
    assert "{'images_seen': 960}" in result.stdout
    assert lines[-1] == "ae-linear cannot sample. It can: encode, reconstruct."


def test_a_new_family_package_is_a_built_in_model(tmp_path: Path) -> None:
    """The example's family as a package beside vae/, gan/ and cyclegan/ (appended to genzoo.models' path here):
    found, listed, trained and loaded, with nothing else edited."""
    files = write_example(tmp_path / "doc")
    family = tmp_path / "extra" / "ae"
    family.mkdir(parents=True)
    init = files["toyae/ae/__init__.py"].replace("from toyae.ae.model import", "from genzoo.models.ae.model import")
    (family / "__init__.py").write_text(init)
    (family / "model.py").write_text(files["toyae/ae/model.py"])
    code = f"""
import json, genzoo.models
genzoo.models.__path__.append({str(tmp_path / "extra")!r})
import genzoo
entry = genzoo.registry.models.get("ae-linear")
print(json.dumps({{"source": entry.source, "capabilities": sorted(entry.capabilities)}}))
result = genzoo.train("ae-linear", data="cartoon", steps=4,
                      overrides=["image_size=16", "train_size=64", "heldout_size=8", "batch_size=16"], out="run")
print(json.dumps({{"steps": result.steps, "model": type(genzoo.load("run")).__name__}}))
"""
    result = run_python(code, tmp_path, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    listed, trained = (json.loads(line) for line in result.stdout.splitlines()[-2:])
    assert listed == {"source": "built-in", "capabilities": ["encode", "reconstruct"]}
    assert trained == {"steps": 4, "model": "LinearAE"}


@pytest.mark.parametrize("kind", ["models", "losses"])
def test_built_ins_are_found_not_listed(kind: str) -> None:
    """No table of built-in modules to edit: the registries find them in their packages."""
    source = (ROOT / "genzoo" / "registry.py").read_text()
    assert f'"genzoo.{kind}.' not in source
