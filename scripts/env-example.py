"""Write .env.example from the settings themselves (shared/config.py): every variable the code
reads, with its description and default, behind the values docker-compose.yml requires.

    python scripts/env-example.py          # rewrites .env.example
"""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from shared.config import Settings  # noqa: E402

HEAD = """\
# ReceiptFlow's settings for docker compose: copy to .env, then set the three required values.
# Every variable the code reads is here (made by scripts/env-example.py from shared/config.py;
# tests/test_docker_compose.py keeps it complete); lines left commented keep the default shown.
# The same names work outside compose.

# --- required by docker-compose.yml ------------------------------------------------------------
# A long random value, the same for every web process:
#   python -c "import secrets; print(secrets.token_hex(32))"
RECEIPTFLOW_SECRET_KEY=
# The database password (URL-safe characters, or percent-encode them in DATABASE_URL).
POSTGRES_PASSWORD=
# Flower's log-in, user:password.
FLOWER_BASIC_AUTH=

# --- deployment ---------------------------------------------------------------------------------
# Where the GPU workers find model weights: the `models` volume (filled by
# `docker compose --profile download run --rm models`), or a host folder holding checkpoints.
# RECEIPTFLOW_MODELS=models
# RECEIPTFLOW_INTERNVL_MODEL=/models/InternVL3-2B-hf

# --- settings (shared/config.py) ----------------------------------------------------------------
# Set by docker-compose.yml itself: DATABASE_URL, REDIS_URL, RECEIPTFLOW_DATA_DIR and
# RECEIPTFLOW_STORAGE_DIR.
"""
# Listed above, with what compose needs of them.
ABOVE = {"secret_key", "internvl_model"}
ALIASES = {"database_url": "DATABASE_URL", "redis_url": "REDIS_URL"}


def render() -> str:
    out = [HEAD]
    for name, field in Settings.model_fields.items():
        if name in ABOVE:
            continue
        default = field.default
        shown = "" if default is None else str(default).lower() if isinstance(default, bool) \
            else str(default)
        out.append("")
        out += ["# " + line for line in textwrap.wrap((field.description or "").strip(), 96)]
        out.append(f"# {ALIASES.get(name, 'RECEIPTFLOW_' + name.upper())}={shown}")
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    (ROOT / ".env.example").write_text(render())
