import { z } from 'zod';

/**
 * The OpenAPI 3.1 document, assembled from contributions: each routes module calls `registerPaths` (and,
 * for its own schemas, `registerSchemas`) at module load, with full paths (`/api/v1/...`). Schemas are zod
 * schemas (converted with `z.toJSONSchema`) or plain JSON Schema objects; refer to one with
 * `schemaRef('Name')`. `GET /api/v1/openapi.json` serves `buildOpenApiDocument()`.
 * @example registerPaths({ '/api/v1/cities/{city}/kpis': { get: { summary: 'KPIs', responses: { ... } } } })
 */
export type JsonSchema = Record<string, unknown>;
export type OperationObject = Record<string, unknown>;
export type PathItem = Partial<Record<'get' | 'post' | 'put' | 'patch' | 'delete', OperationObject>> &
  Record<string, unknown>;

const paths = new Map<string, PathItem>();
const schemas = new Map<string, JsonSchema>();

/** Converts a zod schema to a JSON Schema (2020-12, the dialect of OpenAPI 3.1), describing its input. */
export function jsonSchemaOf(schema: z.ZodType): JsonSchema {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, {
    io: 'input',
    unrepresentable: 'any',
  }) as JsonSchema;
  return rest;
}

/** Adds (or extends, per method) path items. */
export function registerPaths(items: Record<string, PathItem>): void {
  for (const [path, item] of Object.entries(items)) {
    paths.set(path, { ...(paths.get(path) ?? {}), ...item });
  }
}

/** Adds component schemas (zod or JSON Schema) under `#/components/schemas/<name>`. */
export function registerSchemas(items: Record<string, z.ZodType | JsonSchema>): void {
  for (const [name, schema] of Object.entries(items)) {
    schemas.set(name, schema instanceof z.ZodType ? jsonSchemaOf(schema) : schema);
  }
}

/** A `$ref` to a registered component schema. */
export function schemaRef(name: string): JsonSchema {
  return { $ref: `#/components/schemas/${name}` };
}

/** A JSON response of a component schema. */
export function jsonResponse(description: string, schema: JsonSchema): Record<string, unknown> {
  return { description, content: { 'application/json': { schema } } };
}

/** A problem+json response (for 4xx/5xx entries of `responses`). */
export function problemResponse(description: string): Record<string, unknown> {
  return { description, content: { 'application/problem+json': { schema: schemaRef('Problem') } } };
}

registerSchemas({
  Problem: {
    type: 'object',
    description: 'RFC 7807 problem details',
    required: ['type', 'title', 'status', 'detail', 'instance'],
    properties: {
      type: { type: 'string', description: 'a URI reference naming the kind of problem, /problems/<code>' },
      title: { type: 'string' },
      status: { type: 'integer' },
      detail: { type: 'string' },
      instance: { type: 'string' },
      correlationId: { type: 'string' },
      errors: {
        type: 'array',
        items: {
          type: 'object',
          required: ['field', 'message'],
          properties: {
            index: { type: 'integer', description: 'position of the offending item in a batch' },
            field: { type: 'string', description: 'dotted path of the offending field' },
            value: { description: 'the offending value (long values are cut)' },
            message: { type: 'string' },
          },
        },
      },
    },
    additionalProperties: true,
  },
});

/** The whole OpenAPI 3.1 document as it stands. */
export function buildOpenApiDocument(): Record<string, unknown> {
  const sortedPaths = Object.fromEntries([...paths.entries()].sort(([a], [b]) => a.localeCompare(b)));
  return {
    openapi: '3.1.0',
    info: {
      title: 'Urban Twin API',
      version: '1.0.0',
      description:
        'Event-sourced geospatial digital twin of climate-neutral cities. Errors are RFC 7807 application/problem+json.',
      license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
    },
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    servers: [{ url: '/' }],
    paths: sortedPaths,
    components: {
      schemas: Object.fromEntries([...schemas.entries()].sort(([a], [b]) => a.localeCompare(b))),
      securitySchemes: {
        apiKey: { type: 'apiKey', in: 'header', name: 'X-Api-Key' },
        bearer: {
          type: 'http',
          scheme: 'bearer',
          description: 'the same API key as `Authorization: Bearer <key>`',
        },
      },
    },
    // Every route needs a key unless it says otherwise (health, readiness, this document).
    security: [{ bearer: [] }, { apiKey: [] }],
  };
}
