# syntax=docker/dockerfile:1
# The orderflow binary on a slim Debian, as a non-root user.
#   docker build -t orderflow .                      # from source (cargo-chef caches the dependencies)
#   docker run -p 8080:8080 -p 9090:9090 \
#     -e ORDERFLOW_AUTH__JWT_SECRET=... -e ORDERFLOW_BOOTSTRAP__ADMIN_PASSWORD=... orderflow
# Build arguments:
#   RUST_IMAGE    the toolchain image the binary is built in
#   RUNTIME_BASE  the image it runs on (any Debian/Ubuntu with apt; glibc at least the builder's)
# The `runtime-prebuilt` target packages a binary built outside (target/release/orderflow
# in the build context) on the same runtime: CI builds and runs that one, since it has
# the binary already and no registry to pull a Rust image from.
ARG RUST_IMAGE=docker.io/library/rust:1.95-bookworm
ARG RUNTIME_BASE=docker.io/library/debian:bookworm-slim
# checkov:skip=CKV_DOCKER_7:Both bases are build arguments whose defaults carry pinned tags (rust:1.95, debian bookworm)

FROM ${RUST_IMAGE} AS chef
RUN cargo install cargo-chef --locked --version 0.1.73
WORKDIR /src

FROM chef AS planner
COPY . .
RUN cargo chef prepare --recipe-path recipe.json

FROM chef AS build
COPY --from=planner /src/recipe.json recipe.json
# Dependencies only: this layer is reused until Cargo.toml or Cargo.lock change.
RUN cargo chef cook --release --locked --recipe-path recipe.json -p orderflow
COPY . .
RUN cargo build --release --locked -p orderflow

FROM ${RUNTIME_BASE} AS runtime-base
# ca-certificates: TLS to AWS, Atlas, SES and an OTLP collector. Not pinned to a
# version on purpose: the trust store must follow the distribution's updates, and a
# pinned version disappears from the archive.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && apt-get clean && rm -rf /var/lib/apt/lists/* /var/log/apt /var/log/dpkg.log \
    && useradd --system --uid 10001 --user-group --home-dir /app --shell /usr/sbin/nologin orderflow \
    && mkdir -p /app/var/mail \
    && chown -R orderflow:orderflow /app
WORKDIR /app
# Reachable from outside the container; the ops listener serves /healthz, /readyz and
# /metrics for probes and Prometheus. The file mailer writes under the user's /app/var.
ENV ORDERFLOW_HTTP__BIND=0.0.0.0:8080 \
    ORDERFLOW_OPS__BIND=0.0.0.0:9090 \
    ORDERFLOW_MAIL__DIR=/app/var/mail \
    ORDERFLOW_LOG__FORMAT=json
USER 10001:10001
EXPOSE 8080 9090
VOLUME ["/app/var"]
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
    CMD ["/usr/local/bin/orderflow", "healthcheck"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/orderflow"]
CMD ["run"]

FROM runtime-base AS runtime-prebuilt
COPY --chmod=0755 target/release/orderflow /usr/local/bin/orderflow

FROM runtime-base AS runtime
COPY --from=build --chmod=0755 /src/target/release/orderflow /usr/local/bin/orderflow
