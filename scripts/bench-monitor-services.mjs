// The service rows of `npm run bench:monitor`: a Paceline service agent's monitor against the
// nearest Pacemaker agent from Debian's resource-agents, forked through the OCF bridge, both
// monitoring the same real daemon, at the same interval, in the same run.
//
// Each row starts one daemon on loopback (127.0.0.1, a free port) with the Paceline agent, and
// gives the bench two monitor modes over it: the Paceline agent in-process and the OCF agent
// forked. The daemon is stopped when the row is done.
//
// To add a row (svc-mail, svc-smb, ...), append to SERVICE_ROWS:
//   {
//     name: 'bind',                          // the row's label
//     programs: ['named'],                   // skipped (with a note) when one is missing
//     ocf: 'ocf:heartbeat:named',            // the Pacemaker agent to compare with
//     async setup({ dir, port, root }) {     // dir: a fresh folder; port: a free loopback port
//       ... write a config, return:
//       return {
//         agent: (await import(join(root, 'agents/bind/dist/index.js'))).bindAgent,
//         params: { ... },                   // the Paceline agent's parameters (start and monitor)
//         ocfParams: { ... },                // the OCF agent's parameters (OCF_RESKEY_*)
//         ocfEnv: { OCF_CHECK_LEVEL: '10' }, // optional: extra environment for the OCF agent
//         note: '...',                       // optional: printed under the table
//         compare: { name, agent, params },  // optional: a forked comparison that is not an OCF agent
//       };                                   // (or return { skip: 'why' } to leave the row out)
//     },
//   }
// The bench starts the daemon with the Paceline agent (start), copies its daemon record into every
// monitored instance's state directory (so each monitor finds "our" daemon, as after a start), and
// stops it afterwards.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { z } from 'zod';

