import { defineConfig } from "vitest/config";

// Pure modules (the state machine, protocol parsing, providers' local logic) run in plain Node.
export default defineConfig({
  test: {
    include: ["test/unit/**/*.test.ts"],
    environment: "node",
  },
});
