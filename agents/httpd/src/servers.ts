/**
 * What differs between nginx and Apache: the program, the config check, the foreground argv, the
 * environment, and the process names a probe recognises. Everything the server writes follows
 * from the instance's run and log directories.
 */
import { dirname, join } from 'node:path';
import type { AgentContext } from '@paceline/agent-api';
import type { HttpdParams } from './params.js';

export interface ServerPlan {
  readonly program: string;
  /** The config check (the same flags as the daemon, plus -t): exit 0 when the config is good. */
  readonly checkArgs: readonly string[];
  /** The daemon in the foreground. */
  readonly args: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  /** Directories to create (and hand to `owner` when set) before the check. */
  readonly dirs: readonly string[];
  readonly owner?: string | undefined;
}

/** Process names of each server, for finding one started outside Paceline. */
export const PROCESS_NAMES: Readonly<Record<HttpdParams['server'], readonly string[]>> = {
  nginx: ['nginx'],
  apache: ['apache2', 'httpd'],
};

export const PROGRAM: Readonly<Record<HttpdParams['server'], string>> = { nginx: 'nginx', apache: 'apache2' };

export const configOf = (p: HttpdParams): string => p.config ?? (p.server === 'nginx' ? '/etc/nginx/nginx.conf' : '/etc/apache2/apache2.conf');
export const runDirOf = (p: HttpdParams, ctx: AgentContext): string => p.runDir ?? join(ctx.stateDir, 'run');
export const logDirOf = (p: HttpdParams, ctx: AgentContext): string => p.logDir ?? join(ctx.stateDir, 'log');

/** Main-context directives of an nginx configuration dump (`nginx -T`): is `name` set, and to what. */
export function nginxDirective(dump: string, name: string): string | undefined {
  const re = new RegExp(`^\\s*${name}\\s+([^;]+);`);
  for (const line of dump.split('\n')) {
    const m = re.exec(line.replace(/#.*$/, ''));
    if (m) return m[1]!.trim().replace(/^"(.*)"$/, '$1');
  }
  return undefined;
}

/**
 * nginx: `-c CONFIG -e LOGDIR/error.log -g 'daemon off; [pid RUNDIR/nginx.pid;] [user U;]'` —
 * the pid and user directives only when the configuration (`dump`, from `nginx -T`) does not set
 * them itself (nginx refuses a directive given twice).
 */
export function nginxPlan(p: HttpdParams, ctx: AgentContext, dump: string): ServerPlan {
  const runDir = runDirOf(p, ctx);
  const logDir = logDirOf(p, ctx);
  const globals = ['daemon off;'];
  if (nginxDirective(dump, 'pid') === undefined) globals.push(`pid "${join(runDir, 'nginx.pid')}";`);
  if (p.user && nginxDirective(dump, 'user') === undefined) globals.push(`user ${p.user};`);
  const base = ['-c', configOf(p), '-e', join(logDir, 'error.log'), '-g', globals.join(' ')];
  return { program: 'nginx', checkArgs: ['-t', ...base], args: base, env: {}, dirs: [runDir, logDir] };
}

/**
 * Apache: `apache2 -DFOREGROUND -f CONFIG -d SERVERROOT -c 'PidFile RUNDIR/apache2.pid'` with the
 * environment Debian's apache2.conf expects (what /etc/apache2/envvars would set), pointed at
 * this instance's directories.
 */
export function apachePlan(p: HttpdParams, ctx: AgentContext, group: string): ServerPlan {
  const runDir = runDirOf(p, ctx);
  const logDir = logDirOf(p, ctx);
  const lockDir = join(runDir, 'lock');
  const user = p.user ?? 'www-data';
  const config = configOf(p);
  const base = ['-f', config, '-d', p.serverRoot ?? dirname(config), '-c', `PidFile ${join(runDir, 'apache2.pid')}`];
  return {
    program: 'apache2',
    checkArgs: ['-t', ...base],
    args: ['-DFOREGROUND', ...base],
    env: {
      APACHE_RUN_USER: user,
      APACHE_RUN_GROUP: group,
      APACHE_PID_FILE: join(runDir, 'apache2.pid'),
      APACHE_RUN_DIR: runDir,
      APACHE_LOCK_DIR: lockDir,
      APACHE_LOG_DIR: logDir,
      LANG: 'C',
    },
    dirs: [runDir, lockDir, logDir],
    owner: user,
  };
}
