/**
 * The RADIUS packets against RFC 2865's own example (§7.1: "nemo" / "arctangent" / secret
 * "xyzzy5461"), a Message-Authenticator round trip, a wrong secret, and the exchange's verdicts
 * on loopback: a closed port is "not running", a silent one is a hang.
 */
import { describe, expect, it } from '@jest/globals';
import { createHash, createHmac } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { runCheck } from '@paceline/agent-api/daemon';
import { validateParams } from '@paceline/agent-api';
import { Attr, Code, configErrors, decodeResponse, encodeRequest, exchange, hidePassword, radiusAgent } from '@paceline/agent-radius';

const RA = Buffer.from('0f403f9473978057bd83d5cb98f4227a', 'hex');
const SECRET = 'xyzzy5461';

describe('RADIUS packets', () => {
  it("encodes RFC 2865 §7.1's Access-Request byte for byte (User-Password hidden)", () => {
    const p = encodeRequest({
      code: Code.AccessRequest,
      identifier: 0,
      authenticator: RA,
      secret: SECRET,
      messageAuthenticator: false,
      attributes: [
        { type: Attr.UserName, value: Buffer.from('nemo') },
        { type: Attr.UserPassword, value: hidePassword('arctangent', SECRET, RA) },
        { type: Attr.NasIpAddress, value: Buffer.from([192, 168, 1, 16]) },
        { type: 5, value: Buffer.from([0, 0, 0, 3]) },
      ],
    });
    expect(p.toString('hex')).toBe('010000380f403f9473978057bd83d5cb98f4227a01066e656d6f02120dbe708d93d413ce3196e43f782a0aee0406c0a80110050600000003');
  });

  it("verifies RFC 2865 §7.1's Access-Accept, and refuses it under another secret", () => {
    const accept = Buffer.from('0200002686fe220e7624ba2a1005f6bf9b55e0b20606000000010f06000000000e06c0a80103', 'hex');
    expect(decodeResponse(accept, RA, SECRET)).toMatchObject({ ok: true, code: Code.AccessAccept, identifier: 0 });
    const wrong = decodeResponse(accept, RA, 'not-the-secret');
    expect(wrong).toEqual({ ok: false, problem: 'Access-Accept whose Response Authenticator does not verify (is the shared secret right?)' });
  });

  it('a Status-Server carries a Message-Authenticator: the HMAC-MD5 of the packet with the field zeroed', () => {
    const p = encodeRequest({ code: Code.StatusServer, identifier: 7, authenticator: RA, secret: 's', attributes: [] });
    expect(p.length).toBe(38);
    expect(p[20]).toBe(Attr.MessageAuthenticator);
    const zeroed = Buffer.from(p);
    zeroed.fill(0, 22, 38);
    expect(p.subarray(22)).toEqual(createHmac('md5', 's').update(zeroed).digest());
  });

  it("checks a response's Message-Authenticator and Reply-Message", () => {
    const reply = Buffer.from([Attr.ReplyMessage, 7, ...Buffer.from('hello')]);
    const ma = Buffer.from([Attr.MessageAuthenticator, 18, ...Buffer.alloc(16)]);
    const body = Buffer.concat([reply, ma]);
    const head = Buffer.from([Code.AccessAccept, 9, 0, 20 + body.length]);
    const packet = Buffer.concat([head, RA, body]); // authenticator field = request's while signing
    createHmac('md5', 's')
      .update(packet)
      .digest()
      .copy(packet, 20 + reply.length + 2);
    createHash('md5').update(packet.subarray(0, 4)).update(RA).update(packet.subarray(20)).update('s').digest().copy(packet, 4);
    expect(decodeResponse(packet, RA, 's')).toMatchObject({ ok: true, replyMessage: 'hello' });
    packet[20 + reply.length + 5]! ^= 1;
    createHash('md5').update(packet.subarray(0, 4)).update(RA).update(packet.subarray(20)).update('s').digest().copy(packet, 4);
    expect(decodeResponse(packet, RA, 's')).toEqual({
      ok: false,
      problem: 'Access-Accept whose Message-Authenticator does not verify (is the shared secret right?)',
    });
  });

  it('hides a long password over several 16-byte blocks, and refuses one over 128 bytes', () => {
    expect(hidePassword('x'.repeat(17), 's', RA).length).toBe(32);
    expect(() => hidePassword('x'.repeat(129), 's', RA)).toThrow('at most 128 bytes');
  });
});

