/**
 * A builder for INSi response documents, in the shapes the CNDA samples use: the envelope prefix
 * differs from the Body's, RESULTAT children are in its default namespace, unused ns2/ns3 prefixes are
 * declared, documents may be indented with tabs and carry comments. The five samples below are ours,
 * modelled on those cases; the identities are the public fictitious test identities.
 */
const SOAP = "http://www.w3.org/2003/05/soap-envelope";
const RESULTAT = "http://www.cnamts.fr/INSiResultat";

export interface MatriculeFixture {
  readonly num: string;
  readonly cle?: string;
  readonly oid: string;
  readonly dateDeb?: string;
  readonly dateFin?: string;
  /** Put the dates before IdIndividu (one hand-edited sample does). */
  readonly datesFirst?: boolean;
  readonly comment?: string;
}

export interface ResultFixture {
  readonly code: string;
  readonly label: string;
  readonly individu?: {
    readonly actif: MatriculeFixture;
    readonly histo?: readonly MatriculeFixture[];
    readonly tiq: {
      readonly nom?: string;
      readonly prenom?: string;
      readonly liste?: string;
      readonly sexe?: string;
      readonly date?: string;
      readonly lieu?: string;
    };
  };
}

interface Node {
  readonly name: string;
  readonly text?: string;
  readonly children?: readonly (Node | undefined)[];
  readonly comment?: string;
}

function render(node: Node, indent: string | undefined, depth: number): string {
  const pad = indent === undefined ? "" : "\n" + indent.repeat(depth);
  const comment = node.comment === undefined ? "" : `<!-- ${node.comment} -->`;
  if (node.children === undefined) return `${pad}<${node.name}>${node.text ?? ""}</${node.name}>${comment}`;
  const inner = node.children
    .filter((c): c is Node => c !== undefined)
    .map((c) => render(c, indent, depth + 1))
    .join("");
  return `${pad}<${node.name}>${inner}${pad}</${node.name}>`;
}

const leaf = (name: string, text: string | undefined, comment?: string): Node | undefined =>
  text === undefined ? undefined : { name, text, ...(comment === undefined ? {} : { comment }) };

function matricule(name: string, m: MatriculeFixture): Node {
  const id: Node = { name: "IdIndividu", children: [leaf("NumIdentifiant", m.num), leaf("Cle", m.cle)] };
  const dates = [leaf("DateDeb", m.dateDeb), leaf("DateFin", m.dateFin)];
  const oid = leaf("OID", m.oid, m.comment);
  return { name, children: m.datesFirst ? [...dates, id, oid] : [id, oid, ...dates] };
}

export function resultDocument(
  result: ResultFixture,
  options: { indent?: string; xmlSpyComment?: boolean } = {},
): string {
  const { individu } = result;
  const resultat: Node = {
    name: "RESULTAT",
    children: [
      { name: "CR", children: [leaf("CodeCR", result.code), leaf("LibelleCR", result.label)] },
      individu === undefined
        ? undefined
        : {
            name: "INDIVIDU",
            children: [
              matricule("INSACTIF", individu.actif),
              ...(individu.histo ?? []).map((h) => matricule("INSHISTO", h)),
              {
                name: "TIQ",
                children: [
                  leaf("NomNaissance", individu.tiq.nom),
                  leaf("Prenom", individu.tiq.prenom),
                  leaf("ListePrenom", individu.tiq.liste),
                  leaf("Sexe", individu.tiq.sexe),
                  leaf("DateNaissance", individu.tiq.date),
                  leaf("LieuNaissance", individu.tiq.lieu),
                ],
              },
            ],
          },
    ],
  };
  const body = render(resultat, options.indent, 2).replace(
    "<RESULTAT>",
    `<RESULTAT xmlns:ns3="http://www.cnamts.fr/INSiRecVit" xmlns:ns2="http://www.cnamts.fr/INSiRecSans" xmlns="${RESULTAT}">`,
  );
  const nl = options.indent === undefined ? "" : "\n";
  const pad = options.indent ?? "";
  return (
    `<?xml version="1.0" encoding="UTF-8"?>\n` +
    (options.xmlSpyComment ? `<!-- sample prepared for the Passerelle tests -->\n` : "") +
    `<soap:Envelope xmlns:soap="${SOAP}">${nl}${pad}<S:Body xmlns:S="${SOAP}">${body}${nl}${pad}</S:Body>${nl}</soap:Envelope>`
  );
}

