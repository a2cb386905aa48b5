import { describe, expect, it } from "vitest";
import { call, createCampaign, createInvite, createOrg, join } from "../helpers/api";
import { openSocket } from "../helpers/socket";

describe("a typed interview end to end", () => {
  it("runs from invite to completed, with consent, follow-ups, acks and a mirrored index row", async () => {
    const { apiKey } = await createOrg();
    const campaign = await createCampaign(apiKey.key);
    const invite = await createInvite(apiKey.key, campaign.id, { participant: { email: "pat@example.com", name: "Pat" } });
    const joined = await join(invite.token);
    expect(joined.status).toBe(201);
    expect(joined.json).toMatchObject({ status: "created", resumed: false, consentRequired: true, consentText: "We record this interview.", totalQuestions: 3 });

    const ws = await openSocket(`/v1/sessions/${joined.json.sessionId}/connect?token=${joined.json.participantToken}`);
    ws.send({ type: "hello" });
    await ws.next((f) => f.type === "state" && f.status === "created", "initial state");
    ws.send({ type: "start" });
    await ws.next((f) => f.type === "error" && f.code === "CONSENT_REQUIRED", "consent required error");
    ws.send({ type: "consent", granted: true });
    ws.send({ type: "start" });
    const q0 = await ws.next((f) => f.type === "question" && f.index === 0, "question 0");
    expect(q0).toMatchObject({ text: "How did you first hear about us?", followUp: false });

    ws.send({ type: "answer", id: "a1", text: "A friend told me about it at work, and then I saw an ad on a podcast I like." });
    const ack1 = await ws.next((f) => f.type === "ack" && f.id === "a1", "ack a1");
    expect(ack1.seq).toBeGreaterThan(q0.seq);
    await ws.next((f) => f.type === "question" && f.index === 1, "question 1");

    // probe: light and a short answer → one follow-up
    ws.send({ type: "answer", id: "a2", text: "The price." });
    const follow = await ws.next((f) => f.type === "question" && f.index === 1 && f.followUp, "follow-up");
    expect(follow.text).toContain("price");
    ws.send({ type: "answer", id: "a3", text: "It looked expensive compared with the free tools I used before." });
    await ws.next((f) => f.type === "question" && f.index === 2, "question 2");
    ws.send({ type: "answer", id: "a4", text: "Make the onboarding shorter." });
    const ended = await ws.next((f) => f.type === "ended", "ended");
    expect(ended).toMatchObject({ status: "completed", reason: "finished" });
    await ws.closedWithin();

    const session = await call("GET", `/v1/sessions/${joined.json.sessionId}`, { key: apiKey.key });
    expect(session.status).toBe(200);
    expect(session.json).toMatchObject({ status: "completed", questionsAnswered: 3, totalQuestions: 3, completion: 100, consent: { required: true, granted: true } });

    const transcript = await call("GET", `/v1/sessions/${joined.json.sessionId}/transcript`, { key: apiKey.key });
    const speakers = transcript.json.segments.map((s: any) => `${s.speaker}:${s.questionIndex}`);
    expect(speakers).toEqual(["ai:0", "participant:0", "ai:1", "participant:1", "ai:1", "participant:1", "ai:2", "participant:2"]);

    const list = await call("GET", `/v1/campaigns/${campaign.id}/sessions?status=completed`, { key: apiKey.key });
    expect(list.json.data.map((s: any) => s.id)).toEqual([joined.json.sessionId]);
  });

  it("shows the default consent in the campaign's language, and a reopened link the text the session records", async () => {
    const { apiKey } = await createOrg();
    const fr = await createCampaign(apiKey.key, { settings: { consentRequired: true, language: "fr-CA" } });
    const invite = await createInvite(apiKey.key, fr.id);
    const first = await join(invite.token);
    expect(first.status).toBe(201);
    expect(first.json.consentText).toMatch(/^Cet entretien est enregistré et analysé par l'équipe de recherche/);
    // A language without a translation gets the English default.
    const sw = await createCampaign(apiKey.key, { settings: { consentRequired: true, language: "sw" } });
    expect((await join((await createInvite(apiKey.key, sw.id)).token)).json.consentText).toMatch(/^This interview is recorded and analysed/);
    // The campaign's wording changes before the participant agreed: reopening shows the text their
    // session will record with their consent, not the new one.
    const patched = await call("PATCH", `/v1/campaigns/${fr.id}`, { key: apiKey.key, body: { settings: { consentText: "Nouveau texte.", language: "de" } } });
    expect(patched.status).toBe(200);
    const again = await join(invite.token);
    expect(again.json).toMatchObject({ resumed: true, sessionId: first.json.sessionId, consentText: first.json.consentText, language: "fr-CA" });
  });
});
