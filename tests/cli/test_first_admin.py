"""`receiptflow up` on an empty installation creates an admin to log in with."""

from __future__ import annotations

from pathlib import Path

from shared.db.migrate import upgrade
from shared.db.session import session_scope
from web.auth.users import authenticate, ensure_first_admin


def test_first_admin_only_on_an_empty_installation(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    upgrade(url)
    with session_scope(url) as session:
        password = ensure_first_admin(session)
    assert password and len(password) >= 12
    with session_scope(url) as session:
        user = authenticate(session, "admin", password)
        assert user is not None and user.role.value == "admin"
        assert ensure_first_admin(session) is None  # never a second one
