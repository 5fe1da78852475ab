# The image of every ReceiptFlow service: web (gunicorn), workers, trainer, flower, migrations.
# Each compose service gives the full command; the default below serves the web app.
#
#   docker build -t receiptflow:cpu .                                       # web, CPU workers, Flower
#   docker build --build-arg EXTRAS=ocr,serve,gpu -t receiptflow:gpu .     # GPU workers, trainer
#
# EXTRAS picks the optional dependency groups from pyproject.toml: ocr (the CPU engine), serve
# (gunicorn, Flower), gpu (torch with CUDA, transformers, peft, bitsandbytes: several GB).

ARG PYTHON_IMAGE=python:3.11-slim

FROM ${PYTHON_IMAGE} AS build
ARG EXTRAS=ocr,serve
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src
COPY . .
RUN pip install ".[${EXTRAS}]"

FROM ${PYTHON_IMAGE}
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    RECEIPTFLOW_DATA_DIR=/data \
    RECEIPTFLOW_STORAGE_DIR=/data/files
# A fixed non-root uid/gid, so host bind mounts can be chowned to match. /data/files and /models
# exist in the image and belong to that user: a new named volume mounted there starts with this
# owner.
RUN groupadd --system --gid 10001 receiptflow \
    && useradd --system --uid 10001 --gid receiptflow --create-home --home-dir /home/receiptflow \
        --shell /usr/sbin/nologin receiptflow \
    && mkdir -p /data/files /models \
    && chown -R receiptflow:receiptflow /data /models
# Same path as in the build stage: the venv's console scripts name /opt/venv/bin/python.
COPY --from=build /opt/venv /opt/venv
USER receiptflow
WORKDIR /home/receiptflow
EXPOSE 8000
CMD ["gunicorn", "--bind", "0.0.0.0:8000", "--workers", "2", "--access-logfile", "-", "web:create_app()"]
