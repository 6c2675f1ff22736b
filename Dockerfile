# syntax=docker/dockerfile:1
# queuescope image: the sidecar (default command) and the demo workload
# (`demo ...`). Multi-stage: compile with dev dependencies, ship dist/ and
# production node_modules only, run as the unprivileged `node` user.
ARG NODE_IMAGE=node:20-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
# Dependencies first, so source edits reuse this layer. --ignore-scripts: the
# package's own "prepare" (tsc) needs the sources, which are not copied yet.
# better-sqlite3 (the relay's outbox store) is then built on its own: its
# install script fetches a prebuilt binary or, without one, compiles with
# node-gyp, hence python3, make and g++ in this stage only.
COPY package.json package-lock.json ./
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
RUN npm ci --ignore-scripts --no-audit --no-fund \
 && npm rebuild better-sqlite3
COPY tsconfig.json ./
COPY src ./src
RUN npx tsc -p tsconfig.json \
 && npm prune --omit=dev --ignore-scripts --no-audit --no-fund

FROM ${NODE_IMAGE}
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist/src ./dist/src
COPY examples ./examples
USER node
EXPOSE 9640
# For the sidecar; docker-compose.yml gives the demo service its own check.
HEALTHCHECK --interval=10s --timeout=3s --start-period=15s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:9640/-/healthy').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["node", "dist/src/cli.js"]
