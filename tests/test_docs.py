"""The documentation cannot go stale: every command shown in README.md and docs/ parses with today's CLI, the cheap
ones run, every `genzoo train` example passes `--dry-run`, and every quoted session (`$ genzoo …` followed by what it
printed) prints that today."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import click
import pytest
import typer
from typer.testing import CliRunner

from genzoo.cli import app
from genzoo.registry import datasets, models

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
PLACEHOLDER = re.compile(r"<[^>]*>|…|\b(RUN|SOURCE|IMAGE|IMAGES|NAME|FOLDER|FILE|MODEL|DOMAIN|PNG)\b|\[|\]")
CHEAP = {("list",), ("data", "list"), ("plugins",), ("info",), ("--version",), ("data", "preview")}


def blocks(page: Path) -> list[str]:
    """The page's fenced code blocks that hold shell text (bash, console or unlabelled)."""
    text = page.read_text(encoding="utf-8")
    return [
        code for lang, code in re.findall(r"```(\w*)\n(.*?)```", text, flags=re.S) if lang in {"", "bash", "console"}
    ]


def commands(page: Path) -> list[str]:
    """Every ``genzoo …`` command line of the page (continuations joined, comments and ``&& …`` cut)."""
    out = []
    for code in blocks(page):
        joined = code.replace("\\\n", " ")
        for line in joined.splitlines():
            line = line.strip().removeprefix("$ ").strip()
            if line.startswith("genzoo ") or line == "genzoo":
                out.append(line.split(" #")[0].split(" && ")[0].strip())
    return out


ALL = sorted({(page.name, line) for page in PAGES for line in commands(page)})


def argv(line: str) -> list[str]:
    return shlex.split(line)[1:]


def parse(args: list[str]) -> None:
    """Parse ``args`` as the CLI would, without running anything: unknown commands, options and bad values raise."""
    command: click.Command = typer.main.get_command(app)
    parent = None
    name = "genzoo"
    while True:
        ctx = command.make_context(name, list(args), parent=parent, resilient_parsing=False)
        if not isinstance(command, click.Group):
            return
        rest = [*ctx.protected_args, *ctx.args]
        if not rest:
            return
        name, sub, args = command.resolve_command(ctx, rest)
        assert sub is not None, f"no command {rest[0]!r}"
        command, parent = sub, ctx


@pytest.mark.parametrize(("page", "line"), [c for c in ALL if not PLACEHOLDER.search(c[1])])
def test_every_documented_command_parses(page: str, line: str) -> None:
    try:
        parse(argv(line))
    except (click.exceptions.Exit, typer.Exit):  # --version, --help
        pass
    except click.ClickException as exc:
        pytest.fail(f"{page}: `{line}` no longer parses: {exc.format_message()}")


def test_the_pages_show_many_commands() -> None:
    assert len(ALL) > 100 and len([c for c in ALL if not PLACEHOLDER.search(c[1])]) > 80


# ---- quoted sessions -----------------------------------------------------------------------------------------------


def sessions(page: Path) -> list[tuple[str, str]]:
    """``(command, what it printed)`` for every ``$ genzoo …`` line of a block followed by printed lines."""
    out = []
    for code in blocks(page):
        lines = code.splitlines()
        for i, line in enumerate(lines):
            if not line.startswith("$ genzoo "):
                continue
            printed = []
            for following in lines[i + 1 :]:
                if not following.strip() or following.startswith("$ "):
                    break
                printed.append(following)
            if printed:
                out.append((line[2:].split(" #")[0].strip(), " ".join(printed)))
    return out


SESSIONS = sorted({(page.name, *s) for page in PAGES for s in sessions(page)})


def _trainable(args: list[str]) -> bool:
    """A documented training command --dry-run can check here: a registered model on registered data, no file."""
    if not args or args[0] != "train" or len(args) < 2 or args[1] not in models:
        return False
    for flag in ("--data", "-d", "--to"):
        if flag in args and args[args.index(flag) + 1] not in datasets:
            return False
    return not {"-c", "--config", "--resume", "--device"} & set(args)


def _shown_failing(page: str, line: str) -> bool:
    """Whether the page shows ``line`` failing on purpose (a quoted session that prints an error)."""
    return any(p == page and c == line and q.startswith("error:") for p, c, q in SESSIONS)


@pytest.mark.parametrize(
    ("page", "line"),
    [c for c in ALL if _trainable(argv(c[1])) and not PLACEHOLDER.search(c[1]) and not _shown_failing(*c)],
)
def test_every_documented_training_passes_a_dry_run(page: str, line: str, runner: CliRunner) -> None:
    result = runner.invoke(app, [*argv(line), "--dry-run"])
    assert result.exit_code == 0, f"{page}: `{line} --dry-run` fails: {result.output}"


@pytest.mark.parametrize(
    ("page", "line"), [c for c in ALL if tuple(argv(c[1])[:2]) in CHEAP or tuple(argv(c[1])[:1]) in CHEAP]
)
def test_every_cheap_documented_command_runs(
    page: str, line: str, runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    args = argv(line)
    if PLACEHOLDER.search(line) or any(a.startswith(("~", "runs/", "hf:")) for a in args):
        pytest.skip("names a run, a folder or a Hub repository of the reader's")
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, args)
    assert result.exit_code == 0, f"{page}: `{line}` fails: {result.output}"


def matches(quoted: str, printed: str) -> bool:
    """Whether ``printed`` says ``quoted``, where ``…`` in the quote stands for anything; whitespace is free."""
    parts = [re.escape(" ".join(p.split())) for p in quoted.split("…")]
    return (
        re.search(r"\s*".join(parts[:1]) + "".join(".*?" + p for p in parts[1:]), " ".join(printed.split())) is not None
    )


@pytest.mark.parametrize(("page", "line", "quoted"), SESSIONS)
def test_every_quoted_session_prints_that_today(
    page: str, line: str, quoted: str, runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    args = argv(line)
    if any(a.endswith((".toml", ".yaml")) for a in args):
        pytest.skip("needs the config file the page describes")
    if "┃" in quoted:
        pytest.skip("a table of what is installed: it depends on the machine")
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, args)
    assert matches(quoted, result.output), f"{page}: `{line}` printed\n{result.output}\nnot\n{quoted}"


def test_there_are_quoted_sessions() -> None:
    assert len(SESSIONS) >= 10
