# syntax=docker/dockerfile:1
# ---- build --------------------------------------------------------------------------------------------------
# Base images are pinned to exact versions (bump them on purpose, together with rust-version).
FROM rust:1.95.0-bookworm AS builder
WORKDIR /build

COPY . .
# BuildKit cache mounts keep the registry and the compiled dependencies between builds, so a change
# to our sources recompiles only our crates.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/usr/local/cargo/git \
    --mount=type=cache,target=/build/target \
    cargo build --release --locked --bin waba-bot \
 && cp target/release/waba-bot /usr/local/bin/waba-bot

# ---- runtime ------------------------------------------------------------------------------------------------
FROM debian:12.12-slim

RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl tzdata \
 && rm -rf /var/lib/apt/lists/*

RUN groupadd --system --gid 10001 waba \
 && useradd --system --uid 10001 --gid waba --home-dir /app --shell /usr/sbin/nologin waba \
 && mkdir -p /app/data \
 && chown -R waba:waba /app

COPY --from=builder /usr/local/bin/waba-bot /usr/local/bin/waba-bot

WORKDIR /app
ENV DATA_DIR=/app/data \
    PORT=8081
EXPOSE 8081
USER waba

HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD curl -fsS http://127.0.0.1:8081/readyz || exit 1

ENTRYPOINT ["/usr/local/bin/waba-bot"]
CMD ["serve"]
