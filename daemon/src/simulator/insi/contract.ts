/**
 * The INSi request contract as the simulator checks it: our own description of what the WSDL
 * DESIR_ICIR_EXP 1.5.0 and its XSDs declare (element names, namespaces, order, cardinalities,
 * attribute rules, the few patterns), plus the parts of the WS-Addressing, WS-Security, SAML 2.0 and
 * SOAP 1.2 schemas that an INSi request uses. Written here, not copied: the official files'
 * licence is unclear (GIE/CNAM contract files redistributed by a third party), and the WSDL points
 * to a remote ws-addr.xsd that the simulator must not fetch. A test (daemon/test/simulator/insi/
 * contract.test.ts) runs the same documents through libxml2 against the official XSDs of
 * ../shared/insi-files and requires both to agree, so this description cannot drift silently.
 *
 * One deliberate difference, never stricter than the real service: `soap:Body` may carry an
 * unqualified `Id` attribute (padoa's card-mode requests, accepted by the qualification service,
 * carry `Id="_0"`; the SOAP 1.2 schema allows only namespaced attributes there).
 */
import type { Element } from "@xmldom/xmldom";
import { NS } from "../../insi/namespaces.ts";
import { childElements } from "../../insi/xml.ts";

const XML_DATE_TIME = /^-?\d{4,}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})?$/;
const XML_DATE = /^-?\d{4,}-\d{2}-\d{2}(?:Z|[+-]\d{2}:\d{2})?$/;
const XML_INTEGER = /^[+-]?\d+$/;
const XML_NCNAME = /^[A-Za-z_][\w.-]*$/;

type TextRule = (value: string) => boolean;
const anyText: TextRule = () => true;
const pattern =
  (re: RegExp): TextRule =>
  (value) =>
    re.test(value);
/** xs:dateTime, xs:date and xs:integer are whitespace-collapsed before the check. */
const collapsed =
  (re: RegExp): TextRule =>
  (value) =>
    re.test(value.trim());

interface AttributeRule {
  readonly required?: boolean;
  readonly check?: TextRule;
}

export interface ElementDecl {
  readonly ns: string;
  readonly name: string;
  /** Simple content: the text rule (no child element allowed). */
  readonly text?: TextRule;
  /** Complex content: a sequence of particles (text must be whitespace). */
  readonly sequence?: readonly Particle[];
  /** Any content, any attributes (xs:any processContents="lax" / xs:anyType). */
  readonly open?: boolean;
  readonly attributes?: Readonly<Record<string, AttributeRule>>;
  /** Namespaced attributes from another namespace are allowed (xs:anyAttribute namespace="##other"). */
  readonly otherAttributes?: boolean;
}

interface Particle {
  /** One declaration, or a choice between several. */
  readonly decls: readonly ElementDecl[];
  readonly min: number;
  readonly max: number;
}

const one = (decl: ElementDecl): Particle => ({ decls: [decl], min: 1, max: 1 });
const optional = (decl: ElementDecl): Particle => ({ decls: [decl], min: 0, max: 1 });
const many = (decl: ElementDecl, min = 0): Particle => ({ decls: [decl], min, max: Infinity });
const text = (ns: string, name: string, rule: TextRule = anyText): ElementDecl => ({ ns, name, text: rule });

// ---------------------------------------------------------------- INSi bodies (INSi_REC*_INS.xsd)
function matricule(ns: string, name: string): ElementDecl {
  return {
    ns,
    name,
    sequence: [
      optional(text(ns, "NumIdentifiant")),
      optional(text(ns, "Cle")),
      optional(text(ns, "TypeMatricule")),
    ],
  };
}

export const RECSANSVITALE: ElementDecl = {
  ns: NS.recSans,
  name: "RECSANSVITALE",
  sequence: [
    optional(text(NS.recSans, "NomNaissance")),
    many(text(NS.recSans, "Prenom")),
    optional(text(NS.recSans, "Sexe")),
    optional(text(NS.recSans, "DateNaissance")),
    optional(text(NS.recSans, "LieuNaissance")),
  ],
};

