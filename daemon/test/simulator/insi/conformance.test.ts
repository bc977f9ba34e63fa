/**
 * The public CNDA scenarios as tests (the same list `passerelle insi conformance` runs), the
 * simulator's answers compared with the CNDA sample files of ../shared (parsed by our client's
 * parser, field by field), and the table in docs/insi.md kept in step with the scenarios.
 */
import { before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parseInsiResponse } from "../../../src/insi/response.ts";
import {
  CONFORMANCE_SCENARIOS,
  conformanceTable,
  runConformance,
  type ConformanceRow,
} from "../../../src/simulator/insi/conformance.ts";
import { findByTraits } from "../../../src/simulator/insi/identities.ts";
import { resultatEnvelope } from "../../../src/simulator/insi/responses.ts";

const SAMPLES = fileURLToPath(
  new URL("../../../../../shared/insi-files/padoa-tlsi-ins/samples/", import.meta.url),
);
const DOCS = fileURLToPath(new URL("../../../../docs/insi.md", import.meta.url));
const META = { messageId: "m", receivedAt: "t" };

describe("the public CNDA scenarios against the simulator", () => {
  let rows: ConformanceRow[] = [];
  before(async () => {
    rows = await runConformance();
  });
  for (const scenario of CONFORMANCE_SCENARIOS) {
    for (const mode of ["organisation", "card", "psc"] as const) {
      test(`${scenario.id} (${mode}): ${scenario.title}`, () => {
        const row = rows.find((r) => r.id === scenario.id && r.mode === mode);
        assert.ok(row, "the scenario ran");
        assert.deepEqual(row.problems, []);
      });
    }
  }
  test("docs/insi.md carries the conformance table as the scenarios produce it", () => {
    const docs = readFileSync(DOCS, "utf8");
    for (const line of conformanceTable(rows).split("\n"))
      assert.ok(docs.includes(line), `docs/insi.md lacks: ${line}`);
  });
});

describe("the simulator answers as the CNDA sample files", () => {
  const cases: Array<[string, { birthName: string; prenom: string; sex: string; birthDate: string }]> = [
    ["REP_CR01.xml", { birthName: "TCHITCHI", prenom: "OLA", sex: "F", birthDate: "1936-06-21" }],
    ["TEST_2.05.xml", { birthName: "PROVISOIRE", prenom: "MATRICULE", sex: "M", birthDate: "2009-07-01" }],
    ["TEST_2.08_cas1.xml", { birthName: "CORSE", prenom: "ANTHONY", sex: "M", birthDate: "1980-03-02" }],
    ["TEST_2.08_cas2.xml", { birthName: "HERMANN", prenom: "GATIEN", sex: "M", birthDate: "1981-03-24" }],
    [
      "TEST_2.04_cas2.xml",
      { birthName: "ECETINSI", prenom: "PIERRE-ALAIN", sex: "M", birthDate: "2009-07-14" },
    ],
  ];
  for (const [file, query] of cases) {
    test(file, () => {
      const expected = parseInsiResponse(readFileSync(SAMPLES + file, "utf8"), META);
      const matches = findByTraits({ ...query, prenoms: [query.prenom] });
      const cr = matches.length === 0 ? "01" : "00";
      const ours = parseInsiResponse(
        resultatEnvelope("rechercherInsAvecTraitsIdentite", "uuid:x", cr, matches[0]),
        META,
      );
      assert.equal(ours.cr.code, expected.cr.code);
      // The sample's history dates are its own; the matricules, OIDs, keys and traits must agree.
      const strip = (r: typeof ours) =>
        r.identity === undefined
          ? undefined
          : {
              ...r.identity,
              ins: { ...r.identity.ins, validFrom: undefined, validTo: undefined },
              history: r.identity.history.map((h) => ({ ...h, validFrom: undefined, validTo: undefined })),
            };
      assert.deepEqual(strip(ours), strip(expected));
    });
  }
});
