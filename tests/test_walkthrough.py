"""docs/getting-started.md, run as a reader would: its quick training, every command that follows it in the page's
order, and its Python section; the JSON it shows `genzoo eval --json` printing has today's keys."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest
from PIL import Image
from typer.testing import CliRunner

from genzoo.cli import app
from tests.conftest import single_thread

PAGE = Path(__file__).resolve().parents[1] / "docs" / "getting-started.md"


def page_commands() -> list[list[str]]:
    """The page's ``genzoo`` commands in order (continuations joined, comments cut)."""
    text = PAGE.read_text(encoding="utf-8")
    out = []
    for code in re.findall(r"```bash\n(.*?)```", text, flags=re.S):
        for line in code.replace("\\\n", " ").splitlines():
            line = line.split(" #")[0].strip()
            if line.startswith("genzoo "):
                out.append(shlex.split(line)[1:])
    return out


def home_folder(home: Path) -> None:
    """~/my_faces as the page describes it: two classes, an unreadable file."""
    for kind, colour in (("cats", "orange"), ("dogs", "brown")):
        (home / "my_faces" / kind).mkdir(parents=True)
        for i in range(20):
            Image.new("RGB", (40, 40), colour).save(home / "my_faces" / kind / f"{i}.png")
    (home / "my_faces" / "empty.jpg").write_bytes(b"")


def test_the_getting_started_page_runs(runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    home_folder(tmp_path / "home")
    Image.new("RGB", (50, 40), "purple").save(tmp_path / "mine.jpg")
    (tmp_path / "cartoon").mkdir()  # the page's folder that shares a data set's name
    Image.new("RGB", (30, 30), "green").save(tmp_path / "cartoon" / "face.png")
    ran = []
    with single_thread():
        for args in page_commands():
            long_training = args[0] == "train" and "--steps" not in args and "--resume" not in args
            if long_training:  # the full default runs (minutes): checked, not trained
                args = [*args, "--dry-run"]
            result = runner.invoke(app, args)
            if args == ["train", "--resume", "runs/first"]:  # the page's stopped run; this one finished
                assert result.exit_code == 2 and "already at step 20" in result.output
                continue
            assert result.exit_code == 0, f"`genzoo {shlex.join(args)}` fails: {result.output}"
            ran.append(args)
            if args[:2] == ["eval", "vae-conv"] and "--json" in args:
                printed = json.loads(result.stdout)
    assert len(ran) >= 15 and ["train", "--resume", "runs/first", "--steps", "40"] in ran
    shown = json.loads(re.search(r"`genzoo eval --json` prints[^\n]*\s+```json\n(.*?)```", PAGE.read_text(), re.S)[1])
    assert list(shown) == list(printed), "the page's eval --json example has other keys than eval prints"


def test_the_python_section_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code = re.search(r"## The same from Python.*?```python\n(.*?)```", PAGE.read_text(encoding="utf-8"), re.S)[1]
    monkeypatch.chdir(tmp_path)
    with single_thread():
        exec(compile(code, str(PAGE), "exec"), {})
    printed = capsys.readouterr().out
    assert "runs/api 20 {'loss':" in printed and "['vae-conv', 'vae-mlp']" in printed
