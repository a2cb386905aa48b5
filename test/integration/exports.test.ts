// Exports read back by real readers: the JSON against its published JSON Schema, the CSV with an
// RFC 4180 parser, the PDF with pdf-lib, the bulk ZIP with fflate (manifest hashes checked), and
// the signed download link (tampered → 403, expired → 410), the audio export's WAV tracks. Roles
// and tenancy too.
import { runInDurableObject } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { unzipSync, strFromU8 } from "fflate";
import { PDFDocument } from "pdf-lib";
import { beforeAll, describe, expect, it } from "vitest";
import { parseWav } from "../../src/audio/pcm";
import type { InterviewSession } from "../../src/objects/InterviewSession";
import { signDownload } from "../../src/worker/export-job";
import { SessionExport } from "../../src/worker/session-bundle";
import { BASE, randomClientIp, unique } from "../helpers/api";
import { answer, auditRows, begin, call, connect, createCampaign, createInvite, createOrg, keyWithRole, mirroredStatus, startedInterview, waitFor } from "../helpers/fixtures";
import { parseCsv } from "../helpers/csv";
import { speak, VOICE_SETTINGS } from "../helpers/privacy";
import { sessionStub } from "../helpers/session";
import { validate, type Schema } from "../helpers/json-schema";

/** A binary GET (call() reads text). */
async function fetchBytes(path: string, key?: string) {
  const headers: Record<string, string> = { "CF-Connecting-IP": randomClientIp() };
  if (key) headers.Authorization = `Bearer ${key}`;
  const res = await exports.default.fetch(new Request(path.startsWith("http") ? path : `${BASE}${path}`, { headers }));
  return { status: res.status, headers: res.headers, bytes: new Uint8Array(await res.arrayBuffer()) };
}

const FORMULA = '=HYPERLINK("https://evil.example/?x=1","click me")';
const TRICKY = 'I said "hello, world", then left; commas, "quotes" and all';
const LONG = Array.from({ length: 220 }, (_, i) => `word${i}`).join(" ") + " and a supercalifragilisticexpialidocious-very-long-token-that-needs-breaking-because-it-is-longer-than-any-line-of-the-page-" + "x".repeat(120);

interface World {
  key: string;
  orgId: string;
  campaignId: string;
  email: string;
  /** Two completed sessions of `email`, and one of someone else, all in one campaign. */
  mine: string[];
  other: string;
}
let w: World;

async function finishedInterview(key: string, campaignId: string | null, email: string, answers: string[]) {
  const i = await startedInterview({ key, ...(campaignId ? {} : { campaign: { name: "Pricing study, Q3" } }), participant: { email, name: "Pat Example" } });
  // startedInterview makes its own campaign; sessions of one participant may span campaigns.
  for (let n = 0; n < answers.length; n++) await answer(i, `a${n}`, answers[n]!);
  await mirroredStatus(i.sessionId, "completed");
  i.ws.close();
  return i;
}

beforeAll(async () => {
  const org = await createOrg();
  const key = org.apiKey.key;
  const email = `${unique("pat")}@example.com`;
  const first = await finishedInterview(key, null, email, [FORMULA, TRICKY, LONG]);
  const second = await finishedInterview(key, null, email.toUpperCase(), ["Mostly through a friend who uses it daily.", "Nothing really, the trial was clear.", "Faster exports please."]);
  const other = await finishedInterview(key, null, `${unique("someone")}@example.com`, ["A conference talk.", "The price.", "Nothing."]);
  w = { key, orgId: org.org.id, campaignId: first.campaign.id, email, mine: [first.sessionId, second.sessionId], other: other.sessionId };
}, 60_000);

