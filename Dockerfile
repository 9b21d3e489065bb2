# The orderflow binary on a slim Debian. Build: docker build -t orderflow .
FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p orderflow

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 orderflow
COPY --from=build /src/target/release/orderflow /usr/local/bin/orderflow
COPY config /app/config
WORKDIR /app
USER orderflow
EXPOSE 8080
HEALTHCHECK --interval=5s --timeout=2s CMD curl -fsS http://127.0.0.1:8080/healthz || exit 1
ENTRYPOINT ["orderflow"]
CMD ["run"]
