/** parseHostPort: the one HOST[:PORT] parser (the runtime's parseEndpoint and paceline:mirror's peers use it). */
import { parseHostPort } from '@paceline/agent-api';

test.each([
  ['10.0.0.1', { ok: true, host: '10.0.0.1', port: 5420 }],
  [' 10.0.0.1:7001 ', { ok: true, host: '10.0.0.1', port: 7001 }],
  ['serv1.example', { ok: true, host: 'serv1.example', port: 5420 }],
  ['fd00::1', { ok: true, host: 'fd00::1', port: 5420 }],
  ['[fd00::1]:9', { ok: true, host: 'fd00::1', port: 9 }],
  ['[fd00::1]', { ok: true, host: 'fd00::1', port: 5420 }],
  ['host:0', { ok: true, host: 'host', port: 0 }],
])('%s', (text, want) => {
  expect(parseHostPort(text, 5420)).toEqual(want);
});

test.each([
  ['host:x', '"host:x" is not an address (write HOST or HOST:PORT, [IPv6]:PORT)'],
  ['a:b:c]', '"a:b:c]" is not an address (write HOST or HOST:PORT, [IPv6]:PORT)'],
  ['', '"" is not an address (write HOST or HOST:PORT, [IPv6]:PORT)'],
  ['10.0.0.1:70000', '"10.0.0.1:70000": port 70000 is out of range'],
  ['[fd00::1]:99999', '"[fd00::1]:99999": port 99999 is out of range'],
])('%s is refused', (text, problem) => {
  expect(parseHostPort(text, 5420)).toEqual({ ok: false, problem });
});
