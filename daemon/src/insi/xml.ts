/**
 * Safe XML in and out for INSi messages.
 *
 * In: a response from the network is untrusted. We refuse any DOCTYPE or ENTITY declaration before
 * parsing (no XXE, no entity expansion bombs), bound the size, and turn every parser complaint into
 * an error instead of a half-built tree. Out: text and attribute values are escaped by one function.
 */
import { DOMParser, type Document, type Element } from "@xmldom/xmldom";

/**
 * Largest response we parse. A RESULTAT is about 2 KiB and a fault less; a few history entries do
 * not change that order of magnitude. Anything bigger is not an INSi answer.
 */
export const MAX_RESPONSE_BYTES = 256 * 1024;

export class UnsafeXmlError extends Error {
  override readonly name = "UnsafeXmlError";
}

const DECLARATION = /<!(?:DOCTYPE|ENTITY)/i;

/** Parse untrusted XML: no DOCTYPE/ENTITY, bounded size, any parser error is fatal. */
export function parseUntrustedXml(text: string): Document {
  if (Buffer.byteLength(text, "utf8") > MAX_RESPONSE_BYTES) {
    throw new UnsafeXmlError(`larger than ${MAX_RESPONSE_BYTES} bytes`);
  }
  if (DECLARATION.test(text)) throw new UnsafeXmlError("DOCTYPE or ENTITY declarations are refused");
  const parser = new DOMParser({
    onError: (level, message) => {
      // Warnings (e.g. an unused prefix) are harmless; errors mean the tree is not what was sent.
      if (level !== "warning") throw new UnsafeXmlError(`malformed XML: ${message.split("\n")[0] ?? ""}`);
    },
  });
  let doc: Document;
  try {
    doc = parser.parseFromString(text, "text/xml");
  } catch (error) {
    if (error instanceof UnsafeXmlError) throw error;
    throw new UnsafeXmlError(
      `malformed XML: ${error instanceof Error ? error.message.split("\n")[0] : "unknown"}`,
    );
  }
  if (doc.documentElement === null) throw new UnsafeXmlError("no root element");
  return doc;
}

/** Element children of `parent`, in document order. */
export function childElements(parent: Element): Element[] {
  const out: Element[] = [];
  for (let node = parent.firstChild; node !== null; node = node.nextSibling) {
    if (node.nodeType === node.ELEMENT_NODE) out.push(node as Element);
  }
  return out;
}

/** Element children with this namespace and local name. */
export function childrenNamed(parent: Element, namespace: string | null, localName: string): Element[] {
  return childElements(parent).filter((e) => e.namespaceURI === namespace && e.localName === localName);
}

/** The single child with this name, or undefined (several → the first; callers check counts when it matters). */
export function childNamed(
  parent: Element,
  namespace: string | null,
  localName: string,
): Element | undefined {
  return childrenNamed(parent, namespace, localName)[0];
}

/** Text content, trimmed. */
export function textOf(element: Element | undefined): string | undefined {
  if (element === undefined) return undefined;
  return (element.textContent ?? "").trim();
}

const ESCAPES: Readonly<Record<string, string>> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&apos;",
};

/** Escape for text content and double-quoted attribute values. */
export function escapeXml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => ESCAPES[c] ?? c);
}
