# One image with the three binaries; docker-compose picks the command per service.
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --profile production --locked --bins

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/target/production/longshore-api /src/target/production/longshore-worker /src/target/production/longshore-scheduler /usr/local/bin/
RUN useradd --system --home /var/lib/longshore longshore && mkdir -p /var/lib/longshore && chown longshore /var/lib/longshore
USER longshore
WORKDIR /var/lib/longshore
ENV LONGSHORE_HOST=0.0.0.0 LONGSHORE_DATA_DIR=/var/lib/longshore LONGSHORE_LOG_FORMAT=json
EXPOSE 8080 9090
CMD ["longshore-api", "serve"]
