# syntax=docker/dockerfile:1
# The api image: one static binary FROM scratch, with CA certificates, running as a
# numeric non-root user. The same image serves the api, the migration Job, the init
# steps and the `helm test` pod (`api serve | migrate | wait-db | smoke`).
#
# Two ways to the binary, one final stage (so they cannot drift):
#   docker build .                                   compiles in the `compiled` stage (the
#       web app in the `web` stage)
#   docker build --build-arg BINARY_SOURCE=prebuilt  packages target/image/ (built on the
#       host by `cargo xtask build`, which works air-gapped: no base image to pull)
ARG BINARY_SOURCE=compiled
ARG RUST_VERSION=1.95
# 24: its npm 11 installs the lockfile as it was made (npm 10 cannot install Vite 8).
ARG NODE_VERSION=24

# The web app the api embeds (web/dist), from the committed lockfile.
FROM docker.io/library/node:${NODE_VERSION}-bookworm AS web
WORKDIR /src/web
COPY web/package.json web/package-lock.json web/.npmrc ./
RUN npm ci --no-audit --no-fund
COPY web ./
RUN npm run build

FROM docker.io/library/rust:${RUST_VERSION}-bookworm AS compiled
WORKDIR /src
# SQLX_OFFLINE: the queries are checked against api/.sqlx, with no database at build time.
ENV RUSTFLAGS="-C target-feature=+crt-static" CARGO_TARGET=x86_64-unknown-linux-gnu SQLX_OFFLINE=true
# Dependencies first, against stub sources: a code change rebuilds only our crates.
COPY Cargo.toml Cargo.lock ./
COPY api/Cargo.toml api/
COPY smoke/Cargo.toml smoke/
COPY xtask/Cargo.toml xtask/
COPY kube-test-server/Cargo.toml kube-test-server/
RUN mkdir -p api/src smoke/src xtask/src kube-test-server/src \
 && echo 'fn main() {}' > api/src/main.rs && touch api/src/lib.rs smoke/src/lib.rs \
 && echo 'fn main() {}' > xtask/src/main.rs && touch kube-test-server/src/lib.rs \
 && cargo build --release --locked --package api --target "$CARGO_TARGET" \
 && rm -rf api/src smoke/src
COPY api api
COPY smoke smoke
COPY --from=web /src/web/dist web/dist
RUN touch api/src/main.rs api/src/lib.rs smoke/src/lib.rs \
 && cargo build --release --locked --package api --target "$CARGO_TARGET" \
 && mkdir /out \
 && cp "target/$CARGO_TARGET/release/api" /out/api \
 && cp /etc/ssl/certs/ca-certificates.crt /out/ca-certificates.crt

FROM scratch AS prebuilt
COPY target/image/api target/image/ca-certificates.crt /out/

FROM ${BINARY_SOURCE} AS binary

FROM scratch AS runtime
ARG VERSION=unknown
ARG REVISION=unknown
ARG CREATED=unknown
LABEL org.opencontainers.image.title="api" \
      org.opencontainers.image.description="User-management and banking service with its web app: Salvo on tokio, PostgreSQL through sqlx" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}"
COPY --from=binary /out/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=binary /out/api /usr/local/bin/api
USER 10001:10001
EXPOSE 8000
ENTRYPOINT ["/usr/local/bin/api"]
CMD ["serve"]
