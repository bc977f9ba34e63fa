// Writes docs/protocol.schema.json from the zod schemas: `npm run schema`.
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { protocolJsonSchemaText } from "../src/json-schema.ts";

const target = fileURLToPath(new URL("../../docs/protocol.schema.json", import.meta.url));
writeFileSync(target, protocolJsonSchemaText());
process.stdout.write(`wrote ${target}\n`);
