# railwatch container image.
#
# Build with scripts/build-image.sh, which first makes the base images locally (scripts/make-base-image.sh:
# debootstrap'ed Debian bookworm minbase + iproute2 + the Node 24 runtime; no container registry involved).
#
# BUILD_MODE=source (default): the build stage runs `npm ci`, compiles TypeScript and prunes dev dependencies;
#   it needs the npm registry from inside `docker build`.
# BUILD_MODE=host: the context already holds dist/ and production-only node_modules/ (scripts/build-image.sh
#   --host-build prepares such a context); nothing is downloaded inside `docker build`.
ARG BASE_IMAGE=railwatch-base/node:24

FROM ${BASE_IMAGE}-build AS build
ARG BUILD_MODE=source
WORKDIR /src
COPY package.json package-lock.json ./
RUN if [ "$BUILD_MODE" = source ]; then npm ci --no-audit --no-fund; fi
COPY . .
# npm run build bundles agent/ into dist/ (scripts/build.mjs) and copies the pod-resources .proto beside it.
RUN set -eu; \
    if [ "$BUILD_MODE" = source ]; then \
      npm run build; \
      npm prune --omit=dev --no-audit --no-fund; \
    elif [ "$BUILD_MODE" = host ]; then \
      if [ ! -f dist/main.js ] || [ ! -d node_modules ]; then \
        echo "BUILD_MODE=host needs dist/ and node_modules/ in the build context" >&2; exit 1; \
      fi; \
    else \
      echo "unknown BUILD_MODE=$BUILD_MODE (source or host)" >&2; exit 1; \
    fi; \
    if [ -d node_modules/typescript ]; then echo "dev dependencies left in node_modules" >&2; exit 1; fi; \
    mkdir /app; \
    cp -a package.json package-lock.json bin dist node_modules /app/; \
    rm -rf /app/node_modules/.bin /app/node_modules/.package-lock.json; \
    find /app/node_modules -mindepth 1 -maxdepth 1 -type d -empty -delete

FROM ${BASE_IMAGE}
ARG BASE_IMAGE
ARG VERSION=0.1.0
ARG REVISION=unknown
ARG CREATED=unknown
LABEL org.opencontainers.image.title="railwatch" \
      org.opencontainers.image.description="Per-node agent that inventories, exports and checks SR-IOV/RDMA rails on GPU nodes" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.base.name="${BASE_IMAGE}"
# An unprivileged default user. inventory, doctor and serve work as any user on a host's world-readable sysfs;
# only the kubelet's pod-resources socket (root-owned, mode 0600) needs uid 0, which the DaemonSet asks for
# explicitly (runAsUser: 0, every capability dropped). See manifests/base/daemonset.yaml.
RUN echo 'railwatch:x:65532:65532:railwatch:/nonexistent:/usr/sbin/nologin' >>/etc/passwd \
 && echo 'railwatch:x:65532:' >>/etc/group
COPY --from=build /app /app
WORKDIR /app
ENV NODE_ENV=production
# glibc malloc: fixed mmap and trim thresholds, so the large buffers of each scrape are returned to the kernel when
# freed instead of fragmenting the main heap (SERVE_MALLOC_ENV in agent/serve-flags.ts; ~2 MiB at 60 s on 8x128)
ENV MALLOC_MMAP_THRESHOLD_=131072 MALLOC_TRIM_THRESHOLD_=131072
USER 65532:65532
EXPOSE 9839
# Memory (SERVE_NODE_FLAGS in agent/serve-flags.ts): a small V8 young generation and a capped old space (the live
# heap is 10-20 MiB; without the caps V8 lets the garbage of scans grow the heap and the RSS far beyond it), V8's
# lite mode (no optimizing compiler: about 18 MiB less resident code and feedback, scans about 1.4x slower, still
# well inside the budget; it also disables WebAssembly, which nothing on railwatch's in-cluster path uses), and
# Node's bootstrap without its startup snapshot (2.5-4 MiB less of the node binary resident, under 0.1 s more startup).
# See docs/metrics.md for the figures.
ENTRYPOINT ["node", "--max-semi-space-size=1", "--max-old-space-size=64", "--lite-mode", "--no-node-snapshot", "/app/dist/main.js"]
CMD ["serve"]
