# syntax=docker/dockerfile:1
# The longtask runner image: the container of every attempt's pod. Runs a Python task
# (LONGTASK_TASK=module:function) or a command (LONGTASK_COMMAND) and reports its progress.
# Build from the repository root:
#   docker build -f deploy/docker/runner.Dockerfile -t longtask/longtask-runner:0.1.0 .
# Task authors build FROM this image (docs/task-authors.md).
# BASE is a build argument so that a registry mirror or a digest-pinned base can be used.
ARG BASE=python:3.11-slim

FROM ${BASE} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
# Offline builds (no package index reachable) pass a pip.conf naming a folder of wheels
# mounted into the build: --build-arg PIP_CONFIG_FILE=/wheels/pip.conf (deploy/images/).
ARG PIP_CONFIG_FILE
WORKDIR /src
COPY pyproject.toml deploy/docker/requirements.py ./
# The runner's dependencies first, in a layer of their own: a change of the sources alone reuses
# it. Only the base ones (what `pip install longtask` installs, no extra): nothing of the
# operator's, the gateway's or the client's libraries. setuptools goes (pip builds packages in
# isolated environments; Python 3.12's venvs no longer have it); pip stays for task images.
RUN python -m venv /opt/longtask \
    && python requirements.py pyproject.toml >requirements.txt \
    && /opt/longtask/bin/pip install -r requirements.txt \
    && /opt/longtask/bin/pip uninstall -q -y setuptools
COPY README.md ./
COPY core core
COPY operator operator
COPY runner runner
COPY api api
COPY client client
COPY history history
COPY kubeclient kubeclient
COPY examples examples
# A virtual environment copied whole into the final stage: no compiler or pip cache ships.
# Every dependency is already there: this adds longtask itself (and checks none is missing).
# Bytecode is compiled here because the root filesystem is read-only at run time.
RUN /opt/longtask/bin/pip install . \
    && cp -r examples /opt/longtask/examples \
    && /opt/longtask/bin/python -m compileall -q /opt/longtask

FROM ${BASE}
COPY --from=build /opt/longtask /opt/longtask
# PYTHONPATH holds the examples (longtask_examples.*) and /app, where task images put their
# code. HOME and TMPDIR point at /tmp, the one writable place (an emptyDir in the pod).
ENV PATH=/opt/longtask/bin:$PATH \
    PYTHONPATH=/app:/opt/longtask/examples \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HOME=/tmp \
    TMPDIR=/tmp
WORKDIR /app
# The distroless "nonroot" uid: no passwd entry needed, never root.
USER 65532:65532
# The runner is PID 1 on purpose: it installs its own SIGTERM/SIGINT handlers (PID 1 gets no
# default signal actions), forwards SIGTERM to a command's whole process group and exits 143.
ENTRYPOINT ["longtask-runner"]
