/**
 * The audit trail's disk fills up under a running daemon: a real full filesystem (a 1 MiB tmpfs as
 * the data folder, filled by a file, so the kernel itself answers ENOSPC; skipped where mount is not
 * allowed). Audited calls fail typed (AUDIT_UNAVAILABLE), nothing is answered unaudited, unaudited
 * calls keep working, and once space is freed the same calls succeed and the trail parses whole.
 * daemon/test/audit/audit-trail.test.ts and daemon/test/server/audited-calls.test.ts do the same
 * at the writer's boundary (/dev/full) on every machine.
 */
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, test } from "node:test";
import { AUDIT_DIR_NAME, readAuditTail } from "../../daemon/src/audit/audit-trail.ts";
import { RpcPeer, openSocket, startDaemon } from "../helpers/daemon.ts";

const ORIGIN = "https://ehr.example.fr";
const mountPoint = mkdtempSync(path.join(tmpdir(), "passerelle-full-disk-"));
const mounted =
  process.getuid?.() === 0 &&
  spawnSync("mount", ["-t", "tmpfs", "-o", "size=1m", "tmpfs", mountPoint]).status === 0;
after(() => {
  if (mounted) execFileSync("umount", ["-l", mountPoint]);
  rmSync(mountPoint, { recursive: true, force: true });
});

test(
  "a full disk: AUDIT_UNAVAILABLE for audited calls, the rest works, all is well once space is back",
  {
    skip: mounted ? false : "mount -t tmpfs is not allowed here",
  },
  async () => {
    const dataDir = path.join(mountPoint, "data");
    mkdirSync(dataDir);
    const daemon = await startDaemon({
      plaintext: true,
      dataDir,
      args: ["--simulate", "--allow-origin", ORIGIN],
    });
    try {
      const opened = await openSocket(daemon, { origin: ORIGIN });
      assert.ok("socket" in opened);
      const rpc = new RpcPeer(opened.socket);
      assert.ok((await rpc.call("cps.verifyPin", { pin: "1234" }))["result"]);
      // Fill what is left (the kernel refuses the last bytes: ENOSPC is expected here).
      const filler = path.join(mountPoint, "filler");
      try {
        writeFileSync(filler, Buffer.alloc(2 * 1024 * 1024));
      } catch (error) {
        assert.equal((error as NodeJS.ErrnoException).code, "ENOSPC");
      }
      // The audit file's last page still has room: records go on until it is full (real disk behaviour).
      let answered = 0;
      for (;;) {
        const answer = await rpc.call("cps.verifyPin", { pin: "1234" });
        if (answer["result"]) {
          answered += 1;
          assert.ok(answered < 100, "the full disk never refused a record");
          continue;
        }
        const error = answer["error"] as { data?: { reason?: string; code?: string } };
        assert.equal(error?.data?.reason, "AUDIT_UNAVAILABLE", JSON.stringify(error));
        assert.equal(error.data?.code, "ENOSPC");
        break;
      }
      for (let i = 0; i < 3; i += 1) {
        const error = (await rpc.call("cps.verifyPin", { pin: "1234" }))["error"] as {
          data?: { reason?: string };
        };
        assert.equal(error?.data?.reason, "AUDIT_UNAVAILABLE", "still full: still refused");
      }
      assert.ok((await rpc.call("vitale.read", {}))["result"], "what is not audited keeps working");
      rmSync(filler);
      assert.ok((await rpc.call("cps.verifyPin", { pin: "1234" }))["result"], "works again with space");
      rpc.close();
      assert.equal(await daemon.stop(), 0);
      const { records, skippedLines } = await readAuditTail(path.join(dataDir, AUDIT_DIR_NAME), 100);
      // The two verifications that were answered are on disk; a torn write from the full disk at most
      // costs its own line, never the one after it.
      const verified = records.filter((r) => r.method === "cps.verifyPin" && r.reason === undefined);
      assert.ok(verified.length >= answered + 2, `${verified.length} records for ${answered + 2} answered`);
      assert.ok(skippedLines <= 1, `${skippedLines} unreadable lines`);
    } finally {
      await daemon.stop();
    }
  },
);
