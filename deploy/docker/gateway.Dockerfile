# syntax=docker/dockerfile:1
# The longtask gateway image: the FastAPI gateway: REST API, live progress over SSE, /metrics, on port 8000.
# Build from the repository root:
#   docker build -f deploy/docker/gateway.Dockerfile -t longtask/longtask-gateway:0.1.0 .
# BASE is a build argument so that a registry mirror or a digest-pinned base can be used.
ARG BASE=python:3.11-slim

FROM ${BASE} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
# Offline builds (no package index reachable) pass a pip.conf naming a folder of wheels
# mounted into the build: --build-arg PIP_CONFIG_FILE=/wheels/pip.conf (deploy/images/).
ARG PIP_CONFIG_FILE
WORKDIR /src
COPY pyproject.toml deploy/docker/requirements.py ./
# The dependencies of longtask[gateway] first, in a layer of their own: a change of the
# sources alone reuses it. Only the gateway extra: none of the other parts' libraries.
RUN python -m venv /opt/longtask \
    && python requirements.py pyproject.toml gateway >requirements.txt \
    && /opt/longtask/bin/pip install -r requirements.txt
COPY README.md ./
COPY core core
COPY operator operator
COPY runner runner
COPY api api
COPY client client
COPY history history
COPY kubeclient kubeclient
# A virtual environment copied whole into the final stage: no compiler or pip cache ships.
# Every dependency is already there: this adds longtask itself (and checks the extra is complete).
RUN /opt/longtask/bin/pip install '.[gateway]'

FROM ${BASE}
COPY --from=build /opt/longtask /opt/longtask
# Bytecode was compiled at install time; the root filesystem is read-only at run time.
ENV PATH=/opt/longtask/bin:$PATH PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1
USER 10001:10001
EXPOSE 8000
ENTRYPOINT ["longtask-gateway"]
