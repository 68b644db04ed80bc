// A tiny mail client for the real-daemon tests, run inside a test's network namespace:
//   node mail-client.mjs '{"op":"lmtp"|"smtp"|"imap", ...}'
// prints one JSON line. Plain sockets, no library: it only has to speak to Cyrus and Sendmail.
//   lmtp/smtp: {host, port, from, to: [..], messages: [{subject, body}]}  -> {replies: [[rcpt, code line]...]}
//   imap: {host, port, user, password, commands: ["CREATE user/bob", ...], mailbox?}
//         -> {subjects: [...], uids: [...], quota: "...", results: [...]}
import { connect } from 'node:net';

const req = JSON.parse(process.argv[2]);

function session(host, port) {
  const sock = connect({ host, port });
  let buf = '';
  const lines = [];
  let waiter;
  const pump = () => {
    while (waiter && lines.length) {
      const l = lines.shift();
      waiter.got.push(l);
      if (waiter.done(l)) {
        const w = waiter;
        waiter = undefined;
        w.resolve(w.got);
      }
    }
  };
  sock.setEncoding('latin1');
  sock.on('data', (d) => {
    buf += d;
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      lines.push(buf.slice(0, i).replace(/\r$/, ''));
      buf = buf.slice(i + 1);
    }
    pump();
  });
  const closed = new Promise((_, rej) => {
    sock.on('error', rej);
    sock.on('close', () => rej(new Error('closed')));
  });
  closed.catch(() => {});
  return {
    read: (done) =>
      Promise.race([
        new Promise((resolve) => {
          waiter = { done, got: [], resolve };
          pump();
        }),
        closed,
      ]),
    send: (l) => sock.write(`${l}\r\n`, 'latin1'),
    end: () => sock.destroy(),
  };
}

const reply = (l) => /^\d{3} /.test(l);

async function xmtp() {
  const s = session(req.host, req.port);
  await s.read(reply);
  s.send(`${req.op === 'lmtp' ? 'LHLO' : 'EHLO'} test.client`);
  await s.read(reply);
  const replies = [];
  for (const m of req.messages) {
    s.send(`MAIL FROM:<${req.from}>`);
    const mf = (await s.read(reply)).pop();
    if (!mf.startsWith('250')) {
      replies.push(['MAIL', mf]);
      continue;
    }
    let accepted = 0;
    for (const r of req.to) {
      s.send(`RCPT TO:<${r}>`);
      const rr = (await s.read(reply)).pop();
      replies.push([r, rr]);
      if (rr.startsWith('250')) accepted++;
    }
    if (!accepted) {
      s.send('RSET');
      await s.read(reply);
      continue;
    }
    s.send('DATA');
    await s.read(reply);
    const text = `From: <${req.from}>\r\nTo: ${req.to.join(', ')}\r\nSubject: ${m.subject}\r\nMessage-ID: <${m.subject.replace(/\W/g, '')}.${Date.now()}@test>\r\n\r\n${m.body ?? m.subject}\r\n.`;
    s.send(text);
    // LMTP answers once per accepted recipient, SMTP once.
    for (let i = 0; i < (req.op === 'lmtp' ? accepted : 1); i++) replies.push(['DATA', (await s.read(reply)).pop()]);
  }
  s.send('QUIT');
  s.end();
  return { replies };
}

const q = (x) => `"${x.replace(/[\\"]/g, (c) => `\\${c}`)}"`;

async function imap() {
  const s = session(req.host, req.port);
  let n = 0;
  const cmd = async (text) => {
    const tag = `t${++n}`;
    s.send(`${tag} ${text}`);
    return s.read((l) => l.startsWith(`${tag} `));
  };
  await s.read(() => true);
  const login = (await cmd(`LOGIN ${q(req.user)} ${q(req.password)}`)).pop();
  if (!/^t\d+ OK/.test(login)) return { error: login };
  const results = [];
  for (const c of req.commands ?? []) results.push((await cmd(c)).pop());
  const out = { results };
  if (req.mailbox) {
    const sel = await cmd(`EXAMINE ${q(req.mailbox)}`);
    out.exists = Number(sel.map((l) => /^\* (\d+) EXISTS/.exec(l)?.[1]).find(Boolean) ?? 0);
    if (out.exists > 0) {
      const f = await cmd('FETCH 1:* (UID BODY.PEEK[HEADER.FIELDS (SUBJECT)])');
      out.uids = f
        .map((l) => /^\* \d+ FETCH \(UID (\d+)/.exec(l)?.[1])
        .filter(Boolean)
        .map(Number);
      out.subjects = f.map((l) => /^Subject: (.*)$/i.exec(l)?.[1]).filter((x) => x !== undefined);
      out.fetch = f.pop();
    } else {
      out.uids = [];
      out.subjects = [];
    }
    out.quota = (await cmd(`GETQUOTAROOT ${q(req.mailbox)}`)).filter((l) => l.startsWith('* QUOTA ')).join(' | ');
  }
  await cmd('LOGOUT').catch(() => {});
  s.end();
  return out;
}

const timer = setTimeout(() => {
  console.log(JSON.stringify({ error: 'timeout' }));
  process.exit(2);
}, req.timeoutMs ?? 15000);
(req.op === 'imap' ? imap() : xmtp())
  .then((r) => {
    clearTimeout(timer);
    console.log(JSON.stringify(r));
  })
  .catch((e) => {
    clearTimeout(timer);
    console.log(JSON.stringify({ error: e.code ?? e.message }));
  });
