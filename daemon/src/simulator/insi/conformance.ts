/**
 * The public CNDA scenarios, as our own descriptions: what a CNDA sample file, padoa's CNDA cases
 * and recorded qualification calls, a CNDA-numbered public test and the integration guide's quoted
 * rules say a conforming client does — run by our client against the simulator, in organisation,
 * card and Pro Santé Connect mode. `passerelle insi conformance` prints the table; the same scenarios are
 * tests (daemon/test/simulator/insi/conformance.test.ts). Sources are in docs/insi.md.
 */
import type { InsiResult } from "@passerelle/protocol";
import { isPasserelleError } from "../../errors.ts";
import { createInsiClient } from "../../insi/client.ts";
import { InsiConfig } from "../../insi/config.ts";
import { loadOrganisationCredentials } from "../../insi/credentials.ts";
import type { AssertionSigner } from "../../insi/signer.ts";
import { InvalidTraitsError, type IdentityTraitsInput } from "../../ins/traits.ts";
import { sign } from "node:crypto";
import { SIMULATED_ASSERTION_ATTRIBUTES, SIMULATOR_IDAM, startInsiSimulator } from "./server.ts";
import { getPscTestIssuer } from "./psc-issuer.ts";
import { getInsiTestPki } from "./test-pki.ts";

export type ConformanceMode = "organisation" | "card" | "psc";

interface Expectation {
  readonly outcome?: InsiResult["outcome"];
  /** The active matricule, its OID, and whether its key verifies. */
  readonly ins?: { readonly value: string; readonly oid: string; readonly keyValid?: boolean };
  readonly historyLength?: number;
  readonly firstNames?: readonly string[];
  /** INSi calls the client makes (each one audited). */
  readonly calls?: number;
  /** Refused before any call (the traits cannot be sent). */
  readonly refusedBeforeCall?: boolean;
  /** A fault code (INSI_FAULT). */
  readonly faultCode?: string;
}

export interface ConformanceScenario {
  readonly id: string;
  readonly source: string;
  readonly title: string;
  readonly traits: IdentityTraitsInput;
  /** An IDAM other than the simulator's (unknown software). */
  readonly idam?: string;
  readonly expect: Expectation;
}

const NIR = "1.2.250.1.213.1.4.8";
const NIA = "1.2.250.1.213.1.4.9";

