import { describe, expect, it } from '@jest/globals';
import { z } from 'zod';
import { OcfError, formatOcfRef, isOcfRef, parseOcfMetadata, parseOcfRef } from '@paceline/ocf';
import { ocfParamsSchema, parseOcfParams } from '../src/schema.js';

const XML = `<?xml version="1.0"?>
<!DOCTYPE resource-agent SYSTEM "ra-api-1.dtd">
<resource-agent name="Web" version="2.3">
<version>1.0</version>
<longdesc lang="en">A web server.</longdesc>
<shortdesc lang="en">Web server</shortdesc>
<parameters>
<parameter name="config" unique="1" required="1">
<longdesc lang="en">Path to the config</longdesc><shortdesc lang="en">config file</shortdesc>
<content type="string" />
</parameter>
<parameter name="port">
<longdesc lang="en">Port</longdesc><shortdesc lang="en">port</shortdesc>
<content type="integer" default="80" />
</parameter>
<parameter name="debug">
<longdesc lang="en">Debug</longdesc><shortdesc lang="en">debug</shortdesc>
<content type="boolean" default="false" />
</parameter>
<parameter name="mode">
<longdesc lang="en">Mode</longdesc><shortdesc lang="en">mode</shortdesc>
<content type="select" default="a"><option value="a" /><option value="b" /></content>
</parameter>
</parameters>
<actions>
<action name="start" timeout="40s" />
<action name="stop" timeout="1min" />
<action name="monitor" timeout="20" interval="10s" depth="0" />
<action name="promote" timeout="20s" />
<action name="demote" timeout="20s" />
<action name="meta-data" timeout="5s" />
</actions>
</resource-agent>`;

describe('OCF references', () => {
  it.each([
    ['ocf:heartbeat:IPaddr2', { provider: 'heartbeat', type: 'IPaddr2' }],
    ['OCF:pacemaker:Stateful', { provider: 'pacemaker', type: 'Stateful' }],
  ])('parses %s', (text, ref) => {
    expect(parseOcfRef(text)).toEqual(ref);
    expect(isOcfRef(text)).toBe(true);
  });
  it.each(['paceline:ip', 'ocf:heartbeat', 'ocf:..:x', 'ocf:heartbeat:../../bin/sh', 'ocf:a:b:c'])('rejects %s', (text) => {
    expect(() => parseOcfRef(text)).toThrow(OcfError);
  });
  it('formats', () => expect(formatOcfRef({ provider: 'heartbeat', type: 'Dummy' })).toBe('ocf:heartbeat:Dummy'));
});

describe('parseOcfMetadata', () => {
  const meta = parseOcfMetadata(XML, 'ocf:test:Web');
  it('reads the agent, parameters and actions', () => {
    expect(meta.name).toBe('Web');
    expect(meta.shortdesc).toBe('Web server');
    expect(meta.parameters.map((p) => [p.name, p.type, p.required, p.unique, p.default])).toEqual([
      ['config', 'string', true, true, undefined],
      ['port', 'integer', false, false, '80'],
      ['debug', 'boolean', false, false, 'false'],
      ['mode', 'select', false, false, 'a'],
    ]);
    expect(meta.parameters[3]!.options).toEqual(['a', 'b']);
    expect(meta.actions.find((a) => a.name === 'stop')!.timeoutMs).toBe(60_000);
    expect(meta.actions.find((a) => a.name === 'monitor')).toMatchObject({ timeoutMs: 20_000, intervalMs: 10_000, depth: 0 });
  });
  it('rejects XML that is not meta-data, naming the agent', () => {
    expect(() => parseOcfMetadata('<html/>', 'ocf:x:y')).toThrow(/ocf:x:y: meta-data has no <resource-agent>/);
  });
});

describe('ocfParamsSchema', () => {
  const schema = ocfParamsSchema(parseOcfMetadata(XML, 'ocf:test:Web'));
  const parse = (raw: unknown) => parseOcfParams(schema, raw, 'web', 'ocf:test:Web');
  it('turns values into the strings the script gets', () => {
    expect(parse({ config: '/etc/x', port: 8080, debug: 'yes', mode: 'b' })).toEqual({ config: '/etc/x', port: '8080', debug: 'true', mode: 'b' });
  });
  it('does not inject defaults (the script applies its own)', () => {
    expect(parse({ config: '/etc/x' })).toEqual({ config: '/etc/x' });
  });
  it.each([
    [{}, 'resource "web" (ocf:test:Web): parameter "config": is required but missing'],
    [{ config: 'x', port: 'eighty' }, 'resource "web" (ocf:test:Web): parameter "port": must be an integer'],
    [{ config: 'x', debug: 'maybe' }, 'resource "web" (ocf:test:Web): parameter "debug": must be a boolean'],
    [{ config: 'x', mode: 'c' }, 'resource "web" (ocf:test:Web): parameter "mode": must be one of a, b'],
    [{ config: 'x', prot: 1 }, 'resource "web" (ocf:test:Web): parameter "prot": unknown parameter (did you mean "port"?)'],
  ])('rejects %j naming the resource and parameter', (raw, message) => {
    expect(() => parse(raw)).toThrow(message);
  });
  it('records descriptions and defaults for docs', () => {
    const js = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as { properties: Record<string, { description?: string }> };
    expect(js.properties['port']!.description).toBe('port (default: 80)');
  });
  it('can accept undeclared parameters when asked', () => {
    const loose = ocfParamsSchema(parseOcfMetadata(XML, 'ocf:test:Web'), { allowUnknown: true });
    expect(parseOcfParams(loose, { config: 'x', extra: 3 }, 'web', 'ocf:test:Web')).toEqual({ config: 'x', extra: '3' });
  });
});
