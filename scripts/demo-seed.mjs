// The demo org that `npm run dev` prints: a text campaign and a voice campaign, each with a fresh
// invite on every start. `api(method, path, {token, body})` → {status, json}; `saved` is what an
// earlier start stored (reused while the local state still has it, completed when it lacks the
// voice campaign). Used by scripts/dev.mjs and by the voice browser test.

export const DEMO_QUESTIONS = [
  { text: "To start, what do you do, and how does our product fit into your week?", probe: "light" },
  { text: "Tell me about the last time the product really helped you.", probe: "deep" },
  { text: "What frustrated you most recently, and what did you do about it?", probe: "deep" },
  { text: "If you could change one thing tomorrow, what would it be?", probe: "light" },
  { text: "Anything else you would like the team to hear?", probe: "none" },
];

export const DEMO_VOICE_QUESTIONS = [
  { text: "In a few sentences, how did your last week with the product go?", probe: "light" },
  { text: "What is the one thing you would like us to fix first?", probe: "none" },
  { text: "Anything else you would like the team to hear?", probe: "none" },
];

/**
 * Offline (`npm run dev`) there is no speech model: the browser's own transcript (Chrome's speech
 * recognition, opt-in per campaign because it sends audio to Google) is the transcript, so the
 * demo opts in. Without it the answers are recorded, heard and marked untranscribed.
 */
export const DEMO_VOICE_SETTINGS = {
  consentRequired: true,
  consentText: "This interview is recorded and analysed by Demo Research Co. Your browser's speech recognition may transcribe your answers. You can stop at any time.",
  mode: "voice",
  recordAudio: true,
  browserTranscription: true,
  language: "en",
};

const must = (r, what) => {
  if (r.status < 200 || r.status >= 300) throw new Error(`${what} failed: ${r.status} ${JSON.stringify(r.json)}`);
  return r.json;
};

export async function seedDemo(api, operatorToken, saved) {
  let demo = saved;
  if (demo) {
    const check = await api("GET", `/v1/campaigns/${demo.campaignId}`, { token: demo.apiKey });
    if (check.status !== 200) demo = null; // local state was reset: seed again
  }
  if (!demo) {
    const email = `owner+${Date.now().toString(36)}@demo.interviewrelay.test`;
    const password = "demo-password-123";
    const org = must(
      await api("POST", "/v1/orgs", { token: operatorToken, body: { name: "Demo Research Co", plan: "professional", owner: { email, name: "Demo Owner", password } } }),
      "seeding the demo org",
    );
    const campaign = must(
      await api("POST", "/v1/campaigns", {
        token: org.apiKey.key,
        body: {
          name: "Customer experience interviews",
          questions: DEMO_QUESTIONS,
          settings: { consentRequired: true, consentText: "This interview is recorded and analysed by Demo Research Co. You can stop at any time." },
        },
      }),
      "seeding the demo campaign",
    );
    demo = { orgId: org.org.id, email, password, apiKey: org.apiKey.key, campaignId: campaign.id };
  }
  if (!demo.voiceCampaignId || (await api("GET", `/v1/campaigns/${demo.voiceCampaignId}`, { token: demo.apiKey })).status !== 200) {
    const voice = must(
      await api("POST", "/v1/campaigns", { token: demo.apiKey, body: { name: "Spoken feedback (voice)", questions: DEMO_VOICE_QUESTIONS, settings: DEMO_VOICE_SETTINGS } }),
      "seeding the demo voice campaign",
    );
    demo = { ...demo, voiceCampaignId: voice.id };
  }
  // A fresh single-use invite on every start, so the printed links always work.
  const invite = async (campaignId) =>
    must(
      await api("POST", `/v1/campaigns/${campaignId}/invites`, { token: demo.apiKey, body: { participant: { name: "Demo Participant", email: "participant@demo.interviewrelay.test" } } }),
      "creating a demo invite",
    );
  return { demo, invites: { text: await invite(demo.campaignId), voice: await invite(demo.voiceCampaignId) } };
}
