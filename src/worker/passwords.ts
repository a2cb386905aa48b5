// Password hashing with PBKDF2-SHA256 through WebCrypto (100,000 iterations is workerd's ceiling),
// a per-user random salt, and a self-describing format so the cost can be raised later.
import { toBase64Url, timingSafeEqual } from "../shared/crypto";

const ITERATIONS = 100_000;

async function derive(password: string, salt: Uint8Array<ArrayBuffer>, iterations: number): Promise<string> {
  const key = await crypto.subtle.importKey("raw", new TextEncoder().encode(password), "PBKDF2", false, ["deriveBits"]);
  const bits = await crypto.subtle.deriveBits({ name: "PBKDF2", hash: "SHA-256", salt, iterations }, key, 256);
  return toBase64Url(new Uint8Array(bits));
}

export async function hashPassword(password: string): Promise<string> {
  const salt = crypto.getRandomValues(new Uint8Array(16));
  return `pbkdf2-sha256$${ITERATIONS}$${toBase64Url(salt)}$${await derive(password, salt, ITERATIONS)}`;
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [scheme, iter, salt64, hash] = stored.split("$");
  if (scheme !== "pbkdf2-sha256" || !iter || !salt64 || !hash) return false;
  const salt = Uint8Array.from(atob(salt64.replace(/-/g, "+").replace(/_/g, "/")), (ch) => ch.charCodeAt(0));
  return timingSafeEqual(await derive(password, salt, Number(iter)), hash);
}