describe("single-session export", () => {
  it("JSON parses, matches the published JSON Schema and carries metadata, transcript, analytics and notes", async () => {
    const id = w.mine[0]!;
    await call("POST", `/v1/sessions/${id}/notes`, { key: w.key, body: { text: "Follow up about pricing." } });
    const r = await call("GET", `/v1/sessions/${id}/export?format=json`, { key: w.key });
    expect(r.status, r.text).toBe(200);
    expect(r.headers.get("Content-Type")).toMatch(/^application\/json/);
    expect(r.headers.get("Content-Disposition")).toBe(`attachment; filename="${id}.json"`);
    expect(r.headers.get("Cache-Control")).toBe("private, no-store");
    const bundle = JSON.parse(r.text);

    // The schema is public, generated from the zod schema, and the export satisfies it.
    const s = await call("GET", "/v1/schemas/session-export.json");
    expect(s.status).toBe(200);
    const schema = s.json as Schema;
    expect(schema.$schema).toMatch(/2020-12/);
    expect(schema.type).toBe("object");
    expect(schema.required).toEqual(expect.arrayContaining(["schemaVersion", "exportedAt", "session", "transcript", "analytics", "notes"]));
    expect(schema.properties.transcript.type).toBe("array");
    expect(schema.properties.transcript.items.required).toEqual(expect.arrayContaining(["seq", "speaker", "text", "questionIndex", "followUp", "startMs", "endMs"]));
    expect(schema.properties.session.required).toEqual(expect.arrayContaining(["id", "status", "consent", "completion", "duration"]));
    expect(validate(schema, bundle)).toEqual([]);
    expect(SessionExport.safeParse(bundle).success).toBe(true);
    // The validator is not a tautology: a broken export fails it.
    expect(validate(schema, { ...bundle, transcript: [{ ...bundle.transcript[0], speaker: "robot" }] })).not.toEqual([]);
    const { status: _dropped, ...noStatus } = bundle.session;
    expect(validate(schema, { ...bundle, session: noStatus }).join()).toMatch(/missing status/);
    expect(validate(schema, { ...bundle, schemaVersion: "1" })).not.toEqual([]);

    expect(bundle.schemaVersion).toBe(1);
    expect(bundle.session).toMatchObject({ id, campaignId: w.campaignId, status: "completed", completion: 100, participant: { email: w.email } });
    expect(bundle.transcript.filter((t: { speaker: string }) => t.speaker === "participant").map((t: { text: string }) => t.text)).toEqual([FORMULA, TRICKY, LONG]);
    expect(bundle.notes.map((n: { text: string }) => n.text)).toEqual(["Follow up about pricing."]);
    // Analytics: the same shape as GET /sessions/{id}/analytics.
    const a = await call("GET", `/v1/sessions/${id}/analytics`, { key: w.key });
    expect(a.status).toBe(200);
    expect(Object.keys(bundle.analytics).sort()).toEqual(Object.keys(a.json).sort());
    expect(bundle.analytics).toMatchObject({ sessionId: id, status: "completed", responseRate: a.json.responseRate, timePerQuestion: a.json.timePerQuestion });
  });

  it("every CSV file starts with the UTF-8 byte order mark, so Excel reads names and answers in any language", async () => {
    const BOM = [0xef, 0xbb, 0xbf];
    const id = w.mine[0]!;
    const campaign = (await call("GET", `/v1/sessions/${id}`, { key: w.key })).json.campaignId as string;
    const single = await fetchBytes(`/v1/sessions/${id}/export?format=csv`, w.key);
    const list = await fetchBytes(`/v1/campaigns/${campaign}/sessions?format=csv`, w.key);
    for (const r of [single, list]) {
      expect(r.status).toBe(200);
      expect([...r.bytes.subarray(0, 3)]).toEqual(BOM);
      // Once, at the start: the header follows it directly.
      expect(new TextDecoder("utf-8", { ignoreBOM: true }).decode(r.bytes.subarray(0, 24))).toMatch(/^\uFEFF(sessionId|id),/);
    }
    const report = await exports.default.fetch(
      new Request(`${BASE}/v1/reports`, { method: "POST", headers: { "CF-Connecting-IP": randomClientIp(), Authorization: `Bearer ${w.key}`, "Content-Type": "application/json" }, body: JSON.stringify({ campaignIds: [campaign], metrics: ["sessions"], groupBy: "campaign", format: "csv" }) }),
    );
    expect(report.status).toBe(200);
    expect([...new Uint8Array(await report.arrayBuffer()).subarray(0, 3)]).toEqual(BOM);
  });

  it("CSV parses under RFC 4180, one row per segment, with formulas neutralised", async () => {
    const id = w.mine[0]!;
    const r = await call("GET", `/v1/sessions/${id}/export?format=csv`, { key: w.key });
    expect(r.status, r.text).toBe(200);
    expect(r.headers.get("Content-Type")).toMatch(/^text\/csv/);
    expect(r.headers.get("Content-Disposition")).toMatch(/^attachment; filename=".+\.csv"$/);
    expect(r.headers.get("Cache-Control")).toBe("private, no-store");
    const rows = parseCsv(r.text);
    expect(rows[0]).toEqual(["sessionId", "seq", "speaker", "questionIndex", "followUp", "startMs", "endMs", "text"]);
    const transcript = (await call("GET", `/v1/sessions/${id}/transcript`, { key: w.key })).json.segments as { seq: number; text: string; speaker: string }[];
    expect(rows.length - 1).toBe(transcript.length);
    for (const row of rows.slice(1)) expect(row).toHaveLength(8);
    const texts = rows.slice(1).map((row) => row[7]);
    expect(texts).toContain(`'${FORMULA}`);
    expect(texts).not.toContain(FORMULA);
    expect(texts).toContain(TRICKY);
    expect(texts).toContain(LONG);
    expect(rows.slice(1).every((row) => row[0] === id)).toBe(true);
    expect(rows.slice(1).map((row) => Number(row[1]))).toEqual(transcript.map((t) => t.seq));
  });

  it("PDF is a real document: header, pages, title, page breaks for a long transcript", async () => {
    const id = w.mine[0]!;
    const r = await fetchBytes(`/v1/sessions/${id}/export?format=pdf`, w.key);
    expect(r.status).toBe(200);
    expect(r.headers.get("Content-Type")).toBe("application/pdf");
    expect(r.headers.get("Content-Disposition")).toBe(`attachment; filename="${id}.pdf"`);
    expect(r.headers.get("Cache-Control")).toBe("private, no-store");
    expect(strFromU8(r.bytes.slice(0, 5))).toBe("%PDF-");
    expect(r.bytes.length).toBeGreaterThan(2000);
    const doc = await PDFDocument.load(r.bytes);
    expect(doc.getPageCount()).toBeGreaterThanOrEqual(2);
    expect(doc.getTitle()).toContain("Pricing study, Q3");
    expect(doc.getTitle()).toContain(id);
  });

  it("is refused to analysts and viewers (403) and unknown to other orgs (404)", async () => {
    const id = w.mine[0]!;
    for (const role of ["analyst", "viewer"] as const) {
      const k = await keyWithRole(w.orgId, role);
      for (const format of ["json", "csv", "pdf"]) {
        const r = await call("GET", `/v1/sessions/${id}/export?format=${format}`, { key: k.key });
        expect(r.status, `${role} ${format}`).toBe(403);
        expect(r.json.error.code).toBe("FORBIDDEN");
      }
    }
    const admin = await keyWithRole(w.orgId, "admin");
    expect((await call("GET", `/v1/sessions/${id}/export`, { key: admin.key })).status).toBe(200);
    const b = await createOrg();
    const r = await call("GET", `/v1/sessions/${id}/export?format=json`, { key: b.apiKey.key });
    expect(r.status).toBe(404);
    expect(r.text).not.toContain(w.email);
    expect((await call("GET", `/v1/sessions/${id}/export?format=xml`, { key: w.key })).status).toBe(400);
  });
});

