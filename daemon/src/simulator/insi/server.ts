/**
 * The INSi simulator: an HTTPS SOAP 1.2 server that checks what the real service checks and answers
 * the public test identities.
 *
 * Checks, in order: mutual TLS with an INSI-AUTO/INSI-MANU certificate (organisation mode; an
 * untrusted or missing certificate ends the TLS connection, a wrong CN gets DESIR_560), the context
 * headers (ContexteLPS with IDAM R=4, MessageID uuid:, Action matching the body, ContexteBAM with
 * COUVERTURE), the IDAM (unknown → siram_100/desir_550), the assertion PS in card mode (signature by a
 * certificate from a trusted CA, exclusive C14N + RSA-SHA256, reference to the assertion itself,
 * validity window), then the body. Fault injection (delay, HTTP 500 fault, malformed XML, connection
 * reset, gateway 503) applies to every request until changed. Each request can be saved to a folder.
 */
import https from "node:https";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { TLSSocket } from "node:tls";
import { X509Certificate } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { AddressInfo } from "node:net";
import type { Element } from "@xmldom/xmldom";
import { AssertionRefused, checkAssertionPs, checkPscAssertion } from "./assertion-check.ts";
import { checkPscToken, getPscTestIssuer, type PscTestIssuer } from "./psc-issuer.ts";
import { validateEnvelope } from "./contract.ts";
import { checkTraits } from "./traits-check.ts";
import { ORGANISATION_CNS } from "../../insi/credentials.ts";
import { NS, OPERATIONS, type InsiOperation } from "../../insi/namespaces.ts";
import { childElements, childNamed, childrenNamed, parseUntrustedXml, textOf } from "../../insi/xml.ts";
import { findByMatricule, findByTraits, type SimulatedIdentity } from "./identities.ts";
import { FAULTS, faultEnvelope, resultatEnvelope, type CrCode, type SimulatorFault } from "./responses.ts";
import { getInsiTestPki, type InsiTestPki } from "./test-pki.ts";
import { getTestPki } from "../pki/test-pki.ts";
import { SIMULATED_VITALE_ISSUER } from "./vitale-assertion.ts";

/** IDAM the simulator knows unless told otherwise (a test authorisation number, obviously fake). */
export const SIMULATOR_IDAM = "SIMUPASSERELLE01";
/**
 * AttributeStatement values for simulated calls (demo, lab): fictitious. SA05 is the sector in
 * padoa's fixture; 01 is the AMO specialty of general practice.
 */
export const SIMULATED_ASSERTION_ATTRIBUTES = {
  identifiantFacturation: "991234567",
  secteurActivite: "SA05",
  codeSpecialite: "01",
} as const;
/** Largest request accepted. */
export const MAX_REQUEST_BYTES = 1024 * 1024;
/** Requests kept in `requests` (oldest dropped). */
export const MAX_KEPT_REQUESTS = 1000;

export type InsiSimulatorMode = "card" | "organisation" | "psc";

export type InsiSimulatorFault =
  | { readonly kind: "delay"; readonly ms: number }
  | { readonly kind: "http500" }
  | { readonly kind: "malformed" }
  | { readonly kind: "reset" }
  | { readonly kind: "unavailable" };

export interface InsiSimulatorOptions {
  /** 0 or absent: any free port. */
  readonly port?: number;
  readonly mode: InsiSimulatorMode;
  /** Folder where every request received is saved. */
  readonly record?: string | undefined;
  readonly faults?: readonly InsiSimulatorFault[];
  /** Known IDAMs (default: SIMULATOR_IDAM). */
  readonly idams?: readonly string[];
  /**
   * CA certificates trusted for assertion PS signatures (the leaf's direct issuer must be listed) and
   * client certificates. Default: the simulator's CA and the card lab's test PKI (simulator/pki), so
   * that the virtual CPS cards' signature certificates are accepted.
   */
  readonly trustedCaPems?: readonly string[];
  readonly pki?: InsiTestPki;
  readonly identities?: readonly SimulatedIdentity[];
  /** PSC mode: the issuer whose tokens are accepted (default: the process-wide test issuer). */
  readonly pscIssuer?: PscTestIssuer;
  readonly now?: () => Date;
}

