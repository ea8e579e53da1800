"""The command line: the `main` group and one module per command group."""

from __future__ import annotations

from . import bot, crs, db, draws, history, ops, outbox, roster, serve, subscribers
from .main import main

for _module in (draws, history, crs, subscribers, roster, outbox, ops, serve, db, bot):
    for _command in _module.COMMANDS:
        main.add_command(_command)

__all__ = ["main"]
