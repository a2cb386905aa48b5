// The contract's error envelope: {"error":{"code","message","details"?}} with the right status.
import type { ContentfulStatusCode } from "hono/utils/http-status";

export class ApiError extends Error {
  constructor(
    readonly status: ContentfulStatusCode,
    readonly code: string,
    message: string,
    readonly details?: Record<string, unknown>,
    readonly headers?: Record<string, string>,
  ) {
    super(message);
  }
}

export const errorBody = (code: string, message: string, details?: Record<string, unknown>) => ({
  error: details ? { code, message, details } : { code, message },
});

export const notFound = (what = "resource") => new ApiError(404, "NOT_FOUND", `${what} not found`);
export const invalidTransition = (message: string) => new ApiError(409, "INVALID_TRANSITION", message);

/** Maps an expected failure returned across object RPC to its HTTP form. */
export function fromRpcError(error: { code: string; message: string }): ApiError {
  switch (error.code) {
    case "SESSION_NOT_FOUND":
      return notFound("session");
    case "FORBIDDEN":
      return new ApiError(403, "FORBIDDEN", error.message);
    default:
      return new ApiError(409, error.code === "INVALID_TRANSITION" ? "INVALID_TRANSITION" : error.code, error.message);
  }
}
