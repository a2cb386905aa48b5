// Envelope encryption for audio: each session has its own AES-256-GCM data key, stored only
// wrapped (AES-KW) by the key-encryption key from the AUDIO_KEK secret. Destroying a session's
// wrapped key makes every copy of its audio unreadable, backups included.
import { toBase64Url } from "./crypto";

const MAGIC = new TextEncoder().encode("IRA1");
const IV_BYTES = 12;

const fromBase64 = (s: string) => Uint8Array.from(atob(s.replace(/-/g, "+").replace(/_/g, "/")), (ch) => ch.charCodeAt(0));

export async function importKek(secret: string | undefined): Promise<CryptoKey> {
  if (!secret) throw new Error("AUDIO_KEK is not configured");
  const raw = fromBase64(secret.trim());
  if (raw.byteLength !== 32) throw new Error("AUDIO_KEK must be 32 bytes, base64-encoded");
  return crypto.subtle.importKey("raw", raw, "AES-KW", false, ["wrapKey", "unwrapKey"]);
}

/** A fresh data key, returned wrapped (base64url) for storage. */
export async function newWrappedDataKey(kek: CryptoKey): Promise<string> {
  const dek = (await crypto.subtle.generateKey({ name: "AES-GCM", length: 256 }, true, ["encrypt", "decrypt"])) as CryptoKey;
  return toBase64Url(new Uint8Array(await crypto.subtle.wrapKey("raw", dek, kek, "AES-KW")));
}

export async function unwrapDataKey(kek: CryptoKey, wrapped: string): Promise<CryptoKey> {
  return crypto.subtle.unwrapKey("raw", fromBase64(wrapped), kek, "AES-KW", { name: "AES-GCM", length: 256 }, false, ["encrypt", "decrypt"]);
}

/** Encrypts one object; its R2 key is bound in as associated data, so objects cannot be swapped. */
export async function sealObject(dek: CryptoKey, objectKey: string, plain: Uint8Array): Promise<Uint8Array> {
  const iv = crypto.getRandomValues(new Uint8Array(IV_BYTES));
  const sealed = new Uint8Array(
    await crypto.subtle.encrypt({ name: "AES-GCM", iv, additionalData: new TextEncoder().encode(objectKey) }, dek, plain as Uint8Array<ArrayBuffer>),
  );
  const out = new Uint8Array(MAGIC.length + IV_BYTES + sealed.length);
  out.set(MAGIC, 0);
  out.set(iv, MAGIC.length);
  out.set(sealed, MAGIC.length + IV_BYTES);
  return out;
}

export async function openObject(dek: CryptoKey, objectKey: string, sealed: Uint8Array): Promise<Uint8Array> {
  if (sealed.length < MAGIC.length + IV_BYTES + 16 || !MAGIC.every((b, i) => sealed[i] === b)) throw new Error("not an encrypted audio object");
  const iv = sealed.slice(MAGIC.length, MAGIC.length + IV_BYTES);
  const body = sealed.slice(MAGIC.length + IV_BYTES);
  return new Uint8Array(await crypto.subtle.decrypt({ name: "AES-GCM", iv, additionalData: new TextEncoder().encode(objectKey) }, dek, body));
}
