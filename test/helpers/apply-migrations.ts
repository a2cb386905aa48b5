import { applyD1Migrations } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { setWebhookTransport } from "../../src/worker/webhooks";

// Setup files run before each test file; applying migrations is idempotent.
await applyD1Migrations(env.DB, env.TEST_MIGRATIONS);
// No test reaches a remote service: webhook deliveries answer 204 from here unless a test
// installs its own transport (test/integration/webhooks.test.ts records what would be sent).
setWebhookTransport({ send: async () => ({ status: 204 }) });
