// Shared by the workerd and Node test helpers (no runtime imports).

/** A response body as JSON, or null when it is empty or not JSON (tests assert on `text` then). */
export function jsonOrNull(text: string): any {
  try {
    return text ? JSON.parse(text) : null;
  } catch {
    return null;
  }
}
