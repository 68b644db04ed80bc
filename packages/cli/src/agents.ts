/**
 * The agents the `paceline` command knows: the built-in TypeScript agents (dummy, stateful, process,
 * ip, mac, mirror, httpd, bind, samba, radius, cyrus, sendmail) and, through the OCF bridge, every installed OCF script (`ocf:PROVIDER:TYPE`).
 */
import type { AgentRegistry } from '@paceline/agent-api';
import { bindAgent } from '@paceline/agent-bind';
import { cyrusAgent } from '@paceline/agent-cyrus';
import { httpdAgent } from '@paceline/agent-httpd';
import { ipAgent } from '@paceline/agent-ip';
import { macAgent } from '@paceline/agent-mac';
import { mirrorAgent } from '@paceline/agent-mirror';
import { radiusAgent } from '@paceline/agent-radius';
import { sambaAgent } from '@paceline/agent-samba';
import { sendmailAgent } from '@paceline/agent-sendmail';
import { ocfRefResolver } from '@paceline/ocf';
import { ExecaCommandRunner } from '@paceline/runtime';
import { builtinAgentRegistry } from './commands/agent.js';

/** OCF_ROOT from the environment (as Pacemaker's tools honour it), else undefined: the OCF default. */
export function envOcfRoot(env: NodeJS.ProcessEnv = process.env): string | undefined {
  return env['OCF_ROOT'] || undefined;
}

/** `ocfRoot` defaults to the OCF_ROOT environment variable, then to the OCF default (/usr/lib/ocf). */
export function cliAgentRegistry(options: { ocfRoot?: string } = {}): AgentRegistry {
  const ocfRoot = options.ocfRoot ?? envOcfRoot();
  return builtinAgentRegistry([ipAgent, macAgent, mirrorAgent, httpdAgent, bindAgent, sambaAgent, radiusAgent, cyrusAgent, sendmailAgent]).addResolver('ocf', ocfRefResolver({ run: new ExecaCommandRunner(), ...(ocfRoot !== undefined ? { ocfRoot } : {}) }));
}
