/**
 * The INSi client: normalise the traits, build the envelope (with the assertion PS in card mode),
 * send it, parse the answer, write the audit record (fsynced) and only then return.
 *
 * Mode card: the caller's context carries the AssertionSigner of the chosen CPS; server-auth TLS.
 * Mode organisation: mutual TLS with the INSI-AUTO/INSI-MANU certificate; no assertion PS.
 * Configuration problems found at creation (missing endpoint, unreadable or refused certificate) do
 * not throw: every call answers INSI_NOT_CONFIGURED with the reason, and `problems()` lists them for
 * `passerelle doctor`.
 */
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import type { InsiResult } from "@passerelle/protocol";
import type { AuditSink } from "../audit/audit-trail.ts";
import { InvalidParamsError, isPasserelleError, PasserelleError } from "../errors.ts";
import { compareIns, compareTraits, type TraitDifference } from "../ins/compare.ts";
import {
  InvalidTraitsError,
  normaliseName,
  normaliseTraits,
  type IdentityTraitsInput,
} from "../ins/traits.ts";
import { AssertionPsCache, isDoctor, type AssertionAttribute, type SignerIdentity } from "./assertion-ps.ts";
import {
  attributesFor,
  insiEndpoint,
  lpsFor,
  REQUIRED_ASSERTION_ATTRIBUTES,
  REQUIRED_PSC_ATTRIBUTES,
  type InsiConfig,
} from "./config.ts";
import { loadOrganisationCredentials, type OrganisationCredentials } from "./credentials.ts";
import {
  buildEnvelope,
  recSansVitaleBody,
  recVitaleBody,
  vitaleCouverture,
  type VitaleBeneficiary,
} from "./envelope.ts";
import { OPERATIONS, type InsiOperation } from "./namespaces.ts";
import { pscAssertionXml, pscClaims, type PscClaims, type PscCredentials } from "./assertion-psc.ts";
import { parseInsiResponse, type InsiIdentity } from "./response.ts";
import type { AssertionSigner, VitaleAssertionProvider } from "./signer.ts";
import { createHttpsTransport, type InsiHttpResponse, type InsiTransport } from "./transport.ts";

/** HTTP statuses of a gateway in front of INSi that is down: the service itself did not answer. */
const GATEWAY_UNAVAILABLE = new Set([502, 503, 504]);

export interface InsiCallContext {
  /** The web origin that asks; selects the LPS identity (IDAM) and is written to the audit trail. */
  readonly origin: string;
  /** Card mode: the CPS that signs the assertion PS (from the CPS driver, for the chosen reader). */
  readonly signer?: AssertionSigner | undefined;
  /** The CPS holder's idNat for the audit trail (hashed there); card mode defaults to the NameID. */
  readonly idNat?: string | undefined;
  /** PSC mode: the professional's Pro Santé Connect access token (never logged nor stored). */
  readonly psc?: PscCredentials | undefined;
}

export interface InsiVerifyInput extends IdentityTraitsInput {
  /** The 13-character matricule held locally. */
  readonly ins: string;
  readonly oid?: string | undefined;
}

export interface InsiVerifyResult {
  readonly outcome: "confirmed" | "mismatch" | "notFound" | "multiple";
  readonly differences: TraitDifference[];
  readonly identity?: InsiIdentity;
}

export interface InsiClientDeps {
  /** Replaces the HTTPS transport (tests, benches). */
  readonly transport?: InsiTransport;
  /** Organisation credentials already loaded (default: from config.organisation). */
  readonly organisationCredentials?: OrganisationCredentials;
  /** CA certificates for the server (default: config.caBundlePath). */
  readonly caPem?: string;
  /** Vitale card assertion; none in production (VITALE_ASSERTION_UNAVAILABLE). */
  readonly vitaleAssertions?: VitaleAssertionProvider;
  readonly audit?: AuditSink;
  /** ContexteLPS/LPS/Instance when the config has none: the installation's id. */
  readonly instance?: string;
  readonly now?: () => Date;
}

export interface InsiClient {
  searchByTraits(traits: IdentityTraitsInput, ctx: InsiCallContext): Promise<InsiResult>;
  searchWithVitale(beneficiary: VitaleBeneficiary, ctx: InsiCallContext): Promise<InsiResult>;
  verify(input: InsiVerifyInput, ctx: InsiCallContext): Promise<InsiVerifyResult>;
  /** Configuration problems found at creation (empty when ready). */
  problems(): string[];
  close(): void;
}

