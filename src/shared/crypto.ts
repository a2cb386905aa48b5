// Small WebCrypto helpers shared by the Worker and the objects.
const B32 = "abcdefghijklmnopqrstuvwxyz234567";

export function randomBase32(chars: number): string {
  const bytes = crypto.getRandomValues(new Uint8Array(chars));
  let out = "";
  for (const b of bytes) out += B32[b & 31];
  return out;
}

/** A prefixed id with 80 random bits (16 base32 characters). */
export const newId = (prefix: string) => `${prefix}_${randomBase32(16)}`;

/** A secret with `bits` of entropy, base64url, with an optional recognisable prefix. */
export function randomSecret(bits = 192, prefix = ""): string {
  const bytes = crypto.getRandomValues(new Uint8Array(Math.ceil(bits / 8)));
  return prefix + toBase64Url(bytes);
}

export function toBase64Url(bytes: Uint8Array): string {
  let bin = "";
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** Bytes as lowercase hex (digests, MACs). */
export const toHex = (bytes: ArrayBuffer | Uint8Array) => [...new Uint8Array(bytes)].map((b) => b.toString(16).padStart(2, "0")).join("");

export async function sha256Hex(input: string): Promise<string> {
  return toHex(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(input)));
}

/** Constant-time comparison of two strings of secrets or hashes. */
export function timingSafeEqual(a: string, b: string): boolean {
  const ea = new TextEncoder().encode(a);
  const eb = new TextEncoder().encode(b);
  let diff = ea.length ^ eb.length;
  for (let i = 0; i < Math.max(ea.length, eb.length); i++) diff |= (ea[i] ?? 0) ^ (eb[i] ?? 0);
  return diff === 0;
}
