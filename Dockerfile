# syntax=docker/dockerfile:1
# svid-agent image: `docker build -t svid-agent:dev .` (see docs/kubernetes.md).
# Debian slim rather than alpine: glibc, and koffi's linux-x64/arm64 prebuilt binaries for it.
# Node.js 24, an LTS line with security fixes until April 2028 (Node 20's ended in April 2026);
# the code also runs on 20, where it is developed and tested (docs/decisions.md).
ARG NODE_IMAGE=node:24-bookworm-slim

# Stage 1: bundle the TypeScript sources to dist/ (scripts/build.ts: esbuild, one entry file and
# the lazily loaded chunks beside it).
FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci
COPY tsconfig.json ./
COPY scripts ./scripts
COPY src ./src
RUN npm run build

# Stage 2: production dependencies only: what the bundle leaves out (koffi, @kubernetes/client-node,
# yaml) is loaded from here. Optional dependencies stay: koffi's native binary arrives as one
# (@koromix/koffi-linux-*), so no --omit=optional.
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev && npm cache clean --force

# Stage 3: what runs. No compiler, no dev dependencies, no npm cache.
FROM ${NODE_IMAGE}
ENV NODE_ENV=production
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY bin ./bin
# The .proto files are not read at run time: the bundle carries their descriptor (src/protos.json).
COPY --from=build /src/dist ./dist
RUN ln -s /app/bin/svid-agent.js /usr/local/bin/svid-agent
# Non-root by default, for the CLI (`api fetch x509`, `healthcheck`, `certs create`). The
# DaemonSet runs the agent as uid 0 with only SYS_PTRACE and DAC_READ_SEARCH, which it needs to
# read callers' token files through /proc/<pid>/root (daemonset/daemonset.yaml says why).
USER node
ENTRYPOINT ["node", "/app/bin/svid-agent.js"]
CMD ["run"]
