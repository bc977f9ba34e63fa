/** Shared test helpers: an INSi config against a simulator, a recording audit sink, a key-backed signer. */
import { sign } from "node:crypto";
import type { AuditEvent, AuditSink } from "../../src/audit/audit-trail.ts";
import { InsiConfig } from "../../src/insi/config.ts";
import type { AssertionSigner } from "../../src/insi/signer.ts";
import { SIMULATED_ASSERTION_ATTRIBUTES, SIMULATOR_IDAM } from "../../src/simulator/insi/server.ts";
import type { TestCertificate } from "../../src/simulator/insi/test-pki.ts";

export const ORIGIN = "https://ehr.example";
export const OTHER_ORIGIN = "https://other-ehr.example";

export function simulatorConfig(
  url: string,
  mode: "card" | "organisation" | "psc",
  extra: Record<string, unknown> = {},
): InsiConfig {
  return InsiConfig.parse({
    mode,
    endpoints: { [mode]: url },
    ...(mode !== "organisation" ? { attributes: { default: SIMULATED_ASSERTION_ATTRIBUTES } } : {}),
    lps: {
      default: { idam: SIMULATOR_IDAM, softwareName: "PasserelleTest", softwareVersion: "1.0" },
      origins: {
        [OTHER_ORIGIN]: { idam: "UNKNOWN-IDAM-42", softwareName: "OtherEhr", softwareVersion: "2.1" },
      },
    },
    timeouts: { connectMs: 2_000, responseMs: 2_000 },
    ...extra,
  });
}

export class RecordingAudit implements AuditSink {
  readonly events: AuditEvent[] = [];
  async record(event: AuditEvent): Promise<void> {
    this.events.push(event);
  }
}

export function keySigner(cert: TestCertificate): AssertionSigner & { calls: number } {
  return {
    calls: 0,
    async signatureCertificatePem() {
      return cert.certPem;
    },
    async sign(data) {
      this.calls += 1;
      return sign("sha256", data, cert.privateKey);
    },
  };
}

export const ADRUN = {
  birthName: "Adrun",
  firstNames: ["Zoé"],
  sex: "F",
  birthDate: "1975-12-31",
  birthPlace: "63220",
} as const;
