/**
 * The client's reader for INSi responses: a strict, namespace-aware XML 1.0 parse (saxes) into a
 * small read-only tree, about six times faster than building an xmldom document (bench/insi.ts,
 * docs/insi.md "Performance"). Untrusted input: a leading BOM is dropped, any DOCTYPE or ENTITY
 * declaration is refused before parsing (saxes never expands entities other than the five
 * predefined ones and character references, and an undefined one is an error), the size is bounded
 * (MAX_RESPONSE_BYTES) and so are the depth and the number of elements; any well-formedness error
 * is fatal, never a half-built tree.
 */
import { SaxesParser } from "saxes";
import { MAX_RESPONSE_BYTES, UnsafeXmlError } from "./xml.ts";

/** A RESULTAT is 5 levels deep inside the envelope; nothing INSi sends comes near these. */
export const MAX_DEPTH = 32;
export const MAX_ELEMENTS = 4_096;

export interface XmlElement {
  readonly namespace: string;
  readonly localName: string;
  /** Attributes without a namespace, by local name (the only ones INSi responses carry). */
  readonly attributes: ReadonlyMap<string, string>;
  readonly children: readonly XmlElement[];
  /** The element's own text (character data and CDATA directly inside it). */
  readonly text: string;
}

interface Building {
  namespace: string;
  localName: string;
  attributes: Map<string, string>;
  children: Building[];
  text: string;
}

const DECLARATION = /<!(?:DOCTYPE|ENTITY)/i;

/** One parse at a time (it is synchronous): the parser and its handlers are made once and reused. */
const state: {
  stack: Building[];
  root: Building | undefined;
  elements: number;
  failure: string | undefined;
} = {
  stack: [],
  root: undefined,
  elements: 0,
  failure: undefined,
};
const NO_ATTRIBUTES: ReadonlyMap<string, string> = new Map();

function createParser(): SaxesParser<{ xmlns: true; position: false }> {
  const parser = new SaxesParser({ xmlns: true, position: false });
  parser.on("error", (error) => {
    state.failure ??= error.message.split("\n")[0] ?? "malformed";
  });
  parser.on("opentag", (tag) => {
    state.elements += 1;
    const { stack } = state;
    if (stack.length >= MAX_DEPTH) state.failure ??= `deeper than ${MAX_DEPTH} elements`;
    if (state.elements > MAX_ELEMENTS) state.failure ??= `more than ${MAX_ELEMENTS} elements`;
    let attributes: Map<string, string> | undefined;
    for (const name in tag.attributes) {
      const attribute = tag.attributes[name];
      if (attribute === undefined || typeof attribute === "string") continue;
      if (attribute.uri === "" && attribute.prefix === "" && attribute.local !== "xmlns")
        (attributes ??= new Map()).set(attribute.local, attribute.value);
    }
    const node: Building = {
      namespace: tag.uri ?? "",
      localName: tag.local ?? tag.name,
      attributes: attributes ?? (NO_ATTRIBUTES as Map<string, string>),
      children: [],
      text: "",
    };
    const parent = stack[stack.length - 1];
    if (parent === undefined) state.root = node;
    else parent.children.push(node);
    stack.push(node);
  });
  const addText = (value: string) => {
    const current = state.stack[state.stack.length - 1];
    if (current !== undefined) current.text += value;
  };
  parser.on("text", addText);
  parser.on("cdata", addText);
  parser.on("closetag", () => {
    state.stack.pop();
  });
  return parser;
}

let shared: SaxesParser<{ xmlns: true; position: false }> | undefined;

export function parseResponseXml(input: string): XmlElement {
  const text = input.charCodeAt(0) === 0xfeff ? input.slice(1) : input;
  if (Buffer.byteLength(text, "utf8") > MAX_RESPONSE_BYTES)
    throw new UnsafeXmlError(`larger than ${MAX_RESPONSE_BYTES} bytes`);
  if (DECLARATION.test(text)) throw new UnsafeXmlError("DOCTYPE or ENTITY declarations are refused");
  state.stack = [];
  state.root = undefined;
  state.elements = 0;
  state.failure = undefined;
  const parser = (shared ??= createParser());
  try {
    parser.write(text).close();
  } catch (error) {
    state.failure ??= error instanceof Error ? (error.message.split("\n")[0] ?? "malformed") : "malformed";
    // A parser left mid-document is not reused.
    shared = undefined;
  }
  const { root, failure } = state;
  state.stack = [];
  state.root = undefined;
  if (failure !== undefined) throw new UnsafeXmlError(`malformed XML: ${failure}`);
  if (root === undefined) throw new UnsafeXmlError("no root element");
  return root;
}

export function childrenNamed(parent: XmlElement, namespace: string, localName: string): XmlElement[] {
  return parent.children.filter((c) => c.namespace === namespace && c.localName === localName);
}

/** The single child with this name; several of them is an error (`duplicate` names it). */
export function childNamed(
  parent: XmlElement,
  namespace: string,
  localName: string,
  duplicate: (name: string) => Error,
): XmlElement | undefined {
  const found = childrenNamed(parent, namespace, localName);
  if (found.length > 1) throw duplicate(localName);
  return found[0];
}

export function textOf(element: XmlElement | undefined): string | undefined {
  return element === undefined ? undefined : element.text.trim();
}
