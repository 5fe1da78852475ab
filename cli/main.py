"""`receiptflow`: one command, its subcommands grouped by concern in the modules beside this one.

- ``processes``: up, web, worker, trainer
- ``data``: db upgrade, requeue, recheck, submit, eval
- ``models``: train, versions, models download
- ``accounts``: users, tokens
"""

from __future__ import annotations

import click

from cli import accounts, data, models, processes


@click.group()
def cli() -> None:
    """ReceiptFlow: scanned receipts in, structured fields out."""


for command in (processes.up, processes.web, processes.worker, processes.trainer,
                data.db, data.requeue, data.recheck, data.submit, data.eval_,
                models.train, models.versions, models.models_group,
                accounts.users, accounts.tokens):
    cli.add_command(command)


if __name__ == "__main__":
    cli()
