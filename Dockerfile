# syntax=docker/dockerfile:1
# One image with the three binaries; docker-compose (or Kubernetes) picks the command per
# service. Multi-stage: the Rust toolchain stays in the build stage; the image is Debian slim with
# CA roots (outbound HTTPS, SMTP over TLS, S3), the binaries and a non-root user. PDF fonts are
# compiled into the binaries, so none are installed. No HEALTHCHECK: compose and Kubernetes probe
# /healthz and /readyz (port 8080 for the API, LONGSHORE_ADMIN_PORT 9090 for worker and
# scheduler).
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
# The `production` profile is `release` with fat LTO (Cargo.toml). Its line tables (about 160 MB
# per binary) are dropped here; function names stay for backtraces. The cache mounts keep
# crates.io downloads and the target folder between builds of the same builder.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    CARGO_PROFILE_PRODUCTION_STRIP=debuginfo \
    cargo build --profile production --locked \
      -p longshore-api -p longshore-worker -p longshore-scheduler --bins \
 && mkdir /out \
 && cp target/production/longshore-api target/production/longshore-worker \
       target/production/longshore-scheduler /out/

FROM debian:bookworm-slim
# Not pinned to a version: bookworm's archive keeps only the current ca-certificates.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/*
# A fixed numeric id, so Kubernetes' runAsNonRoot can check it (deploy/kubernetes uses 10001).
RUN groupadd --system --gid 10001 longshore \
 && useradd --system --uid 10001 --gid longshore --no-log-init --home-dir /var/lib/longshore longshore \
 && mkdir -p /var/lib/longshore \
 && chown longshore:longshore /var/lib/longshore
COPY --from=build /out/ /usr/local/bin/
USER 10001:10001
WORKDIR /var/lib/longshore
ENV LONGSHORE_HOST=0.0.0.0 LONGSHORE_DATA_DIR=/var/lib/longshore LONGSHORE_LOG_FORMAT=json
EXPOSE 8080 9090
CMD ["longshore-api", "serve"]
