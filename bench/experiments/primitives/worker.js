// What the runtime's primitives cost a Durable Object per WebSocket message (bench/experiments/primitives.mjs).
// Each socket names a mode; every text frame is answered after the mode's work:
//   echo   nothing (the bench's baseline)
//   w1     one SQLite insert, then the echo (a durable ack's floor)
//   w3     three inserts in the same turn
//   w1w    one insert, the echo, then after a timer turn a second insert (a second commit)
//   alarm  one insert and a setAlarm in the same turn
//   rpc    one insert, the echo, then an RPC to one shared object (as the campaign hub)
//   d1     one insert, the echo, then a D1 upsert
//   queue  one insert, the echo, then a queue send (the consumer acks the batch)
import { DurableObject } from "cloudflare:workers";

export class Echo extends DurableObject {
  #table = false;

  async fetch(request) {
    const pair = new WebSocketPair();
    this.ctx.acceptWebSocket(pair[1]);
    pair[1].serializeAttachment({ mode: new URL(request.url).searchParams.get("mode") ?? "echo" });
    return new Response(null, { status: 101, webSocket: pair[0] });
  }

  #insert(message) {
    if (!this.#table) this.ctx.storage.sql.exec("CREATE TABLE IF NOT EXISTS log (seq INTEGER PRIMARY KEY, body TEXT NOT NULL)");
    this.#table = true;
    this.ctx.storage.sql.exec("INSERT INTO log (body) VALUES (?)", String(message));
  }

  async webSocketMessage(ws, message) {
    const { mode } = ws.deserializeAttachment();
    if (mode !== "echo") this.#insert(message);
    if (mode === "w3") {
      this.#insert(message);
      this.#insert(message);
    }
    if (mode === "alarm") await this.ctx.storage.setAlarm(Date.now() + 600_000);
    ws.send(message);
    if (mode === "w1w") {
      await new Promise((r) => setTimeout(r, 1));
      this.#insert(message);
    } else if (mode === "rpc") await this.env.ECHO.get(this.env.ECHO.idFromName("hub")).publish(String(message));
    else if (mode === "d1") await this.env.DB.prepare("INSERT INTO mirror (id, n) VALUES (?, 1) ON CONFLICT(id) DO UPDATE SET n = n + 1").bind(this.ctx.id.toString()).run();
    else if (mode === "queue") await this.env.Q.send({ id: this.ctx.id.toString() });
  }

  async alarm() {}

  async publish(body) {
    for (const ws of this.ctx.getWebSockets()) ws.send(body);
    return body.length;
  }
}

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    if (url.pathname === "/ws") return env.ECHO.get(env.ECHO.idFromName(url.searchParams.get("name") ?? "echo")).fetch(request);
    if (url.pathname === "/setup") {
      await env.DB.prepare("CREATE TABLE IF NOT EXISTS mirror (id TEXT PRIMARY KEY, n INTEGER NOT NULL)").run();
      return Response.json({ ok: true });
    }
    if (url.pathname === "/healthz") return Response.json({ ok: true });
    return new Response("not found", { status: 404 });
  },
  async queue(batch) {
    batch.ackAll();
  },
};
