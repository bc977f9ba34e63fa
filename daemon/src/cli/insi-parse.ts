/**
 * `passerelle insi parse-response FILE`: reads a saved INSi response and prints the normalised
 * InsiResult as JSON on stdout (exit 0), or `{"error":{reason,message,details}}` on stdout (exit 1)
 * for a SOAP fault or an invalid response. An unreadable file is a usage error (stderr, exit 2).
 */
import { readFile, stat } from "node:fs/promises";
import { basename } from "node:path";
import type { Command } from "commander";
import { isPasserelleError } from "../errors.ts";
import { parseInsiResponse } from "../insi/response.ts";
import { MAX_RESPONSE_BYTES } from "../insi/xml.ts";

export const PARSE_EXIT = { ok: 0, rejected: 1, unreadable: 2 } as const;

function insiCommand(program: Command): Command {
  return (
    program.commands.find((c) => c.name() === "insi") ?? program.command("insi").description("INSi tools")
  );
}

/** What the command prints, and its exit code (kept apart from I/O for tests and reuse). */
export async function parseResponseFile(file: string): Promise<{ output: string; exitCode: number }> {
  let text: string;
  let receivedAt: string;
  try {
    const info = await stat(file);
    // Read at most one byte more than the parser accepts: the parser reports the size itself.
    if (info.size > MAX_RESPONSE_BYTES + 1) {
      text = (await readFile(file)).subarray(0, MAX_RESPONSE_BYTES + 1).toString("utf8");
    } else {
      text = await readFile(file, "utf8");
    }
    receivedAt = info.mtime.toISOString();
  } catch (error) {
    return {
      output: `cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? "error"}`,
      exitCode: PARSE_EXIT.unreadable,
    };
  }
  try {
    const result = parseInsiResponse(text, { messageId: `file:${basename(file)}`, receivedAt });
    return { output: JSON.stringify(result, null, 2), exitCode: PARSE_EXIT.ok };
  } catch (error) {
    if (!isPasserelleError(error)) throw error;
    const report = {
      error: { reason: error.reason, code: error.code, message: error.message, details: error.details },
    };
    return { output: JSON.stringify(report, null, 2), exitCode: PARSE_EXIT.rejected };
  }
}

export function registerInsiParse(program: Command): Command {
  return insiCommand(program)
    .command("parse-response")
    .description("print the normalised InsiResult of a saved INSi response (JSON)")
    .argument("<file>", "an INSi SOAP response (XML)")
    .action(async (file: string) => {
      const { output, exitCode } = await parseResponseFile(file);
      if (exitCode === PARSE_EXIT.unreadable) process.stderr.write(`passerelle: ${output}\n`);
      else process.stdout.write(`${output}\n`);
      process.exitCode = exitCode;
    });
}
