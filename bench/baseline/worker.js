// The bench baseline: a bare Worker routing to one Durable Object per name.
//   GET  /ws?name=…  WebSocket upgrade to the object `name`; every text frame is echoed back as is
//                   (hibernation API, as the product's session object uses). With &write=1 the object
//                   first appends the frame to its SQLite storage, so the echo leaves only once the write
//                   is durable (output gate): the floor for a durable ack.
//   POST /new       creates a brand-new object under a random name and calls it once (RPC). With
//                   ?write=1 that call also stores one row, so the object gets its SQLite file: the
//                   floor for creating anything durable (informational, beside the joins).
//   GET  /healthz   answers without touching an object.
import { DurableObject } from "cloudflare:workers";

export class Echo extends DurableObject {
  #table = false;

  async fetch(request) {
    if (request.headers.get("Upgrade")?.toLowerCase() !== "websocket") return new Response("expected a WebSocket upgrade", { status: 426 });
    const pair = new WebSocketPair();
    this.ctx.acceptWebSocket(pair[1]);
    pair[1].serializeAttachment({ write: new URL(request.url).searchParams.get("write") === "1" });
    return new Response(null, { status: 101, webSocket: pair[0] });
  }

  async webSocketMessage(ws, message) {
    if (ws.deserializeAttachment()?.write) {
      // Created on first use, so that /new stays a bare object with no storage at all.
      if (!this.#table) this.ctx.storage.sql.exec("CREATE TABLE IF NOT EXISTS log (seq INTEGER PRIMARY KEY AUTOINCREMENT, body TEXT NOT NULL)");
      this.#table = true;
      this.ctx.storage.sql.exec("INSERT INTO log (body) VALUES (?)", String(message));
    }
    ws.send(message);
  }

  async webSocketClose(ws, code, reason) {
    try {
      ws.close(code === 1005 || code === 1006 ? 1000 : code, reason);
    } catch {
      // already closed
    }
  }

  async hello(name, write = false) {
    if (write) {
      this.ctx.storage.sql.exec("CREATE TABLE IF NOT EXISTS log (seq INTEGER PRIMARY KEY AUTOINCREMENT, body TEXT NOT NULL)");
      this.ctx.storage.sql.exec("INSERT INTO log (body) VALUES (?)", name);
    }
    return { ok: true, name };
  }
}

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    if (url.pathname === "/ws") {
      const name = url.searchParams.get("name") ?? "echo";
      return env.ECHO.get(env.ECHO.idFromName(name)).fetch(request);
    }
    if (url.pathname === "/new" && request.method === "POST") {
      const name = crypto.randomUUID();
      const r = await env.ECHO.get(env.ECHO.idFromName(name)).hello(name, url.searchParams.get("write") === "1");
      return Response.json(r, { status: 201 });
    }
    if (url.pathname === "/healthz") return Response.json({ ok: true });
    return new Response("not found", { status: 404 });
  },
};
