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

export function cliAgentRegistry(options: { ocfRoot?: string } = {}): AgentRegistry {
  return builtinAgentRegistry([ipAgent, macAgent, mirrorAgent, httpdAgent, bindAgent, sambaAgent, radiusAgent, cyrusAgent, sendmailAgent]).addResolver('ocf', ocfRefResolver({ run: new ExecaCommandRunner(), ...options }));
}
