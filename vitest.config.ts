import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

// Integration tests run inside workerd with the real bindings (local D1, R2, Queues, Durable
// Objects). Configuration comes from here, never from .dev.vars; timers are short to exercise them.
export default defineConfig(async () => {
  const migrations = await readD1Migrations("./migrations");
  return {
    plugins: [
      cloudflareTest({
        wrangler: { configPath: "./wrangler.toml" },
        remoteBindings: false,
        miniflare: {
          bindings: {
            TEST_MIGRATIONS: migrations,
            OPERATOR_TOKEN: "test-operator-token",
            AUDIO_KEK: "S01y4fwnL6jO07BSVGw0qYCSB9/Uiu0MjX4cr/Aj6hw=",
            AI_MODE: "local",
            HEARTBEAT_TIMEOUT_SECONDS: "5",
            PAUSE_EXPIRY_SECONDS: "10",
            LEAVE_GRACE_SECONDS: "2",
            // A window recording an answer keeps it from other windows this long after its last frame.
            AUDIO_OWNER_IDLE_SECONDS: "2",
            PUBLIC_URL: "https://interviews.example",
            // No test resolves names over the network; test/integration/webhooks.test.ts installs a stub resolver.
            WEBHOOK_DNS_CHECK: "off",
          },
        },
      }),
    ],
    test: {
      include: ["test/integration/**/*.test.ts"],
      setupFiles: ["./test/helpers/apply-migrations.ts"],
      testTimeout: 20_000,
    },
  };
});
