"""One worker per GPU: `receiptflow worker --gpus all|0,1,...`.

A GPU host runs one worker process per card, each seeing only its card
(``CUDA_VISIBLE_DEVICES``), so a model is loaded once per card and a crash on one card leaves the
others serving. This process supervises them as `receiptflow up` does its children: one that
exits by itself is started again (``cli.services.Supervisor``), and SIGTERM or Ctrl-C stops all
of them cleanly. Across hosts nothing more is needed: every host's workers take tasks from the
same Redis queue and write to the same database (docker-compose.yml shows it).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys

import click

# What CUDA_VISIBLE_DEVICES takes: an index, or a GPU or MIG instance's UUID.
DEVICE_RE = re.compile(r"^(\d+|GPU-[0-9a-fA-F-]+|MIG-[0-9a-fA-F/-]+)$")


def detect() -> list[str]:
    """The indices of this machine's GPUs (nvidia-smi, else torch); [] when there are none."""
    smi = shutil.which("nvidia-smi")
    if smi:
        try:
            out = subprocess.run([smi, "--query-gpu=index", "--format=csv,noheader"],
                                 capture_output=True, text=True, timeout=30, check=True).stdout
            return [line.strip() for line in out.splitlines() if line.strip()]
        except (subprocess.SubprocessError, OSError):
            pass
    try:
        import torch
    except ImportError:
        return []
    return [str(i) for i in range(torch.cuda.device_count())]


def resolve(spec: str) -> list[str]:
    """``all`` or a comma-separated list of indices or UUIDs -> the devices, one per worker."""
    if spec.strip() == "all":
        found = detect()
        if not found:
            raise click.BadParameter("no GPU found on this machine (nvidia-smi and torch see "
                                     "none); name the cards, e.g. --gpus 0,1", param_hint="--gpus")
        return found
    devices = [d.strip() for d in spec.split(",") if d.strip()]
    bad = [d for d in devices if not DEVICE_RE.match(d)]
    if not devices or bad:
        raise click.BadParameter(f"give 'all' or GPU indices or UUIDs separated by commas, "
                                 f"e.g. 0,1 (not {', '.join(bad) or repr(spec)})",
                                 param_hint="--gpus")
    if len(set(devices)) != len(devices):
        raise click.BadParameter("a GPU is named twice: one worker per card",
                                 param_hint="--gpus")
    return devices


def run_per_gpu(devices: list[str], worker_args: list[str], env: dict[str, str]) -> None:
    """Start `receiptflow worker ARGS` once per device and keep them running until stopped."""
    from cli.services import Supervisor

    children = Supervisor(env, log=lambda line: click.echo(line, err=True))
    for device in devices:
        children.start(f"worker-gpu{device}", ["worker", *worker_args],
                       env={"CUDA_VISIBLE_DEVICES": device})
    click.echo(f"started {len(devices)} workers, one per GPU: {', '.join(devices)}")
    children.run("stopping the GPU workers...")
    sys.exit(0)