export interface ReceivedRequest {
  readonly time: string;
  readonly operation?: InsiOperation;
  readonly messageId?: string;
  readonly clientCn?: string;
  /** The CR answered, or the fault code. */
  readonly answer: string;
  readonly body: string;
}

export interface InsiSimulator {
  /** https://127.0.0.1:<port>/lps */
  readonly url: string;
  /** The CA that signed the simulator's TLS certificate. */
  readonly caPem: string;
  readonly pki: InsiTestPki;
  readonly requests: ReceivedRequest[];
  setFault(...faults: InsiSimulatorFault[]): void;
  close(): Promise<void>;
}

class Refusal extends Error {
  readonly fault: SimulatorFault;
  constructor(fault: SimulatorFault) {
    super(fault.message);
    this.fault = fault;
  }
}

function required(parent: Element | undefined, ns: string, name: string, what: string): Element {
  const child = parent === undefined ? undefined : childNamed(parent, ns, name);
  if (child === undefined) throw new Refusal(FAULTS.header(`${what} manquant`));
  return child;
}

function operationOf(body: Element): InsiOperation {
  for (const [name, op] of Object.entries(OPERATIONS) as [
    InsiOperation,
    (typeof OPERATIONS)[InsiOperation],
  ][]) {
    if (body.namespaceURI === op.bodyNamespace && body.localName === op.bodyElement) return name;
  }
  throw new Refusal(FAULTS.header(`corps inconnu ${body.localName ?? ""}`));
}

function labCardCas(): string[] {
  const lab = getTestPki();
  return [lab.personnes.pem, lab.organisations.pem, lab.root.pem];
}

