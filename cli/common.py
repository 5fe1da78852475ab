"""What the `receiptflow` commands share: checked settings, durations on the command line."""

from __future__ import annotations

from datetime import timedelta

import click

from shared.config import ConfigError, Settings, get_settings


def checked_settings() -> Settings:
    """The settings, or a clean command-line error naming the bad variable."""
    try:
        return get_settings()
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc


def duration(text: str | None, option: str) -> timedelta | None:
    """'90s', '10m', '2h', '1d' or a number of seconds."""
    if text is None:
        return None
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    number, unit = (text[:-1], text[-1]) if text[-1:] in units else (text, "s")
    try:
        return timedelta(seconds=float(number) * units[unit])
    except ValueError:
        raise click.BadParameter(f"{text!r}: give a number with s, m, h or d",
                                 param_hint=option) from None
