/**
 * The layer table of docs/ARCHITECTURE.md, enforced on every `npm test` (npm run layers): a
 * folder may import only the folders named for it. common/ is the leaf every layer may use.
 */
const layers = {
  common: [],
  runtime: ['common'],
  storage: ['common'],
  filter: ['common'],
  api: ['common', 'storage'],
  actors: ['common', 'api', 'runtime', 'storage', 'filter'],
  protocol: ['common', 'api', 'runtime', 'filter', 'storage'],
  namesrv: ['common', 'api', 'runtime', 'protocol'],
  client: ['common', 'api', 'runtime', 'filter', 'protocol'],
};

module.exports = {
  forbidden: [
    ...Object.entries(layers).map(([from, may]) => ({
      name: `${from}-layer`,
      severity: 'error',
      comment: `${from}/ may import only ${may.length > 0 ? may.join(', ') : 'nothing of the project'}`,
      from: { path: `^${from}/` },
      to: { path: '^[a-z]+/', dependencyTypesNot: ['core'], pathNot: `^(${[from, ...may].join('|')})/|^node_modules/` },
    })),
    {
      name: 'no-cycle-between-folders',
      severity: 'error',
      comment: 'folders form a stack: no import cycle may cross a folder boundary',
      from: { path: '^(common|runtime|storage|filter|api|actors|protocol|namesrv|client)/' },
      to: { circular: true, pathNot: '^$1/' },
    },
    {
      name: 'not-to-unresolvable',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(dist|node_modules)/' },
  },
};