export const RECVITALE: ElementDecl = {
  ns: NS.recVit,
  name: "RECVITALE",
  sequence: [
    optional(matricule(NS.recVit, "MatriculeIndividu")),
    optional(matricule(NS.recVit, "MatriculeOD")),
    optional(text(NS.recVit, "NomNaissance")),
    optional(text(NS.recVit, "DateNaissance")),
    optional(text(NS.recVit, "RangNaissance")),
  ],
};

// ---------------------------------------------------------------- contexts (CTXLPS 01_00, CTXBAM 01_02)
const L = NS.ctxlps;
export const CONTEXTE_LPS: ElementDecl = {
  ns: L,
  name: "ContexteLPS",
  attributes: { Nature: { check: pattern(/^CTXLPS$/) }, Version: { required: true } },
  sequence: [
    one(text(L, "Id")),
    one(text(L, "Temps", collapsed(XML_DATE_TIME))),
    optional(text(L, "Emetteur")),
    optional({
      ns: L,
      name: "LPS",
      sequence: [
        optional({ ns: L, name: "IDAM", text: anyText, attributes: { R: {} } }),
        optional(text(L, "Version")),
        optional(text(L, "Instance")),
        optional(text(L, "Nom")),
      ],
    }),
  ],
};

const B = NS.ctxbam;
const NIR_NUM = pattern(/^\d{6}[AB0-9]\d{6}$/);
const NIR_CLE = pattern(/^\d{2}$/);
export const CONTEXTE_BAM: ElementDecl = {
  ns: B,
  name: "ContexteBAM",
  attributes: { Nature: { check: pattern(/^CTXBAM$/) }, Version: { required: true } },
  sequence: [
    one(text(B, "Id")),
    one(text(B, "Temps", collapsed(XML_DATE_TIME))),
    optional(text(B, "Emetteur")),
    optional(text(B, "DateRef", collapsed(XML_DATE_TIME))),
    one({
      ns: B,
      name: "COUVERTURE",
      sequence: [
        optional(text(B, "GrandRegime")),
        optional(text(B, "Organisme")),
        optional(text(B, "CodeCentre")),
        optional({
          ns: B,
          name: "ASSURE",
          sequence: [
            optional({
              ns: B,
              name: "Id",
              sequence: [optional(text(B, "Num", NIR_NUM)), optional(text(B, "Cle", NIR_CLE))],
            }),
          ],
        }),
        optional({
          ns: B,
          name: "BENEFICIAIRE",
          sequence: [
            optional({
              ns: B,
              name: "Nir",
              sequence: [
                optional(text(B, "Num", NIR_NUM)),
                optional(text(B, "Cle", NIR_CLE)),
                optional(text(B, "DateCertification", collapsed(XML_DATE))),
              ],
            }),
            optional(text(B, "DateNai", pattern(/^\d{4}-\d{2}-\d{2}$/))),
            optional(text(B, "Rang", collapsed(XML_INTEGER))),
            optional(text(B, "Porteur", pattern(/^\d$/))),
          ],
        }),
      ],
    }),
  ],
};

// ---------------------------------------------------------------- WS-Addressing 1.0 (AttributedURIType)
const addressing = (name: string): ElementDecl => ({
  ns: NS.wsa,
  name,
  text: (value) => value.trim() !== "",
  otherAttributes: true,
});
export const MESSAGE_ID = addressing("MessageID");
export const ACTION = addressing("Action");

