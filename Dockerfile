# syntax=docker/dockerfile:1
# Waygate's image. Node.js 24 runs the TypeScript sources as they are (type stripping is on by
# default from Node 23.6), so there is no compile step: the image holds package.json (its
# "type": "module" makes the .ts files ES modules), bin/, src/ and the production dependencies.
ARG NODE_IMAGE=node:24-bookworm-slim

FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# --omit=dev leaves out TypeScript, the test tools and the `node` devDependency (the image is
# Node 24 already). No production dependency has an install script.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force

FROM ${NODE_IMAGE}
ENV NODE_ENV=production
WORKDIR /app
# npm and corepack are not needed to run Waygate.
RUN rm -rf /usr/local/lib/node_modules/npm /usr/local/lib/node_modules/corepack \
      /usr/local/bin/npm /usr/local/bin/npx /usr/local/bin/corepack
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY bin ./bin
COPY src ./src
# Files stay owned by root and read-only to Waygate. A numeric, non-root user, so that the
# kubelet can check runAsNonRoot; deploy/ sets the same uid.
USER 65532:65532
# node is PID 1: Waygate handles SIGTERM itself (workers drain) and reaps its own children.
ENTRYPOINT ["node", "bin/waygate.ts"]
CMD ["serve", "--kubernetes"]
