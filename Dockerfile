# syntax=docker/dockerfile:1
# Build stage: the same tool versions `make setup` installs.
FROM rust:1.95-bookworm AS builder

ARG CARGO_LEPTOS_VERSION=0.3.8
ARG BINARYEN_VERSION=132

RUN apt-get update \
 && apt-get install -y --no-install-recommends nodejs npm \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /src
# The tools first, from Cargo.lock alone, so a source change does not
# reinstall them (cargo-leptos takes minutes to build).
COPY Cargo.lock ./

# make setup: wasm target, cargo-leptos, wasm-bindgen-cli (version from
# Cargo.lock) and wasm-opt from npm; then the release build.
RUN rustup target add wasm32-unknown-unknown \
 && cargo install cargo-leptos --version "${CARGO_LEPTOS_VERSION}" --locked --features no_downloads \
 && cargo install wasm-bindgen-cli --version "$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/"/, "", $3); print $3; exit }' Cargo.lock)" \
 && npm install --prefix /opt/tools --no-audit --no-fund "binaryen@${BINARYEN_VERSION}"

ENV PATH="/opt/tools/node_modules/.bin:${PATH}"
COPY . .
# Precompressed copies: the server sends foo.wasm.gz to browsers that accept gzip.
# fix-split-manifest: works around cargo-leptos 0.3.8 misnaming preloads, and drops
# toolchain-only custom sections from the wasm.
RUN cargo leptos build --release --split \
    && node frontend/fix-split-manifest.mjs target/site/pkg \
    && find target/site/pkg -type f \( -name '*.wasm' -o -name '*.js' -o -name '*.css' \) -exec gzip -9 -kf {} +

# Runtime stage: only the binary and the site.
FROM debian:bookworm-slim AS runtime

RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 meetmind \
 && useradd --system --uid 10001 --gid 10001 --home-dir /app --shell /usr/sbin/nologin meetmind \
 && mkdir -p /app/data \
 && chown meetmind:meetmind /app/data

WORKDIR /app
COPY --from=builder /src/target/release/meetmind /usr/local/bin/meetmind
# Leptos and the service worker read the hashed asset names from next to the binary.
COPY --from=builder /src/target/release/hash.txt /usr/local/bin/hash.txt
COPY --from=builder /src/target/site /app/site

ENV MEETMIND_SITE_ROOT=/app/site \
    MEETMIND_ADDR=0.0.0.0:3000 \
    MEETMIND_LOG_FORMAT=json \
    DATABASE_URL=sqlite:///app/data/meetmind.db

USER 10001:10001
EXPOSE 3000
VOLUME ["/app/data"]

HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD ["curl", "-fsS", "http://127.0.0.1:3000/healthz"]

ENTRYPOINT ["/usr/local/bin/meetmind"]
CMD ["serve"]
