#!/usr/bin/env node
// Runs one action of a built Paceline agent and prints its ActionResult as JSON: what the service
// tests run through `ip netns exec NS node agent-driver.mjs REQUEST`, so the agent's own sockets
// (its protocol checks, /proc/net) are those of the test's namespace. REQUEST is JSON:
// { repo, module (path to the agent's built index.js), agent (export name), action, params,
//   stateDir, instance, timeoutMs, interval }.
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const req = JSON.parse(process.argv[2]);
const api = await import(pathToFileURL(join(req.repo, 'packages/agent-api/dist/index.js')).href);
// The OCF shim's runner and the agent API's clock: what an exported agent runs with, and lighter to load than the runtime package.
const { createProcessRunner } = await import(pathToFileURL(join(req.repo, 'packages/ocf/dist/runner.js')).href);
const { systemClock } = api;
const mod = await import(pathToFileURL(req.module).href);
const agent = mod[req.agent];
if (!agent) throw new Error(`${req.module} has no export ${req.agent}`);
const checked = api.validateParams(agent, req.params, req.instance);
const result = !checked.ok
  ? checked.result
  : await api.invokeAgent(agent, {
      action: req.action,
      params: checked.params,
      node: 'node1',
      instance: req.instance,
      stateDir: req.stateDir,
      run: createProcessRunner(),
      log: api.silentLogger,
      clock: systemClock,
      timeoutMs: req.timeoutMs,
      interval: req.interval ?? 0,
    });
process.stdout.write(`${JSON.stringify(result)}\n`);
