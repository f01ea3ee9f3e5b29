"""The ``genzoo`` command line: thin Typer commands over ``genzoo.api``.

``app`` (in ``genzoo.cli.app``) turns a user's mistake (a ``GenzooError``) into one paragraph on stderr and the
error's exit code, never a traceback. Each module below adds its commands to it; nothing imports torch at module
level, so ``genzoo --help`` and ``genzoo list`` stay instant.
"""

from genzoo.cli import data, evaluate, generate, inspect, plugins, report, train, translate, zoo
from genzoo.cli.app import app, main

__all__ = ["app", "data", "evaluate", "generate", "inspect", "main", "plugins", "report", "train", "translate", "zoo"]
