/** OTLP attribute lists -> plain values, bounded so a hostile payload cannot blow up memory. */
import { type AnyValue, int64, type KeyValue } from "./proto.js";

/** Attributes kept per fast signal; string values are cut at MAX_STRING characters. */
export const MAX_ATTRIBUTES = 64;
export const MAX_STRING = 1_024;

export type Primitive = string | number | boolean;

export function primitive(v: AnyValue | null | undefined): Primitive | undefined {
  if (!v) return undefined;
  if (typeof v.stringValue === "string") return v.stringValue.slice(0, MAX_STRING);
  if (typeof v.boolValue === "boolean") return v.boolValue;
  if (v.intValue !== null && v.intValue !== undefined) return int64(v.intValue);
  if (typeof v.doubleValue === "number") return v.doubleValue;
  if (v.arrayValue || v.kvlistValue) return "[complex]";
  return undefined;
}

/** The string value of one attribute (first match), or undefined. */
export function stringAttr(list: readonly KeyValue[] | undefined, key: string): string | undefined {
  if (!list) return undefined;
  for (const kv of list) {
    if (kv.key === key) {
      const s = kv.value?.stringValue;
      return typeof s === "string" ? s : undefined;
    }
  }
  return undefined;
}

/** Up to MAX_ATTRIBUTES attributes as a plain record. */
export function attributeRecord(list: readonly KeyValue[] | undefined): Record<string, Primitive> {
  const out: Record<string, Primitive> = {};
  if (!list) return out;
  let n = 0;
  for (const kv of list) {
    if (n >= MAX_ATTRIBUTES) break;
    if (typeof kv.key !== "string") continue;
    const v = primitive(kv.value);
    if (v === undefined) continue;
    out[kv.key.slice(0, MAX_STRING)] = v;
    n++;
  }
  return out;
}
