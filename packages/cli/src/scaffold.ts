/**
 * `paceline agent init NAME`: the files of a new agent package, as text. A working agent (it
 * holds a file while active) with a strict zod parameter schema, start / stop / monitor, a test
 * that runs the agent test kit with Node's own test runner, a README, and a package.json that
 * builds with tsc and can be published and named in a cluster's `agents:`. Pure: the command
 * writes the files.
 */

export interface ScaffoldOptions {
  /** The agent's name (`paceline:NAME`). */
  readonly name: string;
  /** The npm package name. */
  readonly packageName: string;
  /** The version range of @paceline/agent-api to build against, e.g. ^0.1.0. */
  readonly agentApiRange: string;
  /** The zod range Paceline accepts (agent-api's peer range), e.g. ^4.0.0. */
  readonly zodRange: string;
  /** The zod version to develop with, e.g. ^4.6.7. */
  readonly zodDevRange: string;
}

/** Agent names: what the registry accepts, starting with a letter (it also names the package and an identifier). */
export const AGENT_NAME = /^[a-z][a-z0-9_.-]*$/;

/** `lock-file` → `lockFileAgent`: the exported identifier. */
export function agentIdentifier(name: string): string {
  const parts = name.split(/[^a-zA-Z0-9]+/).filter(Boolean);
  return `${parts.map((p, i) => (i === 0 ? p : p[0]!.toUpperCase() + p.slice(1))).join('')}Agent`;
}

const json = (v: unknown): string => `${JSON.stringify(v, null, 2)}\n`;

