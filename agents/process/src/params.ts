import { z } from 'zod';

const Signal = z.enum(['SIGTERM', 'SIGINT', 'SIGQUIT', 'SIGHUP', 'SIGUSR1', 'SIGUSR2', 'SIGKILL']);

/** Parameters of `paceline:process`. Flat (no nested objects) so they map onto OCF_RESKEY_* and `--param k=v`. */
export const ProcessParams = z
  .object({
    command: z.string().min(1).describe('The program to run in the foreground (it must not fork into the background): a path, or a name looked up in PATH'),
    args: z.array(z.string()).default([]).describe('Its arguments, one per item'),
    env: z.record(z.string(), z.string()).default({}).describe('Environment variables added to the inherited environment'),
    cwd: z.string().optional().describe('Working directory'),
    user: z
      .string()
      .regex(/^[A-Za-z0-9_][A-Za-z0-9_.-]*$/, 'a user name or number')
      .optional()
      .describe('Run as this user (with its primary group and supplementary groups); needs root'),
    pidFile: z.string().optional().describe('Also write the pid to this file (for other tools); Paceline tracks the process itself'),
    logFile: z.string().optional().describe("Append the program's output here; default: output.log in the instance state directory"),
    probe: z.enum(['none', 'tcp', 'http', 'command']).default('none').describe('Readiness probe: start waits for it, monitor requires it'),
    probeHost: z.string().default('127.0.0.1').describe('tcp probe: host to connect to'),
    probePort: z.number().int().min(1).max(65535).optional().describe('tcp probe: port to connect to'),
    probeUrl: z.string().url().optional().describe('http probe: URL to GET'),
    probeStatus: z.number().int().min(100).max(599).optional().describe('http probe: the status expected (default: any 2xx or 3xx)'),
    probeCommand: z.array(z.string()).min(1).optional().describe('command probe: program and arguments; ready when it exits 0'),
    probeTimeoutMs: z.number().int().positive().default(2000).describe('Timeout of one probe attempt, in ms'),
    probeIntervalMs: z.number().int().positive().default(200).describe('Pause between probe attempts during start, in ms'),
    settleMs: z
      .number()
      .int()
      .nonnegative()
      .default(100)
      .describe('Start: how long the process must stay up before it counts as started (without a probe), in ms'),
    stopSignal: Signal.default('SIGTERM').describe('Signal sent to stop the process'),
    stopTimeoutMs: z.number().int().nonnegative().default(10_000).describe('Wait this long after the stop signal before SIGKILL, in ms'),
    processGroup: z.boolean().default(true).describe('Signal the whole process group (the program and its children), not only the program'),
  })
  .strict()
  .superRefine((p, ctx) => {
    if (p.probe === 'tcp' && p.probePort === undefined) ctx.addIssue({ code: 'custom', path: ['probePort'], message: 'is required when probe is "tcp"' });
    if (p.probe === 'http' && p.probeUrl === undefined) ctx.addIssue({ code: 'custom', path: ['probeUrl'], message: 'is required when probe is "http"' });
    if (p.probe === 'command' && p.probeCommand === undefined)
      ctx.addIssue({ code: 'custom', path: ['probeCommand'], message: 'is required when probe is "command"' });
  });
export type ProcessParams = z.infer<typeof ProcessParams>;