describe("participant data (right of access)", () => {
  it("returns exactly that participant's sessions, case-insensitively; owner only", async () => {
    const r = await call("GET", `/v1/participants/data?email=${encodeURIComponent(w.email)}`, { key: w.key });
    expect(r.status, r.text).toBe(200);
    expect(r.headers.get("Cache-Control")).toBe("private, no-store");
    expect(r.json.email).toBe(w.email);
    expect(r.json.sessions.map((s: { session: { id: string } }) => s.session.id).sort()).toEqual([...w.mine].sort());
    for (const s of r.json.sessions) expect(SessionExport.safeParse(s).success).toBe(true);
    expect(r.text).not.toContain(w.other);

    const none = await call("GET", `/v1/participants/data?email=${encodeURIComponent("nobody@example.com")}`, { key: w.key });
    expect(none.status).toBe(200);
    expect(none.json).toMatchObject({ email: "nobody@example.com", sessions: [] });

    const admin = await keyWithRole(w.orgId, "admin");
    expect((await call("GET", `/v1/participants/data?email=${encodeURIComponent(w.email)}`, { key: admin.key })).status).toBe(403);
    const b = await createOrg();
    const other = await call("GET", `/v1/participants/data?email=${encodeURIComponent(w.email)}`, { key: b.apiKey.key });
    expect(other.status).toBe(200);
    expect(other.json.sessions).toEqual([]);
    expect((await call("GET", "/v1/participants/data?email=not-an-email", { key: w.key })).status).toBe(400);
  });
});

