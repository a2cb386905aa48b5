// What one WebSocket message costs a Durable Object when it also writes, sets an alarm, calls another
// object, writes D1 or sends to a queue: the runtime's primitives, priced on this machine, to judge
// which of the session object's per-answer steps are worth removing. Not part of `npm run bench`.
//
//   PATH=$PWD/node_modules/.bin:$PATH node bench/experiments/primitives.mjs [--modes=echo,w1,...] [--clients=100] [--think=1000] [--seconds=12]
//
// Each mode: `clients` sockets (one object each) send a frame, wait for its echo, think about
// `think` ms (0.5–1.5×) and send again, for `seconds`; workerd CPU per message is read after 2 s of drain.
import { loadavg } from "node:os";
import { join } from "node:path";
import { echoBench } from "../lib/baseline.mjs";
import { cpuDelta, freshDir, groupCpuMs, killAll, removeTempDirs, startDev } from "../lib/server.mjs";
import { perOp } from "../lib/stats.mjs";

const arg = (name, dflt) => process.argv.slice(2).find((a) => a.startsWith(`--${name}=`))?.split("=")[1] ?? dflt;
const modes = arg("modes", "echo,w1,w3,w1w,alarm,rpc,d1,queue,echo").split(",");
const clients = Number(arg("clients", 100));
const thinkMs = Number(arg("think", 1000));
const seconds = Number(arg("seconds", 12));

process.on("exit", killAll);
try {
  const s = await startDev({ label: "primitives", config: join(import.meta.dirname, "primitives", "wrangler.toml"), persistTo: freshDir("primitives") });
  try {
    await fetch(`${s.base}/setup`);
    console.log(`${clients} clients, think ${thinkMs} ms, ${seconds} s per mode\n`);
    for (const mode of modes) {
      let before;
      const r = await echoBench(s.base, {
        clients,
        warmupMs: 1500,
        durationMs: seconds * 1000,
        thinkMs,
        path: (i) => `/ws?name=${mode}-${i}&mode=${mode}`,
        cpu: (b) => (b === undefined ? (before = groupCpuMs(s.pid)) : null),
      });
      await new Promise((res) => setTimeout(res, 2000));
      const cpu = perOp(cpuDelta(before, groupCpuMs(s.pid)), r.messages);
      console.log(`${mode.padEnd(6)} ${r.perSecond.toFixed(0).padStart(6)} msg/s   rtt p50/p99 ${r.rtt.p50.toFixed(1).padStart(6)} / ${r.rtt.p99.toFixed(1).padStart(6)} ms   workerd CPU ${String(cpu.workerd ?? "?").padStart(5)} ms/msg   load ${loadavg()[0].toFixed(1)}`);
    }
  } finally {
    await s.stop();
  }
} finally {
  killAll();
  removeTempDirs();
}