/** The package's files: relative path → content. */
// size: a table of templates, one entry per file of the new package, each as the package will read it
export function agentPackageFiles(o: ScaffoldOptions): Record<string, string> {
  const id = agentIdentifier(o.name);
  const ref = `paceline:${o.name}`;
  return {
    'package.json': json({
      name: o.packageName,
      version: '0.1.0',
      description: `Paceline resource agent ${ref}`,
      keywords: ['paceline', 'paceline-agent', 'resource-agent'],
      type: 'module',
      exports: { '.': { types: './dist/src/index.d.ts', default: './dist/src/index.js' } },
      files: ['dist/src'],
      engines: { node: '>=20.5' },
      scripts: {
        build: 'tsc -p .',
        test: 'tsc -p . && node --test dist/test/agent.test.js',
        prepublishOnly: 'npm test',
      },
      peerDependencies: { '@paceline/agent-api': o.agentApiRange, zod: o.zodRange },
      devDependencies: { '@paceline/agent-api': o.agentApiRange, zod: o.zodDevRange, typescript: '~5.9.3', '@types/node': '^20.19.0' },
    }),
    'tsconfig.json': json({
      compilerOptions: {
        target: 'ES2022',
        lib: ['ES2023'],
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        strict: true,
        noUncheckedIndexedAccess: true,
        verbatimModuleSyntax: true,
        isolatedModules: true,
        declaration: true,
        skipLibCheck: true,
        rootDir: '.',
        outDir: 'dist',
        types: ['node'],
      },
      include: ['src', 'test'],
    }),
    '.gitignore': 'node_modules/\ndist/\n',
    'src/index.ts': `/**
 * ${ref}: holds a file while the resource is active on a node. Replace the body of start, stop
 * and monitor with what your resource needs; keep their contracts (Paceline's docs/agents.md):
 *   start    return ok() only once the resource is usable; starting a started resource is ok()
 *   stop     idempotent: stopping a stopped resource is ok(); a failed stop may get the node fenced
 *   monitor  ok(), notRunning() when cleanly stopped, failed(outcome, reason) when broken; never throws
 * Run commands with ctx.run(file, [args]) (argument arrays, never a shell string), keep state in
 * ctx.stateDir, sleep with ctx.clock, and stop when ctx.signal aborts.
 */
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, isAbsolute, join } from 'node:path';
import { z } from 'zod';
import { defineAgent, failed, notRunning, ok } from '@paceline/agent-api';

/**
 * The parameters. Strict: a misspelt key is an error at \`paceline config validate\`, not silently
 * dropped. \`.describe()\` documents each one (\`paceline agent info\`, OCF meta-data).
 */
export const params = z.strictObject({
  path: z.string().refine(isAbsolute, 'must be an absolute path').describe('The file this resource holds while active').meta({ unique: true }),
  content: z.string().default('held by the cluster\\n').describe('What the file says'),
});
export type Params = z.infer<typeof params>;

async function read(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

export const ${id} = defineAgent({
  meta: {
    name: '${o.name}',
    version: '0.1.0',
    description: 'Holds a file while active',
    defaultTimeouts: { start: 10_000, stop: 10_000, monitor: 5_000 },
    defaultMonitorInterval: 10_000,
  },
  params,

  async start(p, ctx) {
    const current = await read(p.path);
    if (current === p.content) return ok();
    if (current !== undefined) return failed('generic-error', \`\${p.path} exists with other content: not overwriting it\`);
    // Write beside it and rename, so a reader never sees half a file.
    await mkdir(ctx.stateDir, { recursive: true });
    await mkdir(dirname(p.path), { recursive: true });
    const tmp = join(ctx.stateDir, 'content.tmp');
    await writeFile(tmp, p.content);
    await rename(tmp, p.path);
    ctx.log.info('holding the file', { path: p.path });
    return ok();
  },

  async stop(p) {
    // Only our file: someone else's is left alone (and is not this resource running).
    if ((await read(p.path)) === p.content) await rm(p.path, { force: true });
    return ok();
  },

  async monitor(p) {
    const current = await read(p.path);
    if (current === undefined) return notRunning();
    return current === p.content ? ok() : failed('generic-error', \`\${p.path} was changed behind the cluster's back\`);
  },
});
`,
    'test/agent.test.ts': `/** The agent test kit (probe, start twice, stop twice, timeouts, exit-code lint) on the real agent. */
import { strict as assert } from 'node:assert';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { formatReport, testAgent } from '@paceline/agent-api';
import { ${id} } from '../src/index.js';

test('${ref} passes the agent test kit', async () => {
  const dir = await mkdtemp(join(tmpdir(), '${o.name}-test-'));
  try {
    const report = await testAgent(${id}, { path: join(dir, 'held') }, {
      stateDir: join(dir, 'state'),
      // Parameter sets the schema must reject, each with an error naming the parameter.
      badParams: [{ path: 'relative/file' }, { path: join(dir, 'x'), contnet: 'a typo' }],
    });
    assert.ok(report.passed, formatReport(report));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
`,
    'README.md': `# ${o.packageName}

The Paceline resource agent \`${ref}\`: holds a file while the resource is active on a node.

## Develop

\`\`\`sh
npm install
npm test                     # builds, then runs the agent test kit on the agent (test/agent.test.ts)
paceline agent info ./#${o.name}
paceline agent test ./#${o.name} --param path=/tmp/${o.name}-held
\`\`\`

\`paceline agent test\` runs the same checks as the test, against the built agent, with the
parameters you give (as root, with the real commands your agent runs).

## Use it in a cluster

Install the package on every node that may run it (where Paceline is installed, or in a
\`node_modules\` next to the cluster configuration), then name it in the configuration:

\`\`\`yaml
agents: ["${o.packageName}"]
resources:
  - type: primitive
    id: held
    agent: "${ref}"
    params: { path: /run/${o.name}/held }
    ops: [{ name: monitor, interval: 10s }]
\`\`\`

\`paceline config validate cluster.yaml\` loads it and checks the parameters with its schema. A node
where the package is not installed cannot run the resource: its probe reports the agent not
installed, and the resource runs elsewhere (\`paceline status\` says why).

## Publish

\`npm publish\` (runs the tests first). \`@paceline/agent-api\` and \`zod\` are peer dependencies:
the agent uses the Paceline installation's own.
`,
  };
}
