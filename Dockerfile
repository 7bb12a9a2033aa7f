# syntax=docker/dockerfile:1
# sluice's image (docs/deploy.md): two stages. The build stage compiles and produces the runtime
# file set with `npm run runtime-set`, the same script test/runtime-set.test.ts runs here; the
# runtime stage holds that set only (dist/src, production node_modules, the models), no compiler,
# no dev dependencies, no sources, no benchmarks.

FROM node:20-bookworm-slim AS build
# Python, make and g++ for node-gyp, should a dependency or the native addon need a build.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY package.json package-lock.json .npmrc ./
# --ignore-scripts: no install script runs, whatever the npm version (this image's npm 10 does not
# know package.json's allowScripts; onnxruntime-node's script would try to download CUDA files).
# The CPU binaries of every native dependency ship inside their packages.
RUN npm ci --ignore-scripts --no-audit --no-fund --no-update-notifier
COPY tsconfig.json ./
COPY src ./src
COPY bench ./bench
COPY models ./models
# The native addon: `npm run build` compiles it here (node-gyp with this image's own Node headers,
# no download); runtime-set copies the built .node file only.
COPY native ./native
COPY deploy/runtime-set.mjs ./deploy/
RUN npm run build && npm run runtime-set -- /runtime

FROM node:20-bookworm-slim
# tini as PID 1: it forwards SIGTERM to node (which drains, then exits 0) and reaps what a retrain
# command leaves behind.
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
# Owned by root, so the server (user node) cannot change its own code; a model repository that
# retraining writes to is a volume (deploy/kubernetes).
COPY --from=build /runtime /app
USER node
ENV NODE_ENV=production SLUICE_HOST=0.0.0.0 SLUICE_PORT=8000 SLUICE_MODELS=/app/models
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=2s CMD ["node", "-e", "fetch('http://127.0.0.1:8000/v2/health/ready').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
ENTRYPOINT ["/usr/bin/tini", "--"]
# node itself, not npm: the signal reaches the process that drains.
CMD ["node", "--single-threaded-gc", "dist/src/main.js"]
