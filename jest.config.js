/**
 * One jest run over every package and agent. Tests live in each package's `test/` folder and
 * import other packages by name; the mapper points those names at the TypeScript sources so
 * tests never run against stale builds. ts-jest transpiles only (type checking is `tsc -b`).
 * @type {import('jest').Config}
 */
export default {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  roots: ['<rootDir>/packages', '<rootDir>/agents', '<rootDir>/examples'],
  testMatch: ['**/test/**/*.test.ts'],
  testPathIgnorePatterns: ['/node_modules/', '/dist/'],
  moduleNameMapper: {
    '^@paceline/agent-api$': '<rootDir>/packages/agent-api/src/index.ts',
    '^@paceline/(agent-api|testkit)/([a-z-]+)$': '<rootDir>/packages/$1/src/$2/index.ts',
    '^@paceline/agent-([^/]+)$': '<rootDir>/agents/$1/src/index.ts',
    '^@paceline/([^/]+)$': '<rootDir>/packages/$1/src/index.ts',
    '^(\\.{1,2}/.*)\\.js$': '$1',
  },
  transform: {
    '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: '<rootDir>/tsconfig.test.json' }],
  },
  testTimeout: 60000,
};
