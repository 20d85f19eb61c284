# The Urban Twin server. Built by docker-compose.yml (profiles `app` and `cluster`).
FROM node:20-bookworm-slim

WORKDIR /app

# Dependencies first, so source edits do not invalidate this layer. Dev dependencies are kept: `npm start`
# runs the TypeScript sources through tsx. better-sqlite3 installs its prebuilt binary for this platform.
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund

COPY . .

ENV NODE_ENV=production \
    PORT=3000 \
    DATA_DIR=/app/data
RUN mkdir -p /app/data && chown -R node:node /app/data
USER node

EXPOSE 3000
VOLUME ["/app/data"]
CMD ["npm", "start"]