export async function startInsiSimulator(options: InsiSimulatorOptions): Promise<InsiSimulator> {
  const pki = options.pki ?? getInsiTestPki();
  const now = options.now ?? (() => new Date());
  const idams = new Set(options.idams ?? [SIMULATOR_IDAM]);
  const pscIssuer = options.pscIssuer ?? getPscTestIssuer();
  const trustedPems = options.trustedCaPems ?? [pki.caPem, ...labCardCas()];
  const trusted = trustedPems.map((pem) => new X509Certificate(pem));
  let faults: readonly InsiSimulatorFault[] = options.faults ?? [];
  const requests: ReceivedRequest[] = [];
  let sequence = 0;
  if (options.record !== undefined) await mkdir(options.record, { recursive: true });

  function handle(
    text: string,
    socket: TLSSocket,
    authorization: string | undefined,
  ): { status: number; body: string; received: Omit<ReceivedRequest, "time" | "body"> } {
    let messageId: string | undefined;
    let operation: InsiOperation | undefined;
    let clientCn: string | undefined;
    try {
      if (options.mode === "organisation") {
        const peer = socket.getPeerCertificate();
        clientCn = typeof peer.subject?.CN === "string" ? peer.subject.CN : undefined;
        if (!ORGANISATION_CNS.some((cn) => cn === clientCn)) throw new Refusal(FAULTS.wrongCn);
      }
      let root: Element;
      try {
        const doc = parseUntrustedXml(text);
        if (doc.documentElement === null) throw new Error("empty");
        root = doc.documentElement;
      } catch {
        throw new Refusal(FAULTS.header("XML illisible"));
      }
      if (root.namespaceURI !== NS.soap || root.localName !== "Envelope")
        throw new Refusal(FAULTS.header("enveloppe SOAP 1.2 attendue"));
      // The contract first (WSDL body and header schemas, contract.ts): order, unknown children,
      // cardinalities, the patterns the XSDs have.
      const violation = validateEnvelope(root)[0];
      if (violation !== undefined)
        throw new Refusal(FAULTS.schema(`${violation.path} : ${violation.problem}`));
      const header = required(root, NS.soap, "Header", "soap:Header");
      const bodyElements = childElements(required(root, NS.soap, "Body", "soap:Body"));
      if (bodyElements.length !== 1 || bodyElements[0] === undefined)
        throw new Refusal(FAULTS.header("un seul élément attendu dans le corps"));
      const body = bodyElements[0];
      operation = operationOf(body);

      messageId = textOf(required(header, NS.wsa, "MessageID", "wsa:MessageID"));
      if (!/^uuid:[0-9a-fA-F-]{36}$/.test(messageId ?? ""))
        throw new Refusal(FAULTS.header("wsa:MessageID doit être uuid:<UUID>"));
      if (textOf(required(header, NS.wsa, "Action", "wsa:Action")) !== OPERATIONS[operation].action) {
        throw new Refusal(FAULTS.header("wsa:Action ne correspond pas au corps"));
      }
      const lps = required(header, NS.ctxlps, "ContexteLPS", "ctxlps:ContexteLPS");
      if (!lps.getAttribute("Version")) throw new Refusal(FAULTS.header("ContexteLPS: Version"));
      required(lps, NS.ctxlps, "Id", "ContexteLPS/Id");
      if (Number.isNaN(Date.parse(textOf(required(lps, NS.ctxlps, "Temps", "ContexteLPS/Temps")) ?? ""))) {
        throw new Refusal(FAULTS.header("ContexteLPS/Temps invalide"));
      }
      const idam = required(
        required(lps, NS.ctxlps, "LPS", "ContexteLPS/LPS"),
        NS.ctxlps,
        "IDAM",
        "ContexteLPS/LPS/IDAM",
      );
      if (idam.getAttribute("R") !== "4") throw new Refusal(FAULTS.header("IDAM@R doit valoir 4"));
      const bam = required(header, NS.ctxbam, "ContexteBAM", "ctxbam:ContexteBAM");
      if (!bam.getAttribute("Version")) throw new Refusal(FAULTS.header("ContexteBAM: Version"));
      required(bam, NS.ctxbam, "COUVERTURE", "ContexteBAM/COUVERTURE");
      if (!idams.has(textOf(idam) ?? "")) throw new Refusal(FAULTS.unknownIdam);

      const security = childNamed(header, NS.wsse, "Security");
      const assertions = security === undefined ? [] : childrenNamed(security, NS.saml, "Assertion");
      if (options.mode === "psc") {
        // The bearer token (HTTP Authorization) from our test issuer, valid; then the assertion.
        const token = /^Bearer (\S+)$/.exec(authorization ?? "")?.[1];
        if (token === undefined) throw new Refusal(FAULTS.psc("jeton PSC absent"));
        const checked = checkPscToken(token, pscIssuer, now());
        if (!checked.ok) throw new Refusal(FAULTS.psc(checked.message));
        const ps = assertions.find(
          (a) =>
            childNamed(childNamed(a, NS.saml, "Subject") ?? a, NS.saml, "NameID")?.getAttribute(
              "NameQualifier",
            ) === "PSC",
        );
        if (ps === undefined) throw new Refusal(FAULTS.assertion("assertion PSC absente"));
        try {
          checkPscAssertion(ps, checked.idNat, now());
        } catch (error) {
          if (error instanceof AssertionRefused) throw new Refusal(FAULTS.assertion(error.message));
          throw error;
        }
      }
      if (options.mode === "card") {
        const ps = assertions.find((a) =>
          childNamed(a, NS.saml, "Issuer")?.getAttribute("Format")?.endsWith("X509SubjectName"),
        );
        if (ps === undefined) throw new Refusal(FAULTS.assertion("assertion PS absente"));
        try {
          checkAssertionPs({ assertion: ps, trusted, now: now() });
        } catch (error) {
          if (error instanceof AssertionRefused) throw new Refusal(FAULTS.assertion(error.message));
          throw error;
        }
      }
      if (
        operation === "rechercherInsAvecCarteVitale" &&
        !assertions.some((a) => textOf(childNamed(a, NS.saml, "Issuer")) === SIMULATED_VITALE_ISSUER)
      ) {
        throw new Refusal(FAULTS.assertion("assertion Vitale absente"));
      }

      const value = (parent: Element, ns: string, name: string) => textOf(childNamed(parent, ns, name));
      let matches: SimulatedIdentity[];
      if (operation === "rechercherInsAvecTraitsIdentite") {
        const traits = {
          birthName: value(body, NS.recSans, "NomNaissance"),
          prenoms: childrenNamed(body, NS.recSans, "Prenom").map((p) => textOf(p) ?? ""),
          sex: value(body, NS.recSans, "Sexe"),
          birthDate: value(body, NS.recSans, "DateNaissance"),
          birthPlace: value(body, NS.recSans, "LieuNaissance"),
        };
        const refused = checkTraits(traits);
        if (refused !== undefined) throw new Refusal(FAULTS.format(refused.code, refused.message));
        matches = findByTraits(traits, options.identities);
      } else {
        const matricules = ["MatriculeIndividu", "MatriculeOD"]
          .map((name) => childNamed(body, NS.recVit, name))
          .map((m) => (m === undefined ? undefined : value(m, NS.recVit, "NumIdentifiant")))
          .filter((m): m is string => m !== undefined);
        matches = findByMatricule(matricules, value(body, NS.recVit, "DateNaissance"), options.identities);
      }
      const [first] = matches;
      const cr: CrCode =
        matches.length === 0 ? "01" : matches.length > 1 || first?.outcome === "multiple" ? "02" : "00";
      return {
        status: 200,
        body: resultatEnvelope(operation, messageId, cr, first),
        received: {
          operation,
          ...(messageId === undefined ? {} : { messageId }),
          ...(clientCn === undefined ? {} : { clientCn }),
          answer: cr,
        },
      };
    } catch (error) {
      if (!(error instanceof Refusal)) throw error;
      return {
        status: error.fault.httpStatus,
        body: faultEnvelope(error.fault, messageId),
        received: {
          ...(operation === undefined ? {} : { operation }),
          ...(messageId === undefined ? {} : { messageId }),
          ...(clientCn === undefined ? {} : { clientCn }),
          answer: error.fault.code,
        },
      };
    }
  }

  async function onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > MAX_REQUEST_BYTES) {
        res.writeHead(413).end();
        return;
      }
      chunks.push(chunk);
    }
    const text = Buffer.concat(chunks).toString("utf8");
    if (options.record !== undefined) {
      sequence += 1;
      await writeFile(join(options.record, `${String(sequence).padStart(6, "0")}.xml`), text);
    }
    for (const fault of faults) if (fault.kind === "delay") await new Promise((r) => setTimeout(r, fault.ms));
    const injected = faults.find((f) => f.kind !== "delay");
    const keep = (received: Omit<ReceivedRequest, "time" | "body">) => {
      requests.push({ time: now().toISOString(), body: text, ...received });
      if (requests.length > MAX_KEPT_REQUESTS) requests.shift();
    };
    if (injected?.kind === "reset") {
      keep({ answer: "reset" });
      req.socket.destroy();
      return;
    }
    if (injected?.kind === "malformed") {
      keep({ answer: "malformed" });
      res
        .writeHead(200, { "content-type": "application/soap+xml; charset=utf-8" })
        .end("<soap:Envelope><soap:Body><RESULTAT>");
      return;
    }
    if (injected?.kind === "unavailable") {
      keep({ answer: "503" });
      res
        .writeHead(503, { "content-type": "text/html" })
        .end("<html><body>Service indisponible</body></html>");
      return;
    }
    if (injected?.kind === "http500") {
      keep({ answer: FAULTS.internal.code });
      res
        .writeHead(500, { "content-type": "application/soap+xml; charset=utf-8" })
        .end(faultEnvelope(FAULTS.internal, undefined));
      return;
    }
    const authorization = req.headers.authorization;
    const answer = handle(text, req.socket as TLSSocket, authorization);
    keep(answer.received);
    res.writeHead(answer.status, { "content-type": "application/soap+xml; charset=utf-8" }).end(answer.body);
  }

  const server = https.createServer(
    {
      key: pki.server.keyPem,
      cert: pki.server.certPem,
      ca: options.mode === "organisation" ? [...trustedPems] : undefined,
      requestCert: options.mode === "organisation",
      // Organisation mode: no trusted client certificate, no connection.
      rejectUnauthorized: options.mode === "organisation",
    },
    (req, res) => {
      // The Date header is this server's clock, as any HTTP server's is (`now`, for clock tests:
      // `passerelle doctor` measures the workstation's skew from it).
      res.setHeader("date", now().toUTCString());
      if (req.method !== "POST") {
        res.writeHead(405, { allow: "POST" }).end();
        return;
      }
      onRequest(req, res).catch(() => {
        if (!res.headersSent) res.writeHead(500).end();
        else res.destroy();
      });
    },
  );
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `https://127.0.0.1:${port}/lps`,
    caPem: pki.caPem,
    pki,
    requests,
    setFault(...next) {
      faults = next;
    },
    close() {
      return new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
