# Prometheus from Debian 12's own `prometheus` package, for the `monitoring`
# profile of docker/compose.yml. docker/build-prometheus-image.sh builds it
# without pulling any image: BASE is then a Debian 12 minbase tree it made
# with debootstrap from Debian's archive (strata-debian:bookworm). Any
# Debian 12 image you already have works as BASE too (debian:bookworm-slim).
#   docker/build-prometheus-image.sh [TAG]      (default strata-prometheus:latest)
# The configuration is mounted by compose.yml: /etc/strata-prometheus/
# prometheus.yml (docker/prometheus.yml) and strata-rules.yml beside it.
ARG BASE=strata-debian:bookworm
FROM ${BASE}
# No service may start during the build (the package's postinst would try).
RUN printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod 0755 /usr/sbin/policy-rc.d \
 && apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends prometheus \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*.deb \
 && mkdir -p /prometheus /etc/strata-prometheus \
 && chown prometheus:prometheus /prometheus
USER prometheus
VOLUME /prometheus
EXPOSE 9090
ENTRYPOINT ["/usr/bin/prometheus"]
CMD ["--config.file=/etc/strata-prometheus/prometheus.yml", "--storage.tsdb.path=/prometheus", \
     "--web.listen-address=0.0.0.0:9090"]
