/**
 * The INSi commands on their own, as `passerelle` registers them: lets the system tests run them in
 * a separate process whatever else main.ts wires.
 */
import { Command } from "commander";
import { registerAuditTail } from "../../daemon/src/cli/audit-tail.ts";
import { registerInsiParse } from "../../daemon/src/cli/insi-parse.ts";
import { registerLabInsi } from "../../daemon/src/cli/lab-insi.ts";

const program = new Command("passerelle").exitOverride();
registerInsiParse(program);
registerLabInsi(program);
registerAuditTail(program);
await program.parseAsync(process.argv);
