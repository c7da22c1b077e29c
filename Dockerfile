# One image for the operator and every Job: `tushare-rollout operator`, `tushare-rollout job ...`.
#   docker build -t tushare-rollout:0.1.0 .
# The dependencies come from requirements.lock (pinned, hash-checked), generated from pyproject.toml
# with `pip-compile --generate-hashes --strip-extras --output-file requirements.lock pyproject.toml`.
# It runs as a non-root user and needs no writable root filesystem (only /tmp, an emptyDir in the chart).

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
RUN python -m venv /opt/venv
COPY requirements.lock ./
RUN /opt/venv/bin/pip install --require-hashes --no-deps -r requirements.lock
COPY pyproject.toml README.md ./
COPY migrations ./migrations
COPY tushare_rollout ./tushare_rollout
RUN /opt/venv/bin/pip install --no-deps . \
 && /opt/venv/bin/python -m compileall -q /opt/venv/lib

FROM ${PYTHON_IMAGE}
ARG VERSION=0.1.0
ARG SOURCE=""
LABEL org.opencontainers.image.title="tushare-rollout" \
      org.opencontainers.image.description="Kubernetes operator that rolls Tushare Pro market data into PostgreSQL in gated phases" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.source="${SOURCE}"
RUN groupadd --system --gid 10001 app && useradd --system --uid 10001 --gid app --no-create-home app
COPY --from=build /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 HOME=/tmp
USER 10001:10001
ENTRYPOINT ["tushare-rollout"]
CMD ["operator"]