function readPassphrase(config: NonNullable<InsiConfig["organisation"]>): string | undefined {
  if (config.passphraseEnv !== undefined) return process.env[config.passphraseEnv];
  return config.passphrase;
}

interface Setup {
  readonly transport?: InsiTransport;
  readonly endpoint?: string;
  readonly problem?: PasserelleError;
  /** Organisation mode: the certificate's OU, sent as Emetteur (padoa does the same). */
  readonly emetteur?: string;
}

/**
 * The AttributeStatement of the assertion PS for this origin and signer, in the guide's order; a
 * missing required field is INSI_NOT_CONFIGURED naming it (the call is never sent without it).
 */
export function assertionAttributes(
  config: InsiConfig,
  origin: string,
  identity: SignerIdentity,
): AssertionAttribute[] {
  const values = attributesFor(config, origin);
  const missing = (field: string) =>
    new PasserelleError(
      "INSI_NOT_CONFIGURED",
      `card mode: insi.attributes.${field} is not configured for this origin (the assertion PS needs it)`,
      { problem: "assertion-attribute", field },
    );
  for (const field of REQUIRED_ASSERTION_ATTRIBUTES) if (values[field] === undefined) throw missing(field);
  if (values.codeSpecialite === undefined && isDoctor(identity)) throw missing("codeSpecialite");
  const out: AssertionAttribute[] = [
    { name: "identifiantFacturation", value: values.identifiantFacturation ?? "" },
    { name: "secteurActivite", value: values.secteurActivite ?? "" },
  ];
  if (values.codeSpecialite !== undefined) out.push({ name: "codeSpecialite", value: values.codeSpecialite });
  return out;
}

function setUp(config: InsiConfig, deps: InsiClientDeps): Setup {
  const endpoint = insiEndpoint(config);
  if (endpoint === undefined) {
    return {
      problem: new PasserelleError("INSI_NOT_CONFIGURED", `no INSi endpoint for ${config.mode} mode`, {
        problem: "endpoint",
      }),
    };
  }
  if (deps.transport !== undefined)
    return {
      transport: deps.transport,
      endpoint,
      ...(deps.organisationCredentials?.organisationalUnit === undefined
        ? {}
        : { emetteur: deps.organisationCredentials.organisationalUnit }),
    };
  try {
    let credentials = deps.organisationCredentials;
    if (config.mode === "organisation" && credentials === undefined) {
      if (config.organisation === undefined) {
        throw new PasserelleError(
          "INSI_NOT_CONFIGURED",
          "organisation mode needs insi.organisation.pkcs12Path",
          { problem: "pkcs12" },
        );
      }
      let pkcs12: Buffer;
      try {
        pkcs12 = readFileSync(config.organisation.pkcs12Path);
      } catch (error) {
        throw new PasserelleError(
          "INSI_NOT_CONFIGURED",
          "the organisation PKCS#12 file cannot be read",
          { problem: "pkcs12-file" },
          error,
        );
      }
      credentials = loadOrganisationCredentials(pkcs12, readPassphrase(config.organisation));
    }
    let caPem = deps.caPem;
    if (caPem === undefined && config.caBundlePath !== undefined) {
      try {
        caPem = readFileSync(config.caBundlePath, "utf8");
      } catch (error) {
        throw new PasserelleError(
          "INSI_NOT_CONFIGURED",
          "the INSi CA bundle cannot be read",
          { problem: "ca-bundle" },
          error,
        );
      }
    }
    const transport = createHttpsTransport({
      caPem,
      clientCertPem: config.mode === "organisation" ? credentials?.certChainPem : undefined,
      clientKeyPem: config.mode === "organisation" ? credentials?.keyPem : undefined,
      connectTimeoutMs: config.timeouts.connectMs,
      responseTimeoutMs: config.timeouts.responseMs,
      keepAliveMs: config.keepAliveMs,
    });
    const emetteur = config.mode === "organisation" ? credentials?.organisationalUnit : undefined;
    return { transport, endpoint, ...(emetteur === undefined ? {} : { emetteur }) };
  } catch (error) {
    if (isPasserelleError(error)) return { problem: error };
    throw error;
  }
}

/**
 * The `Prenom` of each call of a traits search: the first given name; when INSi finds nobody and
 * there are several, each other given name on its own, then the whole list in one `Prenom`
 * (padoa's strategy, `INSiPerson.getSoapBodyAsJson`: TCHITCHI "OLA CATARINA BELLA" → OLA gives
 * CR 01, CATARINA gives CR 00). The sequence stops at the first CR 00 or error.
 */