/** A free TCP port on 127.0.0.1 (also free for UDP in practice: the kernel hands out unused ports). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

const idOf = (user, flag) => Number(spawnSync('id', [flag, user], { encoding: 'utf8' }).stdout.trim());

export const SERVICE_ROWS = [
  {
    name: 'httpd (nginx)',
    programs: ['nginx', 'curl'],
    ocf: 'ocf:heartbeat:nginx',
    async setup({ dir, port, root }) {
      const conf = join(dir, 'nginx.conf');
      writeFileSync(
        conf,
        `worker_processes 1;\npid ${dir}/nginx.pid;\nerror_log ${dir}/error.log;\nevents { worker_connections 64; }\n` +
          `http { access_log off; server { listen 127.0.0.1:${port}; location = / { return 200 "ok\\n"; } } }\n`,
      );
      return {
        agent: (await import(join(root, 'agents/httpd/dist/index.js'))).httpdAgent,
        params: { server: 'nginx', config: conf, address: '127.0.0.1', port },
        ocfParams: { configfile: conf, port: String(port), status10url: `http://127.0.0.1:${port}/`, status10regex: 'ok' },
        // Depth 0 of ocf:heartbeat:nginx only checks the pid; depth 10 GETs a URL, like paceline:httpd.
        ocfEnv: { OCF_CHECK_LEVEL: '10' },
        note: 'ocf:heartbeat:nginx at OCF_CHECK_LEVEL=10 (pid check + an HTTP GET with curl), as paceline:httpd does',
      };
    },
  },
  {
    name: 'httpd (apache)',
    programs: ['apache2', 'curl'],
    ocf: 'ocf:heartbeat:apache',
    async setup({ dir, port, root }) {
      const run = join(dir, 'run');
      mkdirSync(join(run, 'lock'), { recursive: true });
      const conf = join(dir, 'apache2.conf');
      // Literal paths (no ${APACHE_*}): the OCF agent reads PidFile from the file; the Paceline
      // agent's runDir gives the same pid file.
      writeFileSync(
        conf,
        `ServerRoot "/etc/apache2"\nInclude mods-enabled/*.load\nInclude mods-enabled/*.conf\nServerName bench.invalid\n` +
          `PidFile ${run}/apache2.pid\nMutex file:${run}/lock default\nDefaultRuntimeDir ${run}\nUser www-data\nGroup www-data\n` +
          `ErrorLog ${dir}/error.log\nStartServers 1\nListen 127.0.0.1:${port}\nDocumentRoot ${dir}\n<Directory ${dir}>\n  Require all granted\n</Directory>\n` +
          `<Location /server-status>\n  SetHandler server-status\n  Require local\n</Location>\n`,
      );
      writeFileSync(join(dir, 'index.html'), 'ok\n');
      return {
        agent: (await import(join(root, 'agents/httpd/dist/index.js'))).httpdAgent,
        params: { server: 'apache', config: conf, address: '127.0.0.1', port, runDir: run, logDir: dir },
        ocfParams: { configfile: conf, port: String(port), statusurl: `http://127.0.0.1:${port}/server-status` },
        note: 'ocf:heartbeat:apache at its default depth: pid check + GET of /server-status (curl)',
      };
    },
  },
  {
    name: 'bind',
    programs: ['named', 'host'],
    ocf: 'ocf:heartbeat:named',
    async setup({ dir, port, root }) {
      const uid = idOf('bind', '-u');
      const gid = idOf('bind', '-g');
      spawnSync('chown', [`${uid}:${gid}`, dir]);
      writeFileSync(
        join(dir, 'db.example.test'),
        '$TTL 60\n@ IN SOA ns.example.test. admin.example.test. 1 60 60 600 60\n@ IN NS ns.example.test.\nns IN A 127.0.0.1\nwww IN A 10.1.2.3\n',
      );
      const conf = join(dir, 'named.conf');
      writeFileSync(
        conf,
        `options { directory "${dir}"; pid-file "${dir}/named.pid"; session-keyfile "${dir}/session.key";\n` +
          `  listen-on port ${port} { 127.0.0.1; }; listen-on-v6 { none; }; recursion no; dnssec-validation no; };\ncontrols { };\n` +
          `zone "example.test" { type primary; file "${dir}/db.example.test"; };\n`,
      );
      return {
        agent: (await import(join(root, 'agents/bind/dist/index.js'))).bindAgent,
        params: { config: conf, address: '127.0.0.1', port, queryName: 'www.example.test', expectAnswer: '10.1.2.3' },
        ocfParams: {
          named_config: conf,
          named_user: 'bind',
          named_pidfile: `${dir}/named.pid`,
          monitor_request: 'www.example.test',
          monitor_response: '10.1.2.3',
          monitor_ip: '127.0.0.1',
          host_options: `-p ${port}`,
        },
        note: 'ocf:heartbeat:named: pid check + `host www.example.test 127.0.0.1` (a DNS query), as paceline:bind does',
      };
    },
  },
  {
    name: 'samba',
    programs: ['smbd', 'smbclient', 'smbcontrol', 'testparm'],
    ocf: 'ocf:heartbeat:smb-share',
    async setup({ dir, port, root }) {
      // ocf:heartbeat:smb-share's monitor (smbcontrol smbd ping, testparm -s) reads only Samba's
      // default config: this smbd keeps the default pid and lock directories (/run/samba) so
      // smbcontrol finds it, and its persistent state in the bench folder.
      const pidFile = '/run/samba/smbd.pid';
      if (existsSync(pidFile)) {
        const pid = Number(readFileSync(pidFile, 'utf8').trim());
        try {
          process.kill(pid, 0);
          return { skip: `an smbd (pid ${pid}) already uses the default directories` };
        } catch (e) {
          void e; // a stale pid file
        }
      }
      const share = join(dir, 'share');
      mkdirSync(share, { recursive: true });
      const conf = join(dir, 'smb.conf');
      writeFileSync(
        conf,
        `[global]\n  server role = standalone server\n  disable netbios = yes\n  map to guest = never\n  log file = ${dir}/log.%m\n` +
          `[data]\n  path = ${share}\n  read only = yes\n`,
      );
      return {
        agent: (await import(join(root, 'agents/samba/dist/index.js'))).sambaAgent,
        params: {
          config: conf,
          address: '127.0.0.1',
          port,
          share: 'data',
          stateDirectory: join(dir, 'lib'),
          cacheDirectory: join(dir, 'cache'),
          privateDir: join(dir, 'private'),
        },
        // smb-share greps testparm's view of /etc/samba/smb.conf for its share: Debian's has [printers].
        ocfParams: { share: 'printers', path: '/var/spool/samba', outfile: join(dir, 'share.conf'), includesfile: join(dir, 'includes.conf'), confd: dir },
        note: "paceline:samba forks smbclient for a share listing over SMB (negotiate, session, srvsvc); ocf:heartbeat:smb-share (the nearest Pacemaker agent; none runs smbd itself) pings smbd over Samba's internal messaging and greps testparm -s, without touching the network",
      };
    },
  },
  {
    name: 'radius',
    programs: ['freeradius', 'radclient'],
    ocf: 'ocf:heartbeat:radiusd',
    async setup({ dir, port, root }) {
      // A copy of Debian's config serving auth on 127.0.0.1:PORT only (acct on PORT+1), the inner
      // tunnel's loopback listener moved off 18120, a client for loopback.
      const raddb = join(dir, 'raddb');
      spawnSync('cp', ['-a', '/etc/freeradius/3.0', raddb]);
      const site = join(raddb, 'sites-available', 'default');
      let text = readFileSync(site, 'utf8');
      text = text.slice(0, text.indexOf('# IPv6 versions of the above')) + text.slice(text.indexOf('#  Authorization. First preprocess'));
      text = text
        .replace(/^\tipaddr = \*$/gm, '\tipaddr = 127.0.0.1')
        .replace(/^(\tport = )0$/m, `$1${port}`)
        .replace(/^(\tport = )0$/m, `$1${port + 1}`);
      writeFileSync(site, text);
      const inner = join(raddb, 'sites-available', 'inner-tunnel');
      writeFileSync(inner, readFileSync(inner, 'utf8').replace(/port = 18120/, `port = ${port + 2}`));
      const secret = 'bench-secret';
      writeFileSync(join(raddb, 'clients.conf'), `client bench {\n\tipaddr = 127.0.0.1\n\tsecret = ${secret}\n}\n`);
      const agents = await import(join(root, 'agents/radius/dist/index.js'));
      // Debian's resource-agents has no FreeRADIUS agent: the comparison is radclient, forked per
      // monitor, sending the same Status-Server (what a script agent would run).
      const radclient = {
        meta: { name: 'radclient', version: '0', description: 'radclient Status-Server, forked' },
        params: z.object({}).strict(),
        start: async () => ({ execution: 'done', outcome: 'ok' }),
        stop: async () => ({ execution: 'done', outcome: 'ok' }),
        async monitor(p, ctx) {
          const r = await ctx.run.run('radclient', ['-r', '1', '-t', '5', `127.0.0.1:${port}`, 'status', secret], {
            input: 'Message-Authenticator = 0x00\n',
            timeoutMs: 10_000,
          });
          return r.exitCode === 0
            ? { execution: 'done', outcome: 'ok' }
            : { execution: 'done', outcome: 'generic-error', reason: (r.stderr || r.stdout).trim() };
        },
      };
      return {
        agent: agents.radiusAgent,
        params: { configDir: raddb, address: '127.0.0.1', port, secret },
        ocfParams: {},
        compare: { name: 'radclient Status-Server (forked)', agent: radclient, params: {} },
        note: "paceline:radius sends Status-Server over UDP from its own process; Debian's resource-agents ships no FreeRADIUS agent, so the forked row is radclient sending the same Status-Server",
      };
    },
  },
  {
    name: 'cyrus',
    programs: ['cyrmaster', 'curl'],
    ocf: 'ocf:heartbeat:cyrus-imap',
    async setup({ dir, root }) {
      // Debian's resource-agents has no Cyrus agent (ocf:heartbeat:dovecot checks Dovecot's own
      // process status and cannot look at Cyrus): the forked row is what a script agent would run,
      // curl sending the same IMAP CAPABILITY.
      const port = await freePort();
      spawnSync('chown', [`${idOf('cyrus', '-u')}:${idOf('cyrus', '-g')}`, dir]);
      const curl = {
        meta: { name: 'curl-imap', version: '0', description: 'curl imap:// CAPABILITY, forked' },
        params: z.object({}).strict(),
        start: async () => ({ execution: 'done', outcome: 'ok' }),
        stop: async () => ({ execution: 'done', outcome: 'ok' }),
        async monitor(p, ctx) {
          const r = await ctx.run.run('curl', ['-sS', '--max-time', '5', `imap://127.0.0.1:${port}/`, '-X', 'CAPABILITY'], { timeoutMs: 10_000 });
          return r.exitCode === 0 && r.stdout.includes('IMAP4rev1')
            ? { execution: 'done', outcome: 'ok' }
            : { execution: 'done', outcome: 'generic-error', reason: (r.stderr || r.stdout).trim() };
        },
      };
      return {
        agent: (await import(join(root, 'agents/cyrus/dist/index.js'))).cyrusAgent,
        params: {
          address: '127.0.0.1',
          imapPort: port,
          lmtpPort: 0,
          configDirectory: join(dir, 'lib'),
          partition: join(dir, 'spool'),
          sasldb: join(dir, 'sasldb2'),
          reconstruct: 'never',
        },
        ocfParams: {},
        compare: { name: 'curl imap:// CAPABILITY (forked)', agent: curl, params: {} },
        note: "paceline:cyrus: greeting + CAPABILITY over its own socket (each connection makes Cyrus fork an imapd); Debian's resource-agents has no Cyrus agent, so the forked row is curl sending the same CAPABILITY",
      };
    },
  },
  {
    name: 'sendmail',
    programs: ['sendmail', 'm4', 'curl'],
    ocf: 'ocf:heartbeat:sendmail',
    async setup({ dir, port, root }) {
      // Sendmail sleeps 60 s at start when the host name is not qualified: the agent refuses to
      // start then, and so the row is left out (run the bench in a namespace whose /etc/hosts
      // qualifies it: ip netns exec NS node scripts/bench-monitor.mjs --only sendmail,curl).
      const host = spawnSync('hostname', [], { encoding: 'utf8' }).stdout.trim();
      const names = spawnSync('getent', ['hosts', host], { encoding: 'utf8' }).stdout.trim().split(/\s+/).slice(1);
      if (!host.includes('.') && !names.some((n) => n.includes('.')))
        return { skip: `the host name "${host}" is not qualified in /etc/hosts (sendmail would sleep 60 s at start)` };
      // Debian's resource-agents has no Sendmail agent (ocf:heartbeat:MailTo sends mail about
      // resource moves and monitors nothing; ocf:heartbeat:postfix checks Postfix's status): the
      // forked row is curl doing the same SMTP greeting + EHLO (and a NOOP).
      const curl = {
        meta: { name: 'curl-smtp', version: '0', description: 'curl smtp:// EHLO + NOOP, forked' },
        params: z.object({}).strict(),
        start: async () => ({ execution: 'done', outcome: 'ok' }),
        stop: async () => ({ execution: 'done', outcome: 'ok' }),
        async monitor(p, ctx) {
          const r = await ctx.run.run('curl', ['-sS', '--max-time', '5', `smtp://127.0.0.1:${port}/paceline.monitor`, '-X', 'NOOP'], { timeoutMs: 10_000 });
          return r.exitCode === 0
            ? { execution: 'done', outcome: 'ok' }
            : { execution: 'done', outcome: 'generic-error', reason: (r.stderr || r.stdout).trim() };
        },
      };
      return {
        agent: (await import(join(root, 'agents/sendmail/dist/index.js'))).sendmailAgent,
        params: { address: '127.0.0.1', port, domains: ['bench.invalid'], lmtp: '127.0.0.1:9', queueDir: join(dir, 'queue') },
        ocfParams: {},
        compare: { name: 'curl smtp:// EHLO + NOOP (forked)', agent: curl, params: {} },
        note: "paceline:sendmail: greeting + EHLO over its own socket, and the queue directory counted (each connection makes sendmail fork); Debian's resource-agents has no Sendmail agent (MailTo monitors nothing), so the forked row is curl doing the same EHLO (+ NOOP)",
      };
    },
  },
];
