/**
 * Organisation credentials for INSi mutual TLS, loaded from a PKCS#12 file (node-forge).
 *
 * Refused at load time, with a reason, rather than at the first call:
 * - a certificate whose subject CN is not exactly INSI-AUTO or INSI-MANU (INSi answers DESIR_560);
 * - an expired or not-yet-valid certificate;
 * - a file without the issuing CA certificate (the chain the server needs to verify us);
 * - a file without a private key matching the certificate.
 */
import forge from "node-forge";
import { PasserelleError } from "../errors.ts";

/** The only CNs INSi accepts for organisation certificates (padoa README; support pages). */
export const ORGANISATION_CNS = ["INSI-AUTO", "INSI-MANU"] as const;

export interface OrganisationCredentials {
  readonly keyPem: string;
  /** The organisation certificate followed by its chain, as TLS wants it. */
  readonly certChainPem: string;
  readonly commonName: (typeof ORGANISATION_CNS)[number];
  readonly notAfter: Date;
  /**
   * The subject's OU, if any: padoa sends it as the contexts' Emetteur in this mode
   * (src/ins/class/emitter.helper.ts). IGC-Santé organisation certificates carry the structure's
   * identifier there; the normative Emetteur is not public.
   */
  readonly organisationalUnit?: string;
}

// PKCS#12 bag types (RFC 7292 §4.2).
const KEY_BAG = "1.2.840.113549.1.12.10.1.1";
const SHROUDED_KEY_BAG = "1.2.840.113549.1.12.10.1.2";
const CERT_BAG = "1.2.840.113549.1.12.10.1.3";

function refuse(message: string, problem: string, cause?: unknown): PasserelleError {
  return new PasserelleError(
    "INSI_NOT_CONFIGURED",
    `organisation certificate: ${message}`,
    { problem },
    cause,
  );
}

function commonName(cert: forge.pki.Certificate): string | undefined {
  const field = cert.subject.getField("CN") as { value?: unknown } | null;
  return typeof field?.value === "string" ? field.value : undefined;
}

/** Load and check the PKCS#12; `now` is injectable for tests. */
export function loadOrganisationCredentials(
  pkcs12: Uint8Array,
  passphrase: string | undefined,
  now = new Date(),
): OrganisationCredentials {
  let p12: forge.pkcs12.Pkcs12Pfx;
  try {
    const asn1 = forge.asn1.fromDer(forge.util.createBuffer(Buffer.from(pkcs12).toString("binary")));
    p12 = forge.pkcs12.pkcs12FromAsn1(asn1, passphrase ?? "");
  } catch (error) {
    throw refuse("the PKCS#12 file cannot be read (wrong passphrase or format)", "unreadable", error);
  }
  const bags = (bagType: string): forge.pkcs12.Bag[] => p12.getBags({ bagType })[bagType] ?? [];
  const certs = bags(CERT_BAG)
    .map((bag) => bag.cert)
    .filter((c): c is forge.pki.Certificate => c !== undefined);
  const keyBags = [...bags(SHROUDED_KEY_BAG), ...bags(KEY_BAG)];
  const key = keyBags[0]?.key as forge.pki.rsa.PrivateKey | undefined;
  if (key === undefined) throw refuse("the PKCS#12 file holds no private key", "no-key");
  const leaf = certs.find((c) => {
    const pub = c.publicKey as forge.pki.rsa.PublicKey;
    return pub.n !== undefined && pub.n.equals(key.n) && pub.e.equals(key.e);
  });
  if (leaf === undefined) throw refuse("no certificate matches the private key", "no-matching-certificate");
  const cn = commonName(leaf);
  const allowed = ORGANISATION_CNS.find((name) => name === cn);
  if (allowed === undefined)
    throw refuse("its CN must be exactly INSI-AUTO or INSI-MANU (INSi answers DESIR_560)", "wrong-cn");
  if (now < leaf.validity.notBefore) throw refuse("it is not valid yet", "not-yet-valid");
  if (now > leaf.validity.notAfter) throw refuse("it has expired", "expired");
  const chain = certs.filter((c) => c !== leaf);
  const issuer = chain.find((c) => {
    try {
      return c.subject.hash === leaf.issuer.hash && c.verify(leaf);
    } catch {
      return false;
    }
  });
  if (issuer === undefined)
    throw refuse("the file does not hold its issuing CA certificate (chain)", "no-chain");
  const ou = leaf.subject.getField("OU") as { value?: unknown } | null;
  const organisationalUnit = typeof ou?.value === "string" && ou.value !== "" ? ou.value : undefined;
  return {
    ...(organisationalUnit === undefined ? {} : { organisationalUnit }),
    keyPem: forge.pki.privateKeyToPem(key),
    certChainPem: [leaf, ...chain].map((c) => forge.pki.certificateToPem(c)).join(""),
    commonName: allowed,
    notAfter: leaf.validity.notAfter,
  };
}