// ---------------------------------------------------------------- SAML 2.0 assertion (the parts used)
const S = NS.saml;
const nameIdType = (name: string): ElementDecl => ({
  ns: S,
  name,
  text: anyText,
  attributes: { NameQualifier: {}, SPNameQualifier: {}, Format: {}, SPProvidedID: {} },
});
const openElement = (ns: string, name: string): ElementDecl => ({ ns, name, open: true });
const ATTRIBUTE: ElementDecl = {
  ns: S,
  name: "Attribute",
  attributes: { Name: { required: true }, NameFormat: {}, FriendlyName: {} },
  otherAttributes: true,
  sequence: [many(openElement(S, "AttributeValue"))],
};
export const ASSERTION: ElementDecl = {
  ns: S,
  name: "Assertion",
  attributes: {
    Version: { required: true },
    ID: { required: true, check: pattern(XML_NCNAME) },
    IssueInstant: { required: true, check: collapsed(XML_DATE_TIME) },
  },
  sequence: [
    one(nameIdType("Issuer")),
    optional(openElement(NS.ds, "Signature")),
    optional({
      ns: S,
      name: "Subject",
      sequence: [
        {
          decls: [nameIdType("NameID"), openElement(S, "BaseID"), openElement(S, "EncryptedID")],
          min: 0,
          max: 1,
        },
        many(openElement(S, "SubjectConfirmation")),
      ],
    }),
    optional({
      ns: S,
      name: "Conditions",
      attributes: {
        NotBefore: { check: collapsed(XML_DATE_TIME) },
        NotOnOrAfter: { check: collapsed(XML_DATE_TIME) },
      },
      sequence: [
        {
          decls: ["Condition", "AudienceRestriction", "OneTimeUse", "ProxyRestriction"].map((n) =>
            openElement(S, n),
          ),
          min: 0,
          max: Infinity,
        },
      ],
    }),
    optional(openElement(S, "Advice")),
    {
      decls: [
        { ns: S, name: "AttributeStatement", sequence: [many(ATTRIBUTE, 1)] },
        ...["Statement", "AuthnStatement", "AuthzDecisionStatement"].map((n) => openElement(S, n)),
      ],
      min: 0,
      max: Infinity,
    },
  ],
};

// ---------------------------------------------------------------- WS-Security header (Security.xsd)
export const SECURITY: ElementDecl = { ns: NS.wsse, name: "Security", sequence: [many(ASSERTION, 1)] };

/** The headers the WSDL declares (plus wsa:Action, which every client sends), by namespace and name. */
export const KNOWN_HEADERS: readonly ElementDecl[] = [
  SECURITY,
  CONTEXTE_LPS,
  MESSAGE_ID,
  ACTION,
  CONTEXTE_BAM,
];
export const KNOWN_BODIES: readonly ElementDecl[] = [RECSANSVITALE, RECVITALE];

export interface ContractViolation {
  /** Where, as a path of local names (never content). */
  readonly path: string;
  readonly problem: string;
}

function label(element: Element): string {
  return element.localName ?? element.nodeName;
}

function attributesOf(element: Element): Array<{ ns: string | null; name: string; value: string }> {
  const out: Array<{ ns: string | null; name: string; value: string }> = [];
  for (let i = 0; i < element.attributes.length; i += 1) {
    const attribute = element.attributes.item(i);
    if (attribute === null) continue;
    // Namespace declarations are not attributes for the schema.
    if (attribute.name === "xmlns" || attribute.prefix === "xmlns") continue;
    out.push({
      ns: attribute.namespaceURI,
      name: attribute.localName ?? attribute.name,
      value: attribute.value,
    });
  }
  return out;
}

function directText(element: Element): string {
  let out = "";
  for (let node = element.firstChild; node !== null; node = node.nextSibling) {
    if (node.nodeType === node.TEXT_NODE || node.nodeType === node.CDATA_SECTION_NODE)
      out += node.nodeValue ?? "";
  }
  return out;
}

const matches = (element: Element, decl: ElementDecl) =>
  element.namespaceURI === decl.ns && element.localName === decl.name;

