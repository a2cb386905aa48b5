// WebSocket close codes of our own (the application range, 4000-4999), shared by the objects that
// close sockets and the pages that read why. Each reads as an HTTP status would.

/** A watcher whose access ended (key revoked, member removed, role or password changed). */
export const ACCESS_ENDED_CODE = 4403;
/** The session's data was deleted by the team: gone for good, nothing to reconnect to. */
export const SESSION_DELETED_CODE = 4410;
