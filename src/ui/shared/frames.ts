// Socket frames from the server, checked before use: a frame is a JSON object whose `type` is
// one the caller knows. (zod would triple the page's bundle for this one check.)
export function parseFrame<F extends { type: string }>(text: string, types: readonly F["type"][]): F | null {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof data !== "object" || data === null || !("type" in data) || typeof data.type !== "string") return null;
  return (types as readonly string[]).includes(data.type) ? (data as F) : null;
}
