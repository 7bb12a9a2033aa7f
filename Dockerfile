# sluice: builds and serves exactly as the README does (npm ci, then npm start).
# Debian 12 (bookworm) based Node 20 image; the native uWebSockets.js binary needs glibc >= 2.27.
FROM node:20-bookworm-slim

# Python, make and g++ for node-gyp (the native addon is built by an npm script).
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY package.json package-lock.json .npmrc ./
# onnxruntime-node's install script downloads CUDA files; package.json's allowScripts and
# .npmrc deny it. CPU binaries ship inside the package.
RUN npm ci
COPY tsconfig.json ./
COPY src ./src
COPY bench ./bench
COPY models ./models
RUN npm run build && chown -R node:node /app

USER node
ENV SLUICE_HOST=0.0.0.0 SLUICE_PORT=8000 SLUICE_MODELS=/app/models
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=2s CMD node -e "fetch('http://127.0.0.1:8000/v2/health/ready').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
# The README's command: `npm start` (prestart rebuilds, then serves ./models on 0.0.0.0:8000).
CMD ["npm", "start"]
