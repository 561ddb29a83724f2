# syntax=docker/dockerfile:1
#
# porthole as an image:
#   docker build -t porthole .
#   docker run -p 8774:8774 porthole
# serves on every interface with the embedded defaults (sqlite in the
# /var/lib/porthole volume, builtin Keystone: admin/porthole-admin, ...).
# Configure with PORTHOLE_* variables; a seed is a mounted file:
#   docker run -p 8774:8774 -e PORTHOLE_SEED=/etc/porthole/seed.toml \
#     -v "$PWD/config/seed.example.toml:/etc/porthole/seed.toml:ro" porthole

FROM rust:1.95-slim-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src ./src
COPY migrations ./migrations
COPY config ./config
# The registry and target caches survive between builds (BuildKit).
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked \
    && cp target/release/porthole /usr/local/bin/porthole

FROM debian:bookworm-slim
# A fixed non-root user owning the data directory; nothing else is needed
# at run time (SQLite is built in, and the binary is its own health probe).
RUN groupadd --system --gid 10001 porthole \
    && useradd --system --no-log-init --uid 10001 --gid porthole \
       --home-dir /var/lib/porthole --shell /usr/sbin/nologin porthole \
    && mkdir -p /var/lib/porthole /etc/porthole \
    && chown porthole:porthole /var/lib/porthole
COPY --from=build /usr/local/bin/porthole /usr/local/bin/porthole
ENV PORTHOLE_LISTEN=0.0.0.0:8774 \
    PORTHOLE_DATA_DIR=/var/lib/porthole
VOLUME ["/var/lib/porthole"]
EXPOSE 8774
USER 10001:10001
WORKDIR /var/lib/porthole
HEALTHCHECK --interval=10s --timeout=5s --start-period=5s --retries=3 \
    CMD ["porthole", "healthcheck"]
ENTRYPOINT ["porthole"]
CMD ["serve"]
