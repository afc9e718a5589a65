# ---- build --------------------------------------------------------------------------------------------------
FROM rust:1.95-bookworm AS builder
WORKDIR /build

# Dependencies first, so this layer is reused while only our sources change. Cargo needs a target in
# every package to read the manifests; empty stubs stand in for the sources until they are copied.
COPY Cargo.toml Cargo.lock ./
COPY entity/Cargo.toml entity/Cargo.toml
COPY migration/Cargo.toml migration/Cargo.toml
RUN mkdir -p src tests/api entity/src migration/src \
 && echo 'fn main() {}' > src/main.rs \
 && touch src/lib.rs entity/src/lib.rs migration/src/lib.rs \
 && echo 'fn main() {}' > migration/src/main.rs \
 && echo 'fn main() {}' > tests/api/main.rs \
 && cargo fetch --locked \
 && rm -rf src tests entity/src migration/src

COPY . .
RUN cargo build --release --locked --bin waba-bot \
 && cp target/release/waba-bot /usr/local/bin/waba-bot

# ---- runtime ------------------------------------------------------------------------------------------------
FROM debian:bookworm-slim

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
