"""The command line: the `main` group and one module per command group."""

from __future__ import annotations

from . import bot, check, crs, db, draws, forecasting, history, ops, outbox, roster, serve, subscribers
from .main import main

for _module in (check, draws, history, forecasting, crs, subscribers, roster, outbox, ops, serve, db, bot):
    for _command in _module.COMMANDS:
        main.add_command(_command)

__all__ = ["main"]