export const CONFORMANCE_SCENARIOS: readonly ConformanceScenario[] = [
  {
    id: "CNDA-REP-CR01",
    source: "CNDA sample REP_CR01.xml (padoa fixtures)",
    title: "no identity: TCHITCHI OLA → CR 01",
    traits: { birthName: "TCHITCHI", firstNames: ["OLA"], sex: "F", birthDate: "1936-06-21" },
    expect: { outcome: "notFound", calls: 1 },
  },
  {
    id: "CNDA-2.04-2",
    source: "CNDA sample TEST_2.04_cas2.xml",
    title: "ECETINSI PIERRE-ALAIN: active INS, two INSHISTO, three given names",
    traits: { birthName: "ECETINSI", firstNames: ["PIERRE-ALAIN"], sex: "M", birthDate: "2009-07-14" },
    expect: {
      outcome: "found",
      ins: { value: "1090763220834", oid: NIR, keyValid: true },
      historyLength: 2,
      firstNames: ["PIERRE-ALAIN", "MURIEL", "FLORIANT"],
      calls: 1,
    },
  },
  {
    id: "CNDA-2.05",
    source: "CNDA sample TEST_2.05.xml",
    title: "PROVISOIRE MATRICULE: a NIA (OID .9)",
    traits: { birthName: "PROVISOIRE", firstNames: ["MATRICULE"], sex: "M", birthDate: "2009-07-01" },
    expect: { outcome: "found", ins: { value: "1090763220888", oid: NIA, keyValid: true }, calls: 1 },
  },
  {
    id: "CNDA-2.08-1",
    source: "CNDA sample TEST_2.08_cas1.xml",
    title: "CORSE ANTHONY: Corsican matricule (2B), history repeats the active one",
    traits: { birthName: "CORSE", firstNames: ["ANTHONY"], sex: "M", birthDate: "1980-03-02" },
    expect: {
      outcome: "found",
      ins: { value: "180032B020401", oid: NIR, keyValid: true },
      historyLength: 1,
      calls: 1,
    },
  },
  {
    id: "CNDA-2.08-2",
    source: "CNDA sample TEST_2.08_cas2.xml",
    title: "HERMANN GATIEN: keys that do not verify are reported, not refused",
    traits: { birthName: "HERMANN", firstNames: ["GATIEN"], sex: "M", birthDate: "1981-03-24" },
    expect: {
      outcome: "found",
      ins: { value: "1810363220456", oid: NIR, keyValid: false },
      historyLength: 2,
      calls: 1,
    },
  },
  {
    id: "PADOA-OLA-CATARINA",
    source: "padoa CNDA case (insi-client.test.ts, tchitchi fixture)",
    title: "TCHITCHI OLA CATARINA BELLA: OLA → 01, then CATARINA → 00",
    traits: {
      birthName: "TCHITCHI",
      firstNames: ["OLA", "CATARINA", "BELLA"],
      sex: "F",
      birthDate: "1936-06-21",
    },
    expect: {
      outcome: "found",
      ins: { value: "2360663220836", oid: NIR, keyValid: true },
      firstNames: ["CATARINA", "BELLA"],
      calls: 2,
    },
  },
  {
    id: "PADOA-HOUILLES",
    source: "padoa CNDA case (PIERRE PAUL JACQUES)",
    title: "HOUILLES PIERRE PAUL JACQUES: each given name, then the list → CR 01",
    traits: {
      birthName: "HOUILLES",
      firstNames: ["PIERRE", "PAUL", "JACQUES"],
      sex: "M",
      birthDate: "1993-01-27",
    },
    expect: { outcome: "notFound", calls: 4 },
  },
  {
    id: "PADOA-DE-VINCI",
    source: "padoa recorded qualification answer (de-vinci-leonardo fixture)",
    title: "DE VINCI LEONARDO → CR 02",
    traits: { birthName: "DE VINCI", firstNames: ["LEONARDO"], sex: "M", birthDate: "2014-02-01" },
    expect: { outcome: "multiple", calls: 1 },
  },
  {
    id: "PADOA-ADRUN",
    source: "padoa README live output (qualification)",
    title: "ADRUN ZOE: found with the NIR OID (.8)",
    traits: {
      birthName: "ADRUN",
      firstNames: ["ZOE"],
      sex: "F",
      birthDate: "1975-12-31",
      birthPlace: "63220",
    },
    expect: { outcome: "found", ins: { value: "2751263220749", oid: NIR, keyValid: true }, calls: 1 },
  },
  {
    id: "PADOA-ADRTROIS-2A",
    source: "padoa adrtrois-dominique fixture",
    title: "ADRTROIS DOMINIQUE: born in 2A",
    traits: { birthName: "ADRTROIS", firstNames: ["DOMINIQUE"], sex: "F", birthDate: "1997-02-26" },
    expect: { outcome: "found", ins: { value: "297022A020778", oid: NIR, keyValid: true }, calls: 1 },
  },
  {
    id: "PADOA-ADRTROIS-2B",
    source: "padoa adrtrois-toussaint fixture",
    title: "ADRTROIS TOUSSAINT: born in 2B",
    traits: { birthName: "ADRTROIS", firstNames: ["TOUSSAINT"], sex: "M", birthDate: "1960-01-01" },
    expect: { outcome: "found", ins: { value: "160012B020777", oid: NIR, keyValid: true }, calls: 1 },
  },
  {
    id: "PADOA-NESSI",
    source: "padoa NessiMichelangeloVirtualMode",
    title: "NESSI MICHELANGELO: ListePrenom has two names",
    traits: { birthName: "NESSI", firstNames: ["MICHELANGELO"], sex: "M", birthDate: "2010-08-07" },
    expect: { outcome: "found", firstNames: ["MICHELANGELO", "ANTHONY"], calls: 1 },
  },
  {
    id: "PADOA-FAKE-IDAM",
    source: "padoa siram_100-desir_500-fake-idam fixture",
    title: "unknown software authorisation → siram_100 / desir_550",
    traits: { birthName: "ADRUN", firstNames: ["ZOE"], sex: "F", birthDate: "1975-12-31" },
    idam: "FAKE-IDAM-0000",
    expect: { faultCode: "desir_550", calls: 1 },
  },
  {
    id: "CNDA-2.03-1",
    source: "CNDA-numbered public test 2.03 case 1 (Java INSi wrapper)",
    title: "D'ARTAGNAN DE L'HERAULT PIERRE-ALAIN: apostrophes and spaces → CR 00",
    traits: {
      birthName: "D'Artagnan de l'Hérault",
      firstNames: ["Pierre-Alain"],
      sex: "M",
      birthDate: "2001-06-17",
    },
    expect: { outcome: "found", calls: 1 },
  },
  {
    id: "CNDA-2.03-3",
    source: "CNDA-numbered public test 2.03 case 3 (Java INSi wrapper)",
    title: "ligatures Æ / Œ: no call",
    traits: { birthName: "CŒUR", firstNames: ["ÆLIS"], sex: "F", birthDate: "1990-01-01" },
    expect: { refusedBeforeCall: true, calls: 0 },
  },
  {
    id: "GUIDE-LEADING-APOSTROPHE",
    source: "SEL-MP-043 §3.4.1 as quoted (EF_INS10_01)",
    title: "'T HOOFT: a leading apostrophe is sent (CR 01 here)",
    traits: { birthName: "'t Hooft", firstNames: ["Anna"], sex: "F", birthDate: "1970-05-04" },
    expect: { outcome: "notFound", calls: 1 },
  },
  {
    id: "GUIDE-GIVEN-DOUBLE-HYPHEN",
    source: "SEL-MP-043 §3.4.1 as quoted (EF_INS10_02)",
    title: "a given name with a double hyphen: no call",
    traits: { birthName: "MARTIN--DURAND", firstNames: ["JEAN--PIERRE"], sex: "M", birthDate: "1970-05-04" },
    expect: { refusedBeforeCall: true, calls: 0 },
  },
];