/** Validate one element against its declaration; every violation is listed (paths, not content). */
export function validateElement(
  element: Element,
  decl: ElementDecl,
  path = label(element),
  out: ContractViolation[] = [],
): ContractViolation[] {
  if (decl.open) return out;
  for (const attribute of attributesOf(element)) {
    if (attribute.ns === null || attribute.ns === "") {
      const rule = decl.attributes?.[attribute.name];
      if (rule === undefined) out.push({ path, problem: `attribute ${attribute.name} is not allowed` });
      else if (rule.check && !rule.check(attribute.value))
        out.push({ path, problem: `attribute ${attribute.name} has an invalid value` });
    } else if (!decl.otherAttributes || attribute.ns === decl.ns) {
      out.push({ path, problem: `attribute {${attribute.ns}}${attribute.name} is not allowed` });
    }
  }
  for (const [name, rule] of Object.entries(decl.attributes ?? {})) {
    if (rule.required && !element.hasAttribute(name))
      out.push({ path, problem: `attribute ${name} is required` });
  }
  const children = childElements(element);
  if (decl.sequence === undefined) {
    if (children.length > 0) out.push({ path, problem: "has child elements where only text is allowed" });
    else if (decl.text && !decl.text(directText(element)))
      out.push({ path, problem: "has an invalid value" });
    return out;
  }
  if (directText(element).trim() !== "")
    out.push({ path, problem: "has text where only elements are allowed" });
  let index = 0;
  for (const particle of decl.sequence) {
    let count = 0;
    while (index < children.length && count < particle.max) {
      const child = children[index];
      const decl2 = child === undefined ? undefined : particle.decls.find((d) => matches(child, d));
      if (child === undefined || decl2 === undefined) break;
      validateElement(child, decl2, `${path}/${label(child)}`, out);
      index += 1;
      count += 1;
    }
    if (count < particle.min) {
      const names = particle.decls.map((d) => d.name).join("|");
      out.push({ path, problem: `${names} is missing or out of order` });
    }
  }
  for (const extra of children.slice(index)) {
    const declared = decl.sequence.some((p) => p.decls.some((d) => matches(extra, d)));
    out.push({
      path: `${path}/${label(extra)}`,
      problem: declared ? "is out of order or repeated" : "is not allowed here",
    });
  }
  return out;
}

/**
 * The whole envelope: SOAP 1.2 Envelope(Header?, Body) with nothing else, each known header
 * validated against its declaration (other headers are allowed, as SOAP allows), and a Body holding
 * exactly one known INSi body element.
 */
export function validateEnvelope(root: Element): ContractViolation[] {
  const out: ContractViolation[] = [];
  if (root.namespaceURI !== NS.soap || root.localName !== "Envelope")
    return [{ path: label(root), problem: "is not a SOAP 1.2 Envelope" }];
  const envelopeDecl: ElementDecl = {
    ns: NS.soap,
    name: "Envelope",
    otherAttributes: true,
    sequence: [optional(openElement(NS.soap, "Header")), one(openElement(NS.soap, "Body"))],
  };
  validateElement(root, envelopeDecl, "Envelope", out);
  const [first, second] = childElements(root);
  const header = first !== undefined && matches(first, { ns: NS.soap, name: "Header" }) ? first : undefined;
  const body = header === undefined ? first : second;
  if (header !== undefined) {
    if (directText(header).trim() !== "") out.push({ path: "Envelope/Header", problem: "has text" });
    // Header content is xs:any (lax): headers the contract declares are validated, others pass.
    for (const child of childElements(header)) {
      const decl = KNOWN_HEADERS.find((d) => matches(child, d));
      if (decl !== undefined) validateElement(child, decl, `Envelope/Header/${label(child)}`, out);
    }
  }
  if (body !== undefined && matches(body, { ns: NS.soap, name: "Body" })) {
    // Only namespaced attributes are allowed on soap:Body, and the unqualified Id that padoa's
    // accepted requests carry.
    for (const attribute of attributesOf(body)) {
      if ((attribute.ns === null || attribute.ns === "") && attribute.name !== "Id")
        out.push({ path: "Envelope/Body", problem: `attribute ${attribute.name} is not allowed` });
    }
    if (directText(body).trim() !== "") out.push({ path: "Envelope/Body", problem: "has text" });
    const content = childElements(body);
    if (content.length !== 1 || content[0] === undefined) {
      out.push({ path: "Envelope/Body", problem: "must hold exactly one element" });
    } else {
      const decl = KNOWN_BODIES.find((d) => content[0] !== undefined && matches(content[0], d));
      if (decl === undefined)
        out.push({ path: `Envelope/Body/${label(content[0])}`, problem: "is not an INSi request" });
      else validateElement(content[0], decl, `Envelope/Body/${label(content[0])}`, out);
    }
  }
  return out;
}
