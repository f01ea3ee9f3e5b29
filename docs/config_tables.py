"""Regenerate the field tables of docs/configuration.md from the pydantic config classes.

A table sits between ``<!-- table: module:Class -->`` and ``<!-- /table -->``; everything between the markers is
replaced. Run from the repository root after changing a config class (without plugins, so that the lists of
registered losses show only the built-in ones):

    GENZOO_DISABLE_PLUGINS=1 python docs/config_tables.py docs/configuration.md

``--check`` changes nothing and exits with 1 when a table is out of date (the tests run it).
"""

from __future__ import annotations

import importlib
import re
import sys
import types
import typing
from pathlib import Path

from pydantic import AfterValidator, BaseModel
from pydantic.fields import FieldInfo

from genzoo.registry import loss_names

MARKED = re.compile(r"<!-- table: (\S+) -->.*?<!-- /table -->", flags=re.S)


def _loss_kind(info: FieldInfo) -> str | None:
    """The loss kind a ``ReconLoss``-style field is validated against, read from its validator's closure."""
    for meta in info.metadata:
        if isinstance(meta, AfterValidator):
            for cell in meta.func.__closure__ or ():
                if isinstance(cell.cell_contents, str):
                    return cell.cell_contents
    return None


def _type_name(annotation: object) -> str:
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Literal:
        return "str"
    if origin in (typing.Union, types.UnionType):
        return " \\| ".join(_type_name(a) for a in args)
    if origin in (list, tuple, dict):
        return f"{origin.__name__}[{', '.join(_type_name(a) for a in args)}]"
    if annotation is type(None):
        return "null"
    return annotation.__name__ if isinstance(annotation, type) else str(annotation)


def _allowed(cls: type[BaseModel], name: str, info: FieldInfo) -> str:
    out = []
    if typing.get_origin(info.annotation) is typing.Literal:
        out.append(", ".join(f"`{a}`" for a in typing.get_args(info.annotation)))
    kind = _loss_kind(info)
    if kind:
        out.append(f"a registered `{kind}` loss: " + ", ".join(f"`{n}`" for n in loss_names(kind)))
    if name == "image_size":
        out.append(f"a power of two, ≥ {cls.min_image_size}")  # type: ignore[attr-defined]
    if name == "device":
        out.append("`auto`, `cpu`, `cuda`, `cuda:N`, `mps`")
    for meta in info.metadata:
        for attr, symbol in (("gt", ">"), ("ge", "≥"), ("lt", "<"), ("le", "≤")):
            value = getattr(meta, attr, None)
            if value is not None:
                out.append(f"{symbol} {value}")
        least = getattr(meta, "min_length", None)
        if least is not None:
            out.append(f"at least {least} item{'s' if least != 1 else ''}")
    return ", ".join(out)


def _default(info: FieldInfo) -> str:
    value = info.default
    if isinstance(value, BaseModel):
        return f"see {type(value).__name__}"
    if value is None:
        return "`null`"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, str):
        return f"`{value}`"
    return f"`{value!r}`"


def table(cls: type[BaseModel]) -> str:
    rows = ["| field | type | default | allowed | meaning |", "|---|---|---|---|---|"]
    for name, info in cls.model_fields.items():
        cells = [f"`{name}`", _type_name(info.annotation), _default(info), _allowed(cls, name, info)]
        rows.append(f"| {' | '.join(cells)} | {info.description or ''} |")
    return "\n".join(rows)


def fill(text: str) -> str:
    def replace(match: re.Match[str]) -> str:
        module, name = match.group(1).rsplit(":", 1)
        cls = getattr(importlib.import_module(module), name)
        return f"<!-- table: {match.group(1)} -->\n{table(cls)}\n<!-- /table -->"

    return MARKED.sub(replace, text)


def main() -> None:
    """Fill the tables of the files given (default docs/configuration.md); with ``--check``, only report files whose
    tables are out of date and exit with 1 if there are any."""
    check = "--check" in sys.argv
    stale = []
    for arg in [a for a in sys.argv[1:] if a != "--check"] or ["docs/configuration.md"]:
        path = Path(arg)
        text = path.read_text(encoding="utf-8")
        new = fill(text)
        if new != text and not check:
            path.write_text(new, encoding="utf-8")
        if new != text:
            stale.append(path)
        print(f"{path}: {('out of date' if check else 'updated') if new != text else 'up to date'}")
    if check and stale:
        sys.exit(1)


if __name__ == "__main__":
    main()
