"""The audit log: one row per action that changes or removes data for good (deletions)."""

from __future__ import annotations

from typing import Any

from flask import request
from flask_login import current_user
from sqlalchemy.orm import Session

from shared.db.models import AuditEvent


def record(session: Session, action: str, target: str, **details: Any) -> AuditEvent:
    """Add the event to ``session`` (committed with the change it describes)."""
    event = AuditEvent(actor=current_user.username if current_user.is_authenticated else "",
                       action=action, target=target,
                       details={"address": request.remote_addr or "", **details})
    session.add(event)
    return event
