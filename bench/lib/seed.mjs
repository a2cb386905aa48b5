// 100,000 realistic rows for the D1 session index of one campaign. Deterministic: the same seed
// gives the same rows. Two ways in, both while no wrangler dev has the database open:
//  - insertSessionsDirect: straight into the local D1 SQLite file with node:sqlite (≈ 1-2 s);
//  - writeSessionsSql: a SQL file of batched INSERTs for `wrangler d1 execute --file` (≈ 40 s for
//    100k rows on a busy 2-core machine; the fallback if the local file cannot be found).
//
// The columns are those the session objects mirror into D1 (src/objects/view.ts → sessions table);
// if the schema gains a NOT NULL column without a default, the insert fails loudly here.
import { readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** mulberry32: a small, fast, seedable PRNG. */
export function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const B32 = "abcdefghijklmnopqrstuvwxyz234567";
const pick = (r, weighted) => {
  let x = r() * weighted.reduce((s, [, w]) => s + w, 0);
  for (const [v, w] of weighted) if ((x -= w) < 0) return v;
  return weighted[weighted.length - 1][0];
};
/** Log-normal around `median` (seconds), clamped. */
const logNormal = (r, median, sigma, min, max) => {
  const z = Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
  return Math.round(Math.min(max, Math.max(min, median * Math.exp(sigma * z))));
};
const q = (v) => (v === null || v === undefined ? "NULL" : typeof v === "number" ? String(v) : `'${String(v).replace(/'/g, "''")}'`);

export const STATUS_MIX = [
  ["completed", 62],
  ["abandoned", 20],
  ["created", 9],
  ["in_progress", 6],
  ["paused", 3],
];
export const LANGUAGE_MIX = [
  ["en", 50],
  ["en-US", 12],
  ["en-GB", 5],
  ["es", 8],
  ["de", 7],
  ["fr", 6],
  ["pt-BR", 4],
  ["nl", 2],
  ["ja", 2],
  [null, 4],
];
const DEVICES = [
  ['{"browser":"Chrome","os":"Windows","deviceType":"desktop"}', 35],
  ['{"browser":"Safari","os":"iOS","deviceType":"mobile"}', 25],
  ['{"browser":"Chrome","os":"Android","deviceType":"mobile"}', 20],
  ['{"browser":"Safari","os":"macOS","deviceType":"desktop"}', 12],
  ['{"browser":"Firefox","os":"Linux","deviceType":"desktop"}', 5],
  [null, 3],
];

const COLUMNS = [
  "id", "org_id", "campaign_id", "invite_id", "script_version", "status", "created_at", "started_at", "completed_at", "duration",
  "questions_answered", "total_questions", "completion", "language", "device", "consent_required", "consent_granted", "consent_at",
  "flagged", "flag_reason", "sentiment", "end_reason", "last_question_index", "paused_reason", "paused_by", "participant_email",
  "participant_name", "deadline_at", "mirror_version", "updated_at",
];

/** Rows (arrays in COLUMNS order) for (orgId, campaignId), spread over the last `days` days before `now`. */
export function* sessionRows({ orgId, campaignId, count = 100_000, days = 180, now = Date.now(), seed = 42 }) {
  const r = rng(seed);
  const id = (prefix) => {
    let s = `${prefix}_`;
    for (let i = 0; i < 16; i++) s += B32[Math.floor(r() * 32)];
    return s;
  };
  const span = days * 86_400_000;
  const first = now - span;
  // Arrival times: uniform over the span (sorted), as invites go out steadily.
  const times = Array.from({ length: count }, () => first + Math.floor(r() * span)).sort((a, b) => a - b);
  const TOTAL = 10;
  for (let i = 0; i < count; i++) {
    const createdAt = times[i];
    const status = pick(r, STATUS_MIX);
    const startedAt = status === "created" ? null : createdAt + Math.floor(r() * 120_000);
    let duration = 0;
    let answered = 0;
    let endReason = null;
    let completedAt = null;
    let pausedReason = null;
    let pausedBy = null;
    let deadline = null;
    let consentGranted = status === "created" ? null : 1;
    if (status === "completed") {
      duration = logNormal(r, 720, 0.5, 90, 3 * 3600);
      const byAdmin = r() < 0.06;
      answered = byAdmin ? 1 + Math.floor(r() * (TOTAL - 1)) : TOTAL;
      endReason = byAdmin ? "ended_by_admin" : "finished";
      completedAt = startedAt + duration * 1000 + (r() < 0.15 ? Math.floor(r() * 600_000) : 0);
    } else if (status === "abandoned") {
      duration = logNormal(r, 200, 0.8, 5, 3600);
      answered = Math.floor(r() * TOTAL);
      endReason = pick(r, [["heartbeat_timeout", 55], ["participant_left", 35], ["consent_declined", 6], ["pause_expired", 4]]);
      if (endReason === "consent_declined") {
        consentGranted = 0;
        answered = 0;
        duration = 0;
      }
    } else if (status === "in_progress") {
      duration = logNormal(r, 300, 0.6, 5, 3600);
      answered = Math.floor(r() * TOTAL);
      deadline = now + Math.floor(r() * 300_000);
    } else if (status === "paused") {
      duration = logNormal(r, 240, 0.6, 5, 3600);
      answered = Math.floor(r() * TOTAL);
      pausedBy = r() < 0.7 ? "participant" : "admin";
      pausedReason = pausedBy === "admin" ? "reviewing an answer" : "be right back";
      deadline = now + Math.floor(r() * 86_400_000);
    }
    const completion = Math.round((answered / TOTAL) * 100);
    const flagged = r() < 0.03 ? 1 : 0;
    const sentiment = status === "completed" || (status === "abandoned" && answered > 0) ? pick(r, [["positive", 45], ["neutral", 35], ["negative", 20]]) : null;
    const n = i + 1;
    const updatedAt = completedAt ?? (startedAt ? startedAt + duration * 1000 : createdAt);
    yield [
        id("ses"), orgId, campaignId, id("inv"), 1, status, createdAt, startedAt, completedAt, duration,
        answered, TOTAL, completion, pick(r, LANGUAGE_MIX), pick(r, DEVICES), 1, consentGranted, startedAt ? startedAt - 5000 : null,
        flagged, flagged ? "follow up with the team" : null, sentiment, endReason, status === "created" ? null : Math.min(answered, TOTAL - 1), pausedReason, pausedBy,
        `participant${n}@example.com`, `Participant ${n}`, deadline, 2 + answered * 2, updatedAt,
    ];
  }
}

/** The time span the rows cover, for choosing filter windows (same arithmetic as sessionRows). */
export const seedSpan = ({ days = 180, now = Date.now() } = {}) => ({ first: now - days * 86_400_000, last: now });

/** A SQL file of batched INSERTs, `batch` rows per statement. */
export function writeSessionsSql(file, opts, batch = 250) {
  const chunks = [];
  let values = [];
  const flush = () => {
    if (values.length) chunks.push(`INSERT INTO sessions (${COLUMNS.join(", ")}) VALUES\n${values.join(",\n")};`);
    values = [];
  };
  for (const row of sessionRows(opts)) {
    values.push(`(${row.map(q).join(", ")})`);
    if (values.length >= batch) flush();
  }
  flush();
  writeFileSync(file, chunks.join("\n") + "\n");
  return { statements: chunks.length };
}

/** The local D1 database file wrangler keeps under a persist dir, or null. */
export function localD1File(persistTo) {
  const dir = join(persistTo, "v3", "d1", "miniflare-D1DatabaseObject");
  try {
    // One file per database, named by a hash of its id; metadata.sqlite is miniflare's own.
    const files = readdirSync(dir).filter((f) => f.endsWith(".sqlite") && f !== "metadata.sqlite");
    return files.length === 1 ? join(dir, files[0]) : null;
  } catch {
    return null;
  }
}

/** Inserts the rows straight into the local D1 file in one transaction (no server may have it open). */
export async function insertSessionsDirect(sqliteFile, opts) {
  const { DatabaseSync } = await import("node:sqlite");
  const db = new DatabaseSync(sqliteFile);
  try {
    const insert = db.prepare(`INSERT INTO sessions (${COLUMNS.join(", ")}) VALUES (${COLUMNS.map(() => "?").join(", ")})`);
    db.exec("BEGIN");
    for (const row of sessionRows(opts)) insert.run(...row);
    db.exec("COMMIT");
    // No ANALYZE: the product's migrations do not run it (nor PRAGMA optimize), so the planner works
    // without statistics, as it would in a D1 database that was simply written to.
  } finally {
    db.close();
  }
}

/**
 * An org, its owner API key and one campaign, straight into the local D1 file (no server running),
 * as POST /v1/orgs and POST /v1/campaigns would write them. The caller checks the key works through
 * the API once a server is up.
 */
export async function insertOrgDirect(sqliteFile, { questions }) {
  const { DatabaseSync } = await import("node:sqlite");
  const { createHash, randomBytes } = await import("node:crypto");
  const rid = (prefix) => `${prefix}_${[...randomBytes(16)].map((b) => B32[b & 31]).join("")}`;
  const key = `irk_${randomBytes(24).toString("base64url")}`;
  const now = Date.now();
  const org = { orgId: rid("org"), key, campaignId: rid("cmp") };
  const db = new DatabaseSync(sqliteFile);
  try {
    db.exec("BEGIN");
    db.prepare("INSERT INTO orgs (id, name, plan, retention_days, created_at) VALUES (?, ?, 'enterprise', NULL, ?)").run(org.orgId, "Bench listing org", now);
    db.prepare("INSERT INTO api_keys (id, org_id, name, role, key_hash, last4, created_by, created_at) VALUES (?, ?, 'Bench key', 'owner', ?, ?, NULL, ?)").run(
      rid("key"),
      org.orgId,
      createHash("sha256").update(key).digest("hex"),
      key.slice(-4),
      now,
    );
    const settings = JSON.stringify({ consentRequired: true, mode: "text", recordAudio: false });
    db.prepare("INSERT INTO campaigns (id, org_id, name, script_version, settings, total_questions, created_at, updated_at) VALUES (?, ?, ?, 1, ?, ?, ?, ?)").run(
      org.campaignId,
      org.orgId,
      "Bench listing campaign",
      settings,
      questions.length,
      now,
      now,
    );
    db.prepare("INSERT INTO campaign_scripts (campaign_id, version, questions, created_at) VALUES (?, 1, ?, ?)").run(org.campaignId, JSON.stringify(questions), now);
    db.exec("COMMIT");
  } finally {
    db.close();
  }
  return org;
}

/**
 * `count` single-use invites for a campaign, straight into the local D1 file (no server running),
 * as POST /v1/campaigns/{id}/invites writes them (the token stored only as its SHA-256). Returns the tokens.
 */
export async function insertInvitesDirect(sqliteFile, { orgId, campaignId, count }) {
  const { DatabaseSync } = await import("node:sqlite");
  const { createHash, randomBytes } = await import("node:crypto");
  const now = Date.now();
  const tokens = [];
  const db = new DatabaseSync(sqliteFile);
  try {
    const insert = db.prepare(
      "INSERT INTO invites (id, org_id, campaign_id, token_hash, participant_email, participant_name, participant_attributes, expires_at, max_uses, uses, session_id, created_at) VALUES (?, ?, ?, ?, ?, ?, NULL, ?, 1, 0, NULL, ?)",
    );
    db.exec("BEGIN");
    for (let i = 0; i < count; i++) {
      const token = randomBytes(24).toString("base64url");
      const id = `inv_${[...randomBytes(16)].map((b) => B32[b & 31]).join("")}`;
      insert.run(id, orgId, campaignId, createHash("sha256").update(token).digest("hex"), `p${i}@bench.interviewrelay.test`, `Participant ${i}`, now + 30 * 86_400_000, now + i);
      tokens.push(token);
    }
    db.exec("COMMIT");
  } finally {
    db.close();
  }
  return tokens;
}