export interface ConformanceRow {
  readonly id: string;
  readonly title: string;
  readonly mode: ConformanceMode;
  readonly passed: boolean;
  /** What differed, in field names and codes (never identity content beyond the public test data). */
  readonly problems: readonly string[];
}

function compare(
  expect: Expectation,
  outcome: { result?: InsiResult; error?: unknown },
  calls: number,
): string[] {
  const problems: string[] = [];
  const { result, error } = outcome;
  if (expect.calls !== undefined && calls !== expect.calls) problems.push(`calls ${calls} ≠ ${expect.calls}`);
  if (expect.refusedBeforeCall) {
    if (!(error instanceof InvalidTraitsError)) problems.push("expected a refusal before the call");
    return problems;
  }
  if (expect.faultCode !== undefined) {
    const code = isPasserelleError(error, "INSI_FAULT") ? error.details["faultCode"] : undefined;
    if (code !== expect.faultCode) problems.push(`fault ${String(code)} ≠ ${expect.faultCode}`);
    return problems;
  }
  if (result === undefined)
    return [...problems, `error ${isPasserelleError(error) ? error.reason : String(error)}`];
  if (expect.outcome !== undefined && result.outcome !== expect.outcome)
    problems.push(`outcome ${result.outcome} ≠ ${expect.outcome}`);
  const identity = result.identity;
  if (expect.ins !== undefined) {
    if (identity?.ins.value !== expect.ins.value) problems.push("active matricule differs");
    if (identity?.ins.oid !== expect.ins.oid) problems.push("OID differs");
    if (expect.ins.keyValid !== undefined && identity?.ins.keyValid !== expect.ins.keyValid)
      problems.push("keyValid differs");
  }
  if (expect.historyLength !== undefined && identity?.history.length !== expect.historyLength)
    problems.push(`history length ${identity?.history.length ?? "none"} ≠ ${expect.historyLength}`);
  if (expect.firstNames !== undefined && identity?.firstNames.join(" ") !== expect.firstNames.join(" "))
    problems.push("given names differ");
  return problems;
}

