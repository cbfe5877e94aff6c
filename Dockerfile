# One image for all six processes; docker-compose.yml picks the entry point per service.
FROM node:20-bookworm-slim
WORKDIR /app
# better-sqlite3 builds from source when no prebuilt binary can be fetched.
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund
COPY gen ./gen
COPY platform ./platform
COPY services ./services
COPY orchestrator ./orchestrator
# orchestrator/contract-step.ts reads the saga option through contracts/.
COPY contracts ./contracts
COPY gateway ./gateway
ENV NODE_ENV=production DATA_DIR=/data HOST=0.0.0.0
VOLUME ["/data"]
ARG APP=gateway
ENV APP=${APP}
# --max-semi-space-size: see system/processes.ts (NODE_FLAGS).
CMD ["sh", "-c", "exec node --max-semi-space-size=32 --import tsx ${APP}/main.ts"]