describe('radius parameters', () => {
  it.each([
    [{ address: '10.0.0.1' }, 'secret'],
    [{ address: '10.0.0.1', secret: 'a', secretFile: '/x' }, 'secret'],
    [{ address: '10.0.0.1', secret: 'a', check: 'access-request', testPassword: 'p' }, 'testUser'],
    [{ address: '10.0.0.1', secret: 'a', check: 'access-request', testUser: 'u' }, 'testPassword'],
    [{ address: '10.0.0.1', secret: 'a', check: 'ping' }, 'check'],
    [{ address: 'radius.example', secret: 'a' }, 'address'],
    [{ address: '10.0.0.1', secret: 'a', configDir: 'raddb' }, 'configDir'],
    [{ address: '10.0.0.1', secret: 'a', sekret: 'b' }, 'sekret'],
  ])('rejects %j naming %s', (raw, param) => {
    const r = validateParams(radiusAgent, raw, 'rad');
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.message).toContain(param);
  });
  it('fills defaults', () => {
    const r = validateParams(radiusAgent, { address: '10.0.0.1', secret: 's' }, 'rad');
    expect(r.ok && r.params).toMatchObject({ configDir: '/etc/freeradius/3.0', port: 1812, check: 'status-server', checkTimeoutMs: 5000, retryMs: 1000 });
  });
});

describe('freeradius -C output', () => {
  it('keeps the error lines without their time stamps', () => {
    const out = [
      'Sun Dec  6 23:49:36 2026 : Info: Starting - reading configuration files ...',
      'Sun Dec  6 23:49:36 2026 : Error: bad/clients.conf[294]: EOF reached without closing brace for section client starting at line 293',
      'Sun Dec  6 23:49:36 2026 : Error: Errors reading or parsing bad/radiusd.conf',
    ].join('\n');
    expect(configErrors(out)).toBe(
      'bad/clients.conf[294]: EOF reached without closing brace for section client starting at line 293 | Errors reading or parsing bad/radiusd.conf',
    );
  });
});

describe('RADIUS exchange verdicts on loopback', () => {
  const probe = { kind: 'status-server' } as const;
  it('a closed port is "not running" (ICMP port unreachable on the connected socket)', async () => {
    const s = createSocket('udp4');
    await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
    const port = s.address().port;
    await new Promise<void>((r) => s.close(() => r()));
    const v = await runCheck(`RADIUS 127.0.0.1:${port}`, 3000, new AbortController().signal, (sig) =>
      exchange({ address: '127.0.0.1', port, secret: 's', probe, retryMs: 200 }, sig),
    );
    expect(v).toEqual({ verdict: 'not-running', saw: `RADIUS 127.0.0.1:${port}: ECONNREFUSED` });
  });
  it('a socket that never answers is a hang, reported at the check timeout; the request was resent meanwhile', async () => {
    const s = createSocket('udp4');
    let got = 0;
    s.on('message', () => {
      got++;
    });
    await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
    const port = s.address().port;
    try {
      const t0 = Date.now();
      const v = await runCheck(`RADIUS 127.0.0.1:${port}`, 700, new AbortController().signal, (sig) =>
        exchange({ address: '127.0.0.1', port, secret: 's', probe, retryMs: 200 }, sig),
      );
      expect(v).toEqual({ verdict: 'hung', saw: `RADIUS 127.0.0.1:${port}: no answer within 700 ms` });
      expect(Date.now() - t0).toBeLessThan(3000);
      expect(got).toBeGreaterThanOrEqual(2);
    } finally {
      s.close();
    }
  });
});