/** Runs every scenario in each mode against a fresh simulator; nothing leaves the machine. */
export async function runConformance(
  modes: readonly ConformanceMode[] = ["organisation", "card", "psc"],
  scenarios: readonly ConformanceScenario[] = CONFORMANCE_SCENARIOS,
): Promise<ConformanceRow[]> {
  const pki = getInsiTestPki();
  const rows: ConformanceRow[] = [];
  const auto = pki.organisation("INSI-AUTO");
  const credentials = loadOrganisationCredentials(auto.pkcs12, auto.passphrase);
  const cps = pki.cpsSignature({
    idNat: "810100012345",
    lastName: "CNDA",
    firstName: "TEST",
    profession: "Medecin",
  });
  const signer: AssertionSigner = {
    signatureCertificatePem: async () => cps.certPem,
    sign: async (data) => sign("sha256", data, cps.privateKey),
  };
  for (const mode of modes) {
    const sim = await startInsiSimulator({ mode });
    try {
      for (const scenario of scenarios) {
        const config = InsiConfig.parse({
          mode,
          endpoints: { [mode]: sim.url },
          attributes: { default: SIMULATED_ASSERTION_ATTRIBUTES },
          lps: {
            default: {
              idam: scenario.idam ?? SIMULATOR_IDAM,
              softwareName: "Conformance",
              softwareVersion: "1",
            },
          },
        });
        const client = createInsiClient(config, {
          caPem: sim.caPem,
          ...(mode === "organisation" ? { organisationCredentials: credentials } : {}),
        });
        const before = sim.requests.length;
        let outcome: { result?: InsiResult; error?: unknown };
        try {
          outcome = {
            result: await client.searchByTraits(scenario.traits, {
              origin: "https://cnda.example",
              signer,
              // PSC mode: a fresh token of the simulator's test issuer for each scenario.
              psc: { accessToken: getPscTestIssuer().token({ idNat: "810100012345" }) },
            }),
          };
        } catch (error) {
          outcome = { error };
        } finally {
          client.close();
        }
        const problems = compare(scenario.expect, outcome, sim.requests.length - before);
        rows.push({ id: scenario.id, title: scenario.title, mode, passed: problems.length === 0, problems });
      }
    } finally {
      await sim.close();
    }
  }
  return rows;
}

/** The table `passerelle insi conformance` prints (Markdown, as in docs/insi.md). */
export function conformanceTable(rows: readonly ConformanceRow[]): string {
  const modes = [...new Set(rows.map((r) => r.mode))];
  const ids = [...new Set(rows.map((r) => r.id))];
  const lines = [
    `| scenario | what | ${modes.join(" | ")} |`,
    `| --- | --- | ${modes.map(() => "---").join(" | ")} |`,
  ];
  for (const id of ids) {
    const cells = modes.map((mode) => {
      const row = rows.find((r) => r.id === id && r.mode === mode);
      return row === undefined ? "—" : row.passed ? "pass" : `FAIL (${row.problems.join("; ")})`;
    });
    const title = rows.find((r) => r.id === id)?.title ?? "";
    lines.push(`| ${id} | ${title} | ${cells.join(" | ")} |`);
  }
  return lines.join("\n");
}
