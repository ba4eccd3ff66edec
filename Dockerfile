# FerroMQ servers (docs/packaging.md, "Docker"). Build from the repository root:
#   docker build -t ferromq .
#   docker run -d --name namesrv -p 9876:9876 ferromq
#   docker run -d --name broker -p 10911:10911 -p 10909:10909 ferromq \
#     mqbroker -c /opt/ferromq/conf/broker.conf -n namesrv:9876
# (on a user-defined network; set brokerIP1 to an address clients reach the broker at).

FROM rust:1.95.0-bookworm AS build
# The image's toolchain; rust-toolchain.toml would add the wasm32 target and components.
ENV RUSTUP_TOOLCHAIN=1.95.0 CARGO_TARGET_DIR=/target
WORKDIR /src
COPY . .
RUN cargo build --locked --profile dist \
      -p ferromq-namesrv -p ferromq-broker -p ferromq-tools -p ferromq-dashboard --bins \
 && mkdir -p /out/bin \
 && for b in mqnamesrv mqbroker mqadmin mqbench mqdashboard; do \
      install -m 755 "/target/dist/$b" /out/bin/ && strip "/out/bin/$b"; \
    done

FROM debian:bookworm-slim
RUN useradd --create-home --uid 10001 ferromq
COPY --from=build /out/bin/ /opt/ferromq/bin/
COPY conf/broker.conf conf/namesrv.properties conf/plain_acl.yml /opt/ferromq/conf/
COPY conf/2m-noslave /opt/ferromq/conf/2m-noslave
COPY conf/2m-2s-async /opt/ferromq/conf/2m-2s-async
COPY conf/2m-2s-sync /opt/ferromq/conf/2m-2s-sync
ENV PATH=/opt/ferromq/bin:$PATH
USER ferromq
WORKDIR /home/ferromq
# The broker's store (storePathRootDir defaults to ~/store) and the name server's KV file.
VOLUME ["/home/ferromq/store"]
# Name server; broker fast port (listenPort - 2), listen port, HA port (listenPort + 1).
EXPOSE 9876 10909 10911 10912
CMD ["mqnamesrv"]
