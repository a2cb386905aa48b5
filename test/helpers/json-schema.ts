// A small JSON Schema checker for tests: what the served documents promise, held against what the server sends.
/* eslint-disable @typescript-eslint/no-explicit-any */
export type Schema = Record<string, any>;
/** A small JSON Schema (2020-12) validator: type, const, enum, required, properties, additionalProperties, items, anyOf, $ref, format date-time. */
export function validate(schema: Schema | boolean | undefined, value: unknown, root: Schema = schema as Schema, path = "$"): string[] {
  if (schema === true || schema === undefined) return [];
  if (schema === false) return [`${path}: no value allowed`];
  if (schema.$ref) {
    const target = (schema.$ref as string).replace(/^#\//, "").split("/").reduce((n: any, k) => n?.[k], root);
    return validate(target, value, root, path);
  }
  if (schema.anyOf) return (schema.anyOf as Schema[]).some((s) => validate(s, value, root, path).length === 0) ? [] : [`${path}: matches no anyOf branch`];
  const errors: string[] = [];
  const typeOf = (v: unknown) => (v === null ? "null" : Array.isArray(v) ? "array" : Number.isInteger(v) ? "integer" : typeof v);
  if (schema.type) {
    const types: string[] = Array.isArray(schema.type) ? schema.type : [schema.type];
    const t = typeOf(value);
    if (!types.some((x) => x === t || (x === "number" && t === "integer"))) return [`${path}: expected ${types.join("|")}, got ${t}`];
  }
  if ("const" in schema && value !== schema.const) errors.push(`${path}: expected ${JSON.stringify(schema.const)}`);
  if (schema.enum && !schema.enum.includes(value)) errors.push(`${path}: ${JSON.stringify(value)} not in enum`);
  if (schema.format === "date-time" && typeof value === "string" && Number.isNaN(Date.parse(value))) errors.push(`${path}: not a date-time`);
  if (typeOf(value) === "object") {
    const o = value as Record<string, unknown>;
    for (const k of schema.required ?? []) if (!(k in o)) errors.push(`${path}: missing ${k}`);
    for (const [k, v] of Object.entries(o)) {
      if (schema.properties?.[k]) errors.push(...validate(schema.properties[k], v, root, `${path}.${k}`));
      else if (schema.additionalProperties === false) errors.push(`${path}: unexpected ${k}`);
      else if (typeof schema.additionalProperties === "object") errors.push(...validate(schema.additionalProperties, v, root, `${path}.${k}`));
    }
  }
  if (Array.isArray(value) && schema.items) value.forEach((v, i) => errors.push(...validate(schema.items, v, root, `${path}[${i}]`)));
  return errors;
}

