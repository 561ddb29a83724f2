# porthole as an image:
#   docker build -t porthole .
#   docker run -p 8774:8774 porthole
# serves on every interface with the embedded defaults (sqlite in the
# /var/lib/porthole volume, builtin Keystone: admin/porthole-admin, ...).
# Configure with PORTHOLE_* variables; a seed is a mounted file:
#   docker run -p 8774:8774 -e PORTHOLE_SEED=/etc/porthole/seed.toml \
#     -v "$PWD/config/seed.example.toml:/etc/porthole/seed.toml:ro" porthole
# More recipes (read-only, compose, PostgreSQL): README, "Container image".
#
# The base images are build arguments with the public defaults; a machine
# without a registry gives local stand-ins (see .ci/build-image). BINARY
# picks where the binary comes from: "build" (the default) compiles it in
# the build stage; "prebuilt" takes an already built `porthole` from the
# root of the build context, into the same runtime stage.
ARG BUILD_BASE=rust:1.95-slim-bookworm
ARG RUNTIME_BASE=debian:bookworm-slim
ARG BINARY=build

FROM ${BUILD_BASE} AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src ./src
COPY migrations ./migrations
COPY config ./config
# The registry and target caches survive between builds (BuildKit). The
# image's binary has no debug info and no symbols (10 MB, not 80 MB).
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    CARGO_PROFILE_RELEASE_DEBUG=0 CARGO_PROFILE_RELEASE_STRIP=symbols \
    cargo build --release --locked \
    && mkdir -p /out \
    && cp target/release/porthole /out/porthole

# .ci/build-image: the host's release binary, stripped, as the context.
FROM scratch AS prebuilt
COPY porthole /out/porthole

# Only the stage named by BINARY is built.
FROM ${BINARY} AS binary

FROM ${RUNTIME_BASE}
# A fixed non-root user owning the data directory; nothing else is needed
# at run time (SQLite is built in, and the binary is its own health probe).
RUN groupadd --system --gid 10001 porthole \
    && useradd --system --no-log-init --uid 10001 --gid porthole \
       --home-dir /var/lib/porthole --shell /usr/sbin/nologin porthole \
    && mkdir -p /var/lib/porthole /etc/porthole \
    && chown porthole:porthole /var/lib/porthole
COPY --from=binary /out/porthole /usr/local/bin/porthole
# The drain after SIGTERM ends before `docker stop`'s 10 s are up.
ENV PORTHOLE_LISTEN=0.0.0.0:8774 \
    PORTHOLE_DATA_DIR=/var/lib/porthole \
    PORTHOLE_SHUTDOWN_GRACE=8
VOLUME ["/var/lib/porthole"]
EXPOSE 8774
USER 10001:10001
WORKDIR /var/lib/porthole
HEALTHCHECK --interval=2s --timeout=3s --start-period=10s --retries=3 \
    CMD ["porthole", "healthcheck"]
ENTRYPOINT ["porthole"]
CMD ["serve"]
