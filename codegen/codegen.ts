import type { CodegenConfig } from '@graphql-codegen/cli';

// Every custom scalar of the waba-bot schema, as it travels in JSON. `strictScalars` makes the
// generation fail when the schema gains a scalar that is not mapped here.
export const scalars = {
  Date: 'string', // calendar date "2026-12-25", read in the tenant's zone
  DateTime: 'string', // RFC 3339 instant, e.g. "2026-12-25T10:00:00-03:00"
  Decimal: 'string', // exact decimal, e.g. money amounts "49.90"; never a JS number
  E164Phone: 'string', // phone in E.164, e.g. "+5511987654321"
  LocalTime: 'string', // wall-clock time "HH:MM" in the tenant's zone
  TimeZone: 'string', // IANA zone, e.g. "America/Sao_Paulo"
};

const config: CodegenConfig = {
  schema: '../schema.graphql',
  documents: ['operations/**/*.graphql'],
  generates: {
    // One file set from the client preset: typed document nodes for the dashboard's operations
    // and the schema types they use (the typescript + typescript-operations plugins in one file
    // declared every enum twice).
    'generated/': {
      preset: 'client',
      config: {
        scalars,
        strictScalars: true,
        enumsAsTypes: true,
        useTypeImports: true,
      },
    },
  },
};

export default config;