const NIR_OID = "1.2.250.1.213.1.4.8";
const NIA_OID = "1.2.250.1.213.1.4.9";

/** The five sample cases: no identity, history (hand-ordered dates), NIA, Corsica, keys that do not verify. */
export const SAMPLES = {
  "cr01-no-identity": resultDocument({ code: "01", label: "Aucune identite trouvee" }),
  "history-dates-first": resultDocument({
    code: "00",
    label: "OK",
    individu: {
      actif: { num: "1090763220834", cle: "89", oid: NIR_OID },
      histo: [
        {
          num: "2090763220834",
          cle: "39",
          oid: NIR_OID,
          dateDeb: "2019-03-01",
          dateFin: "2019-02-28",
          datesFirst: true,
        },
        { num: "2090663220123", cle: "55", oid: NIR_OID },
      ],
      tiq: {
        nom: "ECETINSI",
        liste: "PIERRE-ALAIN MURIEL FLORIANT",
        sexe: "M",
        date: "2009-07-14",
        lieu: "63220",
      },
    },
  }),
  "nia-temporary": resultDocument(
    {
      code: "00",
      label: "OK",
      individu: {
        actif: { num: "1090763220888", cle: "35", oid: NIA_OID, comment: "temporary number" },
        tiq: {
          nom: "PROVISOIRE",
          prenom: "MATRICULE",
          liste: "MATRICULE",
          sexe: "M",
          date: "2009-07-01",
          lieu: "63220",
        },
      },
    },
    { indent: "\t" },
  ),
  "corsica-history": resultDocument(
    {
      code: "00",
      label: "OK",
      individu: {
        actif: { num: "180032B020401", cle: "23", oid: NIR_OID },
        histo: [{ num: "180032B020401", cle: "23", oid: NIR_OID }],
        tiq: {
          nom: "CORSE",
          prenom: "ANTHONY",
          liste: "ANTHONY",
          sexe: "M",
          date: "1980-03-02",
          lieu: "2B020",
        },
      },
    },
    { indent: "\t", xmlSpyComment: true },
  ),
  "keys-do-not-verify": resultDocument(
    {
      code: "00",
      label: "OK",
      individu: {
        actif: { num: "1810363220456", cle: "60", oid: NIR_OID },
        histo: [
          { num: "1810363220456", cle: "60", oid: NIR_OID },
          { num: "2810363220456", cle: "10", oid: NIR_OID },
        ],
        tiq: {
          nom: "HERMANN",
          prenom: "GATIEN",
          liste: "GATIEN",
          sexe: "M",
          date: "1981-03-24",
          lieu: "63220",
        },
      },
    },
    { indent: "\t" },
  ),
} as const;

export interface FaultFixture {
  readonly value: string;
  readonly subcode?: string;
  readonly reason: string;
  readonly erreur?: {
    readonly code: string;
    readonly severite: string;
    readonly messageID?: string;
    readonly text: string;
  };
}

export function faultDocument(fault: FaultFixture): string {
  const erreur = fault.erreur;
  return (
    `<?xml version="1.0" encoding="UTF-8"?><env:Envelope xmlns:env="${SOAP}"><env:Body><env:Fault>` +
    `<env:Code><env:Value>${fault.value}</env:Value>` +
    (fault.subcode === undefined
      ? ""
      : `<env:Subcode><env:Value>${fault.subcode}</env:Value></env:Subcode>`) +
    `</env:Code><env:Reason><env:Text xml:lang="fr">${fault.reason}</env:Text></env:Reason>` +
    (erreur === undefined
      ? ""
      : `<env:Detail><siram:Erreur xmlns:siram="urn:siram" code="${erreur.code}" severite="${erreur.severite}"` +
        (erreur.messageID === undefined ? "" : ` messageID="${erreur.messageID}"`) +
        `>${erreur.text}</siram:Erreur></env:Detail>`) +
    `</env:Fault></env:Body></env:Envelope>`
  );
}
