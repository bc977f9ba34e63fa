/**
 * Child process for bench/idle-cpu.ts. With `readers`: starts the daemon's Readers on the real
 * pcscd and waits for the first view; without: an idle Node process (the baseline). Then, after
 * a settle time, measures its own CPU time over the window and prints one JSON line.
 */
import { createReaders } from "../../daemon/src/pcsc/index.ts";
import { createSystemBackend } from "../../daemon/src/pcsc/binding/koffi-backend.ts";

const [mode = "baseline", windowSeconds = "20", settleSeconds = "2"] = process.argv.slice(2);
const readers = mode === "readers" ? await createReaders({ backend: createSystemBackend() }) : undefined;
const listed = readers?.list().map((r) => ({ id: r.id, cardPresent: r.cardPresent }));
let wakeups = 0;
readers?.subscribe(() => (wakeups += 1));
await new Promise((resolve) => setTimeout(resolve, Number(settleSeconds) * 1000));
const before = process.cpuUsage();
await new Promise((resolve) => setTimeout(resolve, Number(windowSeconds) * 1000));
const used = process.cpuUsage(before);
console.log(
  JSON.stringify({
    mode,
    cpuMs: (used.user + used.system) / 1000,
    rssBytes: process.memoryUsage().rss,
    windowSeconds: Number(windowSeconds),
    listed,
    events: wakeups,
  }),
);
await readers?.close();
