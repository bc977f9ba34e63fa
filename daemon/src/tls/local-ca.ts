/**
 * The per-machine local CA and the `localhost` leaf certificate for wss://localhost.
 *
 * - The CA carries critical name constraints (DNS `localhost`, IP 127.0.0.1/32 and ::1/128) and
 *   basicConstraints cA pathLen 0: even if its key leaked, it could not vouch for any other name.
 * - The CA private key lives in memory only, for the time it takes to sign the leaf; it is never
 *   written to disk (Fortify issue 37, rushstack PR 3719). Renewing the leaf therefore means a new
 *   CA, trusted again (trust-store installation comes with a later issue).
 * - The leaf key file is created with mode 0600; the CA certificate is exported for trusting.
 * - Checking existing material needs node:crypto alone; issuing it (local-ca-issue.ts, node-forge)
 *   is loaded on first use.
 */
import { X509Certificate } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import path from "node:path";

/** Leaf lifetime. Browsers cap publicly trusted leaves at 398 days; we stay under it anyway. */
export const LEAF_VALIDITY_DAYS = 397;
/** Renew when the leaf has fewer days left than this. */
export const RENEW_BEFORE_DAYS = 30;

export interface LocalTlsMaterial {
  /** PEM of the local CA certificate, to be trusted by browsers. */
  caPem: string;
  certPem: string;
  keyPem: string;
  caFile: string;
  /** True when this call generated new material. */
  generated: boolean;
}

function stillGood(caPem: string, certPem: string, now: Date): boolean {
  try {
    const ca = new X509Certificate(caPem);
    const leaf = new X509Certificate(certPem);
    const renewAt = new Date(leaf.validTo).getTime() - RENEW_BEFORE_DAYS * 24 * 60 * 60 * 1000;
    return leaf.checkIssued(ca) && leaf.verify(ca.publicKey) && now.getTime() < renewAt;
  } catch {
    return false;
  }
}

function writeAtomically(file: string, content: string, mode: number): void {
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, content, { mode });
  chmodSync(temporary, mode); // the umask may have removed bits; 0600 must be exact
  renameSync(temporary, file);
}

/**
 * Loads the material from `<dataDir>/tls`, generating (and exporting) it when missing or due; the
 * issuing code and node-forge are loaded only then.
 */
export async function ensureLocalTls(dataDir: string, now = new Date()): Promise<LocalTlsMaterial> {
  const dir = path.join(dataDir, "tls");
  const caFile = path.join(dir, "passerelle-local-ca.pem");
  const certFile = path.join(dir, "localhost.pem");
  const keyFile = path.join(dir, "localhost-key.pem");
  if (existsSync(caFile) && existsSync(certFile) && existsSync(keyFile)) {
    const caPem = readFileSync(caFile, "utf8");
    const certPem = readFileSync(certFile, "utf8");
    if (stillGood(caPem, certPem, now)) {
      return { caPem, certPem, keyPem: readFileSync(keyFile, "utf8"), caFile, generated: false };
    }
  }
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const { generateLocalTls } = await import("./local-ca-issue.ts");
  const material = generateLocalTls(now);
  writeAtomically(keyFile, material.keyPem, 0o600);
  writeAtomically(certFile, material.certPem, 0o644);
  writeAtomically(caFile, material.caPem, 0o644);
  return { ...material, caFile, generated: true };
}
