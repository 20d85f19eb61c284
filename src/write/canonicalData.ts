import type { z } from 'zod';
import { canonicalJson, canonicalString } from '../audit/canonicalJson.js';

/**
 * Canonical JSON (RFC 8785, audit/canonicalJson.ts) of an event's parsed data, written by a writer compiled
 * once from the event type's schema: the keys of every object are sorted when compiled (not per value),
 * coordinate arrays are written natively by JSON.stringify, and nothing is checked twice that the parse
 * already guarantees (plain objects with only the shape's keys, finite numbers, no cycles).
 *
 * Only for values a parse of that very schema returned: that is what makes the compiled order and
 * shortcuts exact. Parts whose output shape the schema does not fix (transforms, unions of objects,
 * records, unknown) are written by canonicalJson itself.
 */
export type CanonicalWriter = (value: unknown) => string | undefined;

interface Node {
  write: CanonicalWriter;
  /** Every value is a finite number or an array of such (nested): JSON.stringify writes it canonically. */
  numberTree: boolean;
}

interface Def {
  type: string;
  [key: string]: unknown;
}

const defOf = (schema: unknown): Def => (schema as { _zod: { def: Def } })._zod.def;

const generic: Node = { write: canonicalJson, numberTree: false };
const stringify: CanonicalWriter = (value) => JSON.stringify(value);
const stringNode: Node = { write: (v) => canonicalString(v as string), numberTree: false };

/** Compiles the canonical writer of a schema's parsed values, or undefined. */
export function compileCanonicalWriter(schema: z.ZodType): CanonicalWriter | undefined {
  return compile(schema)?.write;
}

function compile(schema: unknown): Node | undefined {
  const def = defOf(schema);
  switch (def.type) {
    case 'string':
      return stringNode;
    case 'number':
      // a parsed number is finite: written as JSON.stringify (and canonicalJson) write it
      return { write: (v) => `${v as number}`, numberTree: true };
    case 'boolean':
      return { write: (v) => (v ? 'true' : 'false'), numberTree: false };
    case 'literal':
    case 'enum': {
      // a value of a set of strings (most enums) is a string: written without asking what it is
      const values = def.type === 'enum' ? Object.values(def.entries as object) : (def.values as unknown[]);
      return values.every((v) => typeof v === 'string') ? stringNode : generic;
    }
    case 'unknown':
    case 'any':
    case 'pipe':
    case 'transform':
      return generic;
    case 'optional': {
      const inner = compile(def.innerType);
      if (!inner) return undefined;
      const write = inner.write;
      return { write: (v) => (v === undefined ? undefined : write(v)), numberTree: false };
    }
    case 'nullable': {
      const inner = compile(def.innerType);
      if (!inner) return undefined;
      const write = inner.write;
      return { write: (v) => (v === null ? 'null' : write(v)), numberTree: false };
    }
    case 'union': {
      const options = (def.options as unknown[]).map(compile);
      if (options.some((o) => !o)) return undefined;
      return options.every((o) => o!.numberTree) ? { write: stringify, numberTree: true } : generic;
    }
    case 'array': {
      const element = compile(def.element);
      if (!element) return undefined;
      if (element.numberTree) return { write: stringify, numberTree: true };
      return { write: listWriter(() => element.write), numberTree: false };
    }
    case 'tuple': {
      if (def.rest) return generic;
      const items = (def.items as unknown[]).map(compile);
      if (items.some((i) => !i)) return undefined;
      if (items.every((i) => i!.numberTree)) return { write: stringify, numberTree: true };
      return { write: listWriter((i) => items[i]?.write ?? canonicalJson), numberTree: false };
    }
    case 'object':
      return def.catchall === undefined || defOf(def.catchall).type === 'never'
        ? compileObject(def)
        : generic;
    default:
      // records and the rest: canonicalJson is exact for any value
      return generic;
  }
}

/** An array's items in order; an item JSON cannot hold (undefined) is written as null, as canonicalJson does. */
function listWriter(writerAt: (index: number) => CanonicalWriter): CanonicalWriter {
  return (value) => {
    const list = value as unknown[];
    let out = '[';
    for (let i = 0; i < list.length; i++) {
      if (i > 0) out += ',';
      const text = list[i] === undefined ? undefined : writerAt(i)(list[i]);
      out += text ?? 'null';
    }
    return `${out}]`;
  };
}

function compileObject(def: Def): Node | undefined {
  const shape = def.shape as Record<string, unknown>;
  // sorted by UTF-16 code units, as canonicalJson sorts Object.keys
  const keys = Object.keys(shape).sort();
  const fields: { key: string; label: string; write: CanonicalWriter }[] = [];
  for (const key of keys) {
    const node = compile(shape[key]);
    if (!node) return undefined;
    fields.push({ key, label: `${canonicalString(key)}:`, write: node.write });
  }
  return {
    write: (value) => {
      const object = value as Record<string, unknown>;
      let out = '{';
      let first = true;
      for (let i = 0; i < fields.length; i++) {
        const field = fields[i]!;
        const item = object[field.key];
        // a member JSON cannot hold is left out, as canonicalJson leaves it out
        if (item === undefined) continue;
        const text = field.write(item);
        if (text === undefined) continue;
        out += first ? field.label : `,${field.label}`;
        out += text;
        first = false;
      }
      return `${out}}`;
    },
    numberTree: false,
  };
}