export function prenomSequence(firstNames: readonly string[]): string[] {
  if (firstNames.length <= 1) return [...firstNames];
  return [...firstNames, firstNames.join(" ")];
}

/** The PSC assertion's attributes, in the order of the official example, then the optional ones. */
export function pscAttributes(config: InsiConfig, origin: string, psc: PscCredentials): AssertionAttribute[] {
  const values = attributesFor(config, origin);
  for (const field of REQUIRED_PSC_ATTRIBUTES) {
    if (values[field] === undefined)
      throw new PasserelleError(
        "INSI_NOT_CONFIGURED",
        `psc mode: insi.attributes.${field} is not configured for this origin (the PSC assertion needs it)`,
        { problem: "assertion-attribute", field },
      );
  }
  const out: AssertionAttribute[] = [];
  if (values.codeSpecialite !== undefined)
    out.push({ name: "codeSpecialiteAMO", value: values.codeSpecialite });
  out.push({ name: "identifiantFacturation", value: values.identifiantFacturation ?? "" });
  if (values.secteurActivite !== undefined)
    out.push({ name: "secteurActivite", value: values.secteurActivite });
  if (psc.professionCode !== undefined) out.push({ name: "gipProfessionCode", value: psc.professionCode });
  return out;
}

export function createInsiClient(config: InsiConfig, deps: InsiClientDeps = {}): InsiClient {
  const now = deps.now ?? (() => new Date());
  const instance = config.instance ?? deps.instance ?? randomUUID();
  const setup = setUp(config, deps);
  const assertions = new AssertionPsCache({ ...config.assertion, now });

  /** PSC mode: the token and its claims, or -32602 before anything is sent (never echoing it). */
  function pscOf(ctx: InsiCallContext): { psc: PscCredentials; claims: PscClaims } {
    if (ctx.psc === undefined)
      throw new InvalidParamsError([
        { path: "psc", message: "PSC mode needs the professional's Pro Santé Connect access token" },
      ]);
    return { psc: ctx.psc, claims: pscClaims(ctx.psc.accessToken, now()) };
  }

  function interpret(response: InsiHttpResponse, messageId: string): InsiResult {
    if (GATEWAY_UNAVAILABLE.has(response.status)) {
      throw new PasserelleError("INSI_UNAVAILABLE", `INSi gateway answered HTTP ${response.status}`, {
        httpStatus: response.status,
      });
    }
    const result = parseInsiResponse(response.body, { messageId, receivedAt: now().toISOString() });
    // A RESULTAT must come with 200; a fault (thrown above) comes with 500.
    if (response.status !== 200) {
      throw new PasserelleError(
        "INSI_INVALID_RESPONSE",
        `INSi answered a result with HTTP ${response.status}`,
        { httpStatus: response.status },
      );
    }
    return result;
  }

  async function call(
    operation: InsiOperation,
    method: string,
    ctx: InsiCallContext,
    build: () => Promise<{ body: string; couverture?: string; extraAssertions?: string[] }>,
  ): Promise<InsiResult> {
    const started = performance.now();
    const messageId = `uuid:${randomUUID()}`;
    let idNat = ctx.idNat;
    let outcome: { result: InsiResult } | { error: unknown };
    try {
      if (setup.problem !== undefined || setup.transport === undefined || setup.endpoint === undefined) {
        throw setup.problem ?? new PasserelleError("INSI_NOT_CONFIGURED");
      }
      const lps = lpsFor(config, ctx.origin);
      if (lps === undefined) {
        throw new PasserelleError(
          "INSI_NOT_CONFIGURED",
          "no LPS identity (IDAM) for this origin and no default",
          { problem: "lps" },
        );
      }
      const assertionsXml: string[] = [];
      let headers: Record<string, string> | undefined;
      let emetteur = config.emetteur ?? setup.emetteur;
      if (config.mode === "card") {
        if (ctx.signer === undefined)
          throw new PasserelleError("NO_CARD", "card mode needs a CPS card to sign the assertion", {
            card: "cps",
          });
        const assertion = await assertions.assertionFor(ctx.signer, ctx.origin, (identity) =>
          assertionAttributes(config, ctx.origin, identity),
        );
        assertionsXml.push(assertion.xml);
        emetteur ??= assertion.identity.nameId;
        idNat ??= assertion.identity.nameId;
      } else if (config.mode === "psc") {
        const { psc, claims } = pscOf(ctx);
        const attributes = pscAttributes(config, ctx.origin, psc);
        assertionsXml.push(pscAssertionXml(claims, attributes, now(), config.assertion.validitySeconds));
        headers = { authorization: `Bearer ${psc.accessToken}` };
        emetteur ??= claims.nameId;
        idNat ??= claims.nameId;
      }
      const built = await build();
      assertionsXml.push(...(built.extraAssertions ?? []));
      const time = now();
      const envelope = buildEnvelope({
        operation,
        messageId,
        time,
        lps: { ...lps, instance },
        contextId: randomUUID(),
        emetteur,
        assertions: assertionsXml,
        body: built.body,
        couverture: built.couverture,
      });
      const response = await setup.transport.send({
        url: setup.endpoint,
        body: envelope,
        action: OPERATIONS[operation].action,
        ...(headers === undefined ? {} : { headers }),
      });
      outcome = { result: interpret(response, messageId) };
    } catch (error) {
      outcome = { error };
    }
    if (deps.audit !== undefined) {
      const error = "error" in outcome ? outcome.error : undefined;
      await deps.audit.record({
        kind: "insi",
        origin: ctx.origin,
        method,
        idNat,
        messageId,
        cr: "result" in outcome ? outcome.result.cr.code : undefined,
        reason: isPasserelleError(error) ? error.reason : error === undefined ? undefined : "INTERNAL",
        faultCode: isPasserelleError(error, "INSI_FAULT") ? String(error.details["faultCode"]) : undefined,
        durationMs: performance.now() - started,
      });
    }
    if ("error" in outcome) throw outcome.error;
    return outcome.result;
  }

  async function searchByTraits(
    traits: IdentityTraitsInput,
    ctx: InsiCallContext,
    method: "insi.searchByTraits" | "insi.verify" = "insi.searchByTraits",
  ): Promise<InsiResult> {
    const normalised = normaliseTraits(traits);
    if (!normalised.ok) throw new InvalidTraitsError(normalised.issues);
    if (config.mode === "psc") pscOf(ctx);
    let fallback: InsiResult | undefined;
    for (const prenom of prenomSequence(normalised.value.firstNames)) {
      // The audit names the method the web app called (a verification is a search on the wire);
      // each call of the sequence is its own audit record with its own MessageID.
      const result = await call("rechercherInsAvecTraitsIdentite", method, ctx, async () => ({
        body: recSansVitaleBody({ ...normalised.value, firstName: prenom }),
      }));
      if (result.outcome === "found") return result;
      // A CR 02 is kept over a later 01: "several identities" says more than "none".
      if (fallback?.outcome !== "multiple") fallback = result;
    }
    // normaliseTraits guarantees at least one given name, hence one call.
    if (fallback === undefined) throw new Error("no INSi call was made");
    return fallback;
  }

  return {
    searchByTraits: (traits, ctx) => searchByTraits(traits, ctx),

    async searchWithVitale(beneficiary, ctx) {
      const name = normaliseName(beneficiary.birthName, ["birthName"]);
      if (!name.ok) throw new InvalidTraitsError(name.issues);
      const provider = deps.vitaleAssertions;
      if (provider === undefined) throw new PasserelleError("VITALE_ASSERTION_UNAVAILABLE");
      if (config.mode === "psc") pscOf(ctx);
      const normalised = { ...beneficiary, birthName: name.value };
      return call("rechercherInsAvecCarteVitale", "insi.searchWithVitale", ctx, async () => ({
        body: recVitaleBody(normalised),
        couverture: vitaleCouverture(normalised),
        extraAssertions: [await provider.assertionFor(normalised)],
      }));
    },

    async verify(input, ctx) {
      const normalised = normaliseTraits(input);
      if (!normalised.ok) throw new InvalidTraitsError(normalised.issues);
      const result = await searchByTraits(input, ctx, "insi.verify");
      if (result.outcome !== "found" || result.identity === undefined) {
        return { outcome: result.outcome === "multiple" ? "multiple" : "notFound", differences: [] };
      }
      const identity = result.identity;
      const differences: TraitDifference[] = [];
      const insDifference = compareIns(input.ins.toUpperCase(), identity.ins.value);
      if (insDifference !== undefined) differences.push(insDifference);
      if (input.oid !== undefined && input.oid !== identity.ins.oid)
        differences.push({ field: "oid", local: input.oid, insi: identity.ins.oid });
      differences.push(...compareTraits(normalised.value, identity));
      return { outcome: differences.length === 0 ? "confirmed" : "mismatch", differences, identity };
    },

    problems() {
      return setup.problem === undefined ? [] : [setup.problem.message];
    },

    close() {
      setup.transport?.close();
    },
  };
}
