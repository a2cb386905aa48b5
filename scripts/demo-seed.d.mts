// Types for scripts/demo-seed.mjs (plain JS so that `npm run dev` runs it without a build step).
type Call = (method: string, path: string, opts?: { token?: string; body?: unknown }) => Promise<{ status: number; json: any }>;
export interface Demo {
  orgId: string;
  email: string;
  password: string;
  apiKey: string;
  campaignId: string;
  voiceCampaignId?: string;
}
export declare const DEMO_QUESTIONS: { text: string; probe: "none" | "light" | "deep" }[];
export declare const DEMO_VOICE_QUESTIONS: { text: string; probe: "none" | "light" | "deep" }[];
export declare const DEMO_VOICE_SETTINGS: { consentRequired: boolean; consentText: string; mode: "voice"; recordAudio: boolean; browserTranscription: boolean; language: string };
export declare function seedDemo(api: Call, operatorToken: string, saved: Demo | null): Promise<{ demo: Demo; invites: { text: { token: string; url: string }; voice: { token: string; url: string } } }>;
