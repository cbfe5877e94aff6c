# One image for all six processes; docker-compose.yml picks the entry point per service.
# Build stage: install everything (better-sqlite3 builds from source when no prebuilt binary
# can be fetched), compile the processes' TypeScript to dist/, then drop the dev dependencies.
FROM node:20-bookworm-slim AS build
WORKDIR /app
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
# The whole tree (.dockerignore leaves out node_modules, dist, data and .git): the build
# compiles every folder the processes import from (COMPILED_FOLDERS in system/compiled-build.ts).
COPY . .
RUN node --import tsx system/build-compiled.ts && node --import tsx gateway/console-build.ts dist/console && npm prune --omit=dev --no-audit --no-fund

# Run stage: compiled JavaScript only (a process starts on about half the CPU of tsx), no
# compiler toolchain.
FROM node:20-bookworm-slim
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
ENV NODE_ENV=production DATA_DIR=/data HOST=0.0.0.0
VOLUME ["/data"]
ARG APP=gateway
ENV APP=${APP}
# --max-semi-space-size: see system/processes.ts (NODE_FLAGS).
CMD ["sh", "-c", "exec node --max-semi-space-size=32 dist/${APP}/main.js"]
