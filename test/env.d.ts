// Types for `env` and `exports` from "cloudflare:workers" inside tests.
declare namespace Cloudflare {
  type ProjectEnv = import("../src/env").Env;
  type TestMigrations = import("cloudflare:test").D1Migration[];
  interface Env extends ProjectEnv {
    TEST_MIGRATIONS: TestMigrations;
  }
  interface GlobalProps {
    mainModule: typeof import("../src/worker/index");
    durableNamespaces: "InterviewSession" | "CampaignLive" | "AuditLedger" | "RateLimiter";
  }
}