describe("bulk export", () => {
  async function readyExport(body: Record<string, unknown>, campaignId = w.campaignId, key = w.key) {
    const r = await call("POST", `/v1/campaigns/${campaignId}/exports`, { key, body });
    expect(r.status, r.text).toBe(202);
    expect(r.json).toMatchObject({ id: expect.stringMatching(/^exp_[a-z0-9]+$/), status: "queued" });
    const status = await waitFor(
      async () => (await call("GET", `/v1/exports/${r.json.id}`, { key })).json,
      (j) => j?.status === "ready" || j?.status === "failed",
      `export ${r.json.id} ready`,
      30_000,
    );
    expect(status.status, JSON.stringify(status)).toBe("ready");
    return status as { id: string; format: string; status: string; sessionCount: number; sessionsDone: number; downloadUrl: string; expiresAt: string };
  }

  it("builds a ZIP with a folder per session and a manifest whose SHA-256s match; the link is signed and expires", async () => {
    // Sessions of the campaign of w.mine[0] plus a selection: here, the whole campaign by filter.
    const status = await readyExport({ format: "json", filter: { status: ["completed"] } });
    expect(status.sessionCount).toBe(1);
    expect(status.sessionsDone).toBe(1);
    expect(status.downloadUrl).toMatch(new RegExp(`^https://interviews\\.example/v1/exports/${status.id}/download\\?expires=\\d+&sig=[0-9a-f]{64}$`));
    expect(Date.parse(status.expiresAt)).toBeGreaterThan(Date.now());

    const dl = await fetchBytes(status.downloadUrl);
    expect(dl.status).toBe(200);
    expect(dl.headers.get("Content-Type")).toBe("application/zip");
    expect(dl.headers.get("Content-Disposition")).toBe(`attachment; filename="${status.id}.zip"`);
    expect(dl.headers.get("Cache-Control")).toBe("private, no-store");
    const files = unzipSync(dl.bytes);
    const manifest = JSON.parse(strFromU8(files["manifest.json"]!));
    expect(manifest.exportId).toBe(status.id);
    const folders = new Set(Object.keys(files).filter((p) => p !== "manifest.json").map((p) => p.split("/")[0]));
    expect([...folders]).toEqual([w.mine[0]]);
    expect(manifest.files.map((f: { path: string }) => f.path).sort()).toEqual(Object.keys(files).filter((p) => p !== "manifest.json").sort());
    for (const f of manifest.files as { path: string; sha256: string; bytes: number }[]) {
      const data = files[f.path]!;
      const digest = [...new Uint8Array(await crypto.subtle.digest("SHA-256", data))].map((b) => b.toString(16).padStart(2, "0")).join("");
      expect(digest, f.path).toBe(f.sha256);
      expect(data.length).toBe(f.bytes);
    }
    const bundle = JSON.parse(strFromU8(files[`${w.mine[0]}/session.json`]!));
    expect(SessionExport.safeParse(bundle).success).toBe(true);

    // Tampered signature or expiry → 403; a validly signed but expired link → 410.
    const url = new URL(status.downloadUrl);
    const sig = url.searchParams.get("sig")!;
    const flipped = `${sig.slice(0, -1)}${sig.endsWith("0") ? "1" : "0"}`;
    const tampered = await call("GET", `${url.pathname}?expires=${url.searchParams.get("expires")}&sig=${flipped}`);
    expect(tampered.status).toBe(403);
    const later = await call("GET", `${url.pathname}?expires=${Number(url.searchParams.get("expires")) + 3600}&sig=${sig}`);
    expect(later.status).toBe(403);
    const past = Math.floor(Date.now() / 1000) - 60;
    const expired = await call("GET", `${url.pathname}?expires=${past}&sig=${await signDownload(env, status.id, past)}`);
    expect(expired.status).toBe(410);
    expect(expired.json.error.code).toBe("LINK_EXPIRED");
    expect((await call("GET", `${url.pathname}?expires=${past}`)).status).toBe(400);
    // The link needs no credentials, so each use of it is audited under the person it was made
    // for: the download, and the tampered and expired tries as denials.
    const rows = await waitFor(() => auditRows("action = 'export.download' AND resource_id = ?", status.id), (r) => r.length >= 4, "the link's four uses audited");
    expect(rows.map((r) => `${r.outcome}`).sort()).toEqual(["allow", "deny", "deny", "deny"]);
    expect(new Set(rows.map((r) => r.actor_type))).toEqual(new Set(["signed_link"]));
    expect(rows.every((r) => typeof r.actor_id === "string" && (r.actor_id as string).length > 0)).toBe(true);

    // The object is in R2 under exports/{id}.zip, and the requester was notified with the link.
    expect(await env.EXPORTS_BUCKET.head(`exports/${status.id}.zip`)).not.toBeNull();
    const n = await call("GET", "/v1/notifications", { key: w.key });
    expect(n.status).toBe(200);
    const note = n.json.data.find((x: { data: { exportId?: string } }) => x.data?.exportId === status.id);
    expect(note).toMatchObject({ kind: "export.ready" });
    expect(note.body).toContain(`/v1/exports/${status.id}/download?expires=`);
    expect(note.body).toContain(`export of ${status.sessionCount} ${status.sessionCount === 1 ? "session" : "sessions"} is ready`);
    expect((await fetchBytes(note.data.downloadUrl)).status).toBe(200);
    // Another member of the org does not see the requester's notifications.
    const admin = await keyWithRole(w.orgId, "admin");
    expect((await call("GET", "/v1/notifications", { key: admin.key })).json.data).toEqual([]);
  }, 60_000);

  it("exports a selection of sessions as CSV and as PDF, one folder each", async () => {
    // A campaign with two sessions of its own.
    const i = await startedInterview({ key: w.key, participant: { email: `${unique("x")}@example.com` } });
    for (const [n, t] of ["One, two", FORMULA, "three"].entries()) await answer(i, `b${n}`, t);
    await mirroredStatus(i.sessionId, "completed");
    i.ws.close();
    const csv = await readyExport({ format: "csv", sessionIds: [i.sessionId] }, i.campaign.id);
    const files = unzipSync((await fetchBytes(csv.downloadUrl)).bytes);
    expect([...files[`${i.sessionId}/transcript.csv`]!.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    const rows = parseCsv(strFromU8(files[`${i.sessionId}/transcript.csv`]!));
    expect(rows[0]![0]).toBe("sessionId");
    expect(rows.map((r) => r[7])).toContain(`'${FORMULA}`);
    const pdf = await readyExport({ format: "pdf" }, i.campaign.id);
    const pfiles = unzipSync((await fetchBytes(pdf.downloadUrl)).bytes);
    const doc = await PDFDocument.load(pfiles[`${i.sessionId}/session.pdf`]!);
    expect(doc.getPageCount()).toBeGreaterThanOrEqual(1);
  }, 60_000);

  it("refuses analysts, hides exports from other orgs, and 404s sessions outside the campaign", async () => {
    const analyst = await keyWithRole(w.orgId, "analyst");
    expect((await call("POST", `/v1/campaigns/${w.campaignId}/exports`, { key: analyst.key, body: { format: "json" } })).status).toBe(403);
    const r = await call("POST", `/v1/campaigns/${w.campaignId}/exports`, { key: w.key, body: { format: "json" } });
    expect(r.status).toBe(202);
    expect((await call("GET", `/v1/exports/${r.json.id}`, { key: analyst.key })).status).toBe(403);
    const b = await createOrg();
    expect((await call("GET", `/v1/exports/${r.json.id}`, { key: b.apiKey.key })).status).toBe(404);
    expect((await call("POST", `/v1/campaigns/${w.campaignId}/exports`, { key: b.apiKey.key, body: { format: "json" } })).status).toBe(404);
    // w.other belongs to another campaign of the org.
    const outside = await call("POST", `/v1/campaigns/${w.campaignId}/exports`, { key: w.key, body: { format: "json", sessionIds: [w.other] } });
    expect(outside.status).toBe(404);
    expect((await call("POST", `/v1/campaigns/${w.campaignId}/exports`, { key: w.key, body: { format: "xlsx" } })).status).toBe(400);
  });

  it("exports recordings as WAV per track with a manifest of their hashes, and names the sessions without audio", async () => {
    const { apiKey, org } = await createOrg();
    const key = apiKey.key;
    const campaign = await createCampaign(key, { questions: [{ text: "Tell us about your day." }, { text: "Anything else?" }], settings: VOICE_SETTINGS });

    // A spoken interview: two answers of one second of tone each.
    const voice = await connect((await createInvite(key, campaign.id)).token);
    await begin(voice);
    let from = voice.ws.frames.length;
    await speak(voice.ws, "v0", "A quiet day at the office, and the support team was great.");
    await voice.ws.next((f) => f.type === "question" && f.index === 1, "the second question", from, 15_000);
    from = voice.ws.frames.length;
    await speak(voice.ws, "v1", "Nothing else, thanks.");
    await voice.ws.next((f) => f.type === "ended", "the end of the spoken interview", from, 15_000);
    voice.ws.close();
    // Offline no model speaks the questions: keep a synthesised prompt (0.75 s) the way promptAudio does.
    const prompt = new Uint8Array(new Int16Array(12_000).map((_, n) => Math.round(6000 * Math.sin((2 * Math.PI * 220 * n) / 16_000))).buffer);
    await runInDurableObject(sessionStub(voice.sessionId), async (o: InterviewSession) => {
      await o.audio().storePrompt("prompt-1", 0, prompt, await o.dataKey(), Date.now());
    });

    // A typed interview in the same campaign: no recording at all.
    const typed = await connect((await createInvite(key, campaign.id)).token);
    await begin(typed);
    await answer(typed, "t0", "A long day of meetings.");
    await answer(typed, "t1", "No, that is all.");
    typed.ws.close();
    await mirroredStatus(voice.sessionId, "completed");
    await mirroredStatus(typed.sessionId, "completed");

    // include picks parts of a session document, which an audio export does not hold.
    const withInclude = await call("POST", `/v1/campaigns/${campaign.id}/exports`, { key, body: { format: "audio", include: ["transcript"] } });
    expect(withInclude.status, withInclude.text).toBe(400);
    expect(withInclude.json.error.code).toBe("VALIDATION_FAILED");
    expect(withInclude.json.error.details.fields.map((f: { path: string }) => f.path)).toEqual(["include"]);
    const analyst = await keyWithRole(org.id, "analyst");
    expect((await call("POST", `/v1/campaigns/${campaign.id}/exports`, { key: analyst.key, body: { format: "audio" } })).status).toBe(403);

    const status = await readyExport({ format: "audio", sessionIds: [voice.sessionId, typed.sessionId] }, campaign.id, key);
    expect(status).toMatchObject({ format: "audio", sessionCount: 2, sessionsDone: 2 });
    const dl = await fetchBytes(status.downloadUrl);
    expect(dl.status).toBe(200);
    expect(dl.headers.get("Content-Type")).toBe("application/zip");
    const files = unzipSync(dl.bytes);
    const participantPath = `${voice.sessionId}/audio-participant.wav`;
    const aiPath = `${voice.sessionId}/audio-ai.wav`;
    expect(Object.keys(files).sort()).toEqual([participantPath, aiPath, "manifest.json"].sort());

    // Valid WAVs of the right length: 2 s of the participant, 0.75 s of the AI, 16 kHz 16-bit mono.
    const participant = parseWav(files[participantPath]!)!;
    expect(participant).toMatchObject({ sampleRate: 16000, channels: 1, bitsPerSample: 16 });
    expect(participant.data.byteLength).toBe(2 * 32_000);
    expect(files[participantPath]!.length).toBe(44 + 2 * 32_000);
    const ai = parseWav(files[aiPath]!)!;
    expect(ai).toMatchObject({ sampleRate: 16000, channels: 1, bitsPerSample: 16 });
    expect(Buffer.from(ai.data).equals(Buffer.from(prompt))).toBe(true);
    // The same bytes as the session's own audio route.
    for (const [track, path] of [["participant", participantPath], ["ai", aiPath]] as const) {
      const direct = await fetchBytes(`/v1/sessions/${voice.sessionId}/audio?track=${track}&format=wav`, key);
      expect(direct.status, track).toBe(200);
      expect(Buffer.from(files[path]!).equals(Buffer.from(direct.bytes)), track).toBe(true);
    }

    const manifest = JSON.parse(strFromU8(files["manifest.json"]!));
    expect(manifest).toMatchObject({ exportId: status.id, campaignId: campaign.id, format: "audio", sessionCount: 2, missingSessionIds: [], sessionsWithoutAudio: [typed.sessionId] });
    expect(manifest.files.map((f: { path: string }) => f.path).sort()).toEqual([participantPath, aiPath].sort());
    for (const f of manifest.files as { path: string; sessionId: string; sha256: string; bytes: number }[]) {
      const data = files[f.path]!;
      expect(f.sessionId).toBe(voice.sessionId);
      expect(f.bytes, f.path).toBe(data.length);
      expect(f.sha256, f.path).toBe([...new Uint8Array(await crypto.subtle.digest("SHA-256", data))].map((b) => b.toString(16).padStart(2, "0")).join(""));
    }
    expect(manifest.files.find((f: { path: string }) => f.path === participantPath)).toMatchObject({ track: "participant", durationMs: 2000 });
    expect(manifest.files.find((f: { path: string }) => f.path === aiPath)).toMatchObject({ track: "ai", durationMs: 750 });
  }, 90_000);
});

describe("notifications", () => {
  it("page newest first with ?limit= and ?cursor=, and only the recipient sees them", async () => {
    const { org, apiKey } = await createOrg();
    const insert = env.DB.prepare(
      "INSERT INTO notifications (id, org_id, recipient_type, recipient_id, kind, subject, body, data, created_at, sent_at) VALUES (?, ?, 'api_key', ?, 'export.ready', ?, 'body', NULL, ?, NULL)",
    );
    const base = Date.now() - 60_000;
    await env.DB.batch([1, 2, 3].map((n) => insert.bind(`ntf_${unique("n")}`, org.id, apiKey.id, `Export ${n} is ready`, base + n * 1000)));
    const first = await call("GET", "/v1/notifications?limit=2", { key: apiKey.key });
    expect(first.json.data.map((n: { subject: string }) => n.subject)).toEqual(["Export 3 is ready", "Export 2 is ready"]);
    const second = await call("GET", `/v1/notifications?limit=2&cursor=${encodeURIComponent(first.json.nextCursor)}`, { key: apiKey.key });
    expect(second.json).toMatchObject({ data: [{ subject: "Export 1 is ready" }], nextCursor: null });
    const colleague = await keyWithRole(org.id, "owner");
    expect((await call("GET", "/v1/notifications", { key: colleague.key })).json).toEqual({ data: [], nextCursor: null });
  });
});
