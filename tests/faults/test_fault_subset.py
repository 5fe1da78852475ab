"""The fault table's fast subset, run in CI: a PostgreSQL cluster and a Redis server of the
test's own, real web and worker processes, one fault per row, and every receipt accounted for.

The full table (more receipts, longer outages, every row) is `python benchmarks/fault_table.py`;
its figures are in the README.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))

from faults.harness import cluster, postgres_bin  # noqa: E402
from faults.scenarios import SUITE_ENV, run, sample_images, table  # noqa: E402

pytestmark = pytest.mark.slow

SUBSET = ["worker-kill9", "redis-kill9-empty", "postgres-down-43s", "web-kill9-mid-upload"]


def _servers_available() -> bool:
    try:
        postgres_bin("initdb")
    except FileNotFoundError:
        return False
    return shutil.which("redis-server") is not None


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    if not _servers_available():
        if os.environ.get("RECEIPTFLOW_TEST_REQUIRE_SERVICES") == "1":
            pytest.fail("the fault tests need PostgreSQL's server programs and redis-server")
        pytest.skip("PostgreSQL's server programs or redis-server are not installed")
    root = tmp_path_factory.mktemp("faults")
    with cluster(root) as (pg, rd):
        yield root, pg, rd


@pytest.mark.parametrize("scenario", [s for s in table(receipts_scale=0.15, outage_scale=0.25)
                                      if s.name in SUBSET], ids=lambda s: s.name)
def test_no_receipt_is_lost_duplicated_or_stranded(servers, scenario) -> None:  # type: ignore[no-untyped-def]
    root, pg, rd = servers
    row = run(scenario, pg, rd, root, sample_images(), SUITE_ENV, recovery_s=150)
    assert (row.lost, row.duplicated, row.stranded, row.failed) == (0, 0, 0, 0), row
    assert row.done == row.receipts
