import type { CodegenConfig } from '@graphql-codegen/cli';

// Custom scalars of the waba-bot schema, as they travel in JSON.
// Scalars not listed here (and not present in the schema) become `unknown`.
const scalars = {
  DateTime: 'string', // RFC 3339 instant, UTC
  Decimal: 'string', // exact decimal, e.g. money amounts "49.90"; never a JS number
  UUID: 'string',
  JSON: 'unknown',
  E164: 'string', // phone number, e.g. "+5511999998888"
  LocalTime: 'string', // wall-clock time "HH:MM" in the tenant's zone
  TimeZone: 'string', // IANA zone, e.g. "America/Sao_Paulo"
};

const config: CodegenConfig = {
  schema: '../schema.graphql',
  documents: ['operations/**/*.graphql'],
  generates: {
    'generated/graphql.ts': {
      plugins: ['typescript', 'typescript-operations'],
      config: {
        scalars,
        defaultScalarType: 'unknown',
        enumsAsTypes: true,
        useTypeImports: true,
        avoidOptionals: { field: true, inputValue: false, object: true },
      },
    },
  },
};

export default config;
