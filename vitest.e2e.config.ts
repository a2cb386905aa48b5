import { defineConfig } from "vitest/config";

// End-to-end tests: plain Node drives a real `wrangler dev --local` (workerd with local D1, R2,
// Queues and Durable Objects) over HTTP and WebSockets on 127.0.0.1. Each file starts its own
// server, so files run one after another; timers in the server are short, so timeouts are generous.
export default defineConfig({
  test: {
    include: ["test/e2e/**/*.test.ts"],
    environment: "node",
    pool: "forks",
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 120_000,
    teardownTimeout: 30_000,
  },
});
