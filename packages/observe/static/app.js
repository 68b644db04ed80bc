// The Paceline web view: renders /api/state and follows /api/events (server-sent events).
// Plain browser JavaScript, nothing to build; text goes in with textContent only.
'use strict';

const TOKEN_KEY = 'paceline-token';
let state;
let timeline = [];

const $ = (id) => document.getElementById(id);

/** h('td', {class: 'x'}, 'text', child, ...) */
function h(tag, attrs, ...kids) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const k of kids.flat()) if (k !== undefined && k !== null && k !== false) el.append(k instanceof Node ? k : String(k));
  return el;
}

const time = (ms) => h('time', { datetime: new Date(ms).toISOString() }, new Date(ms).toLocaleTimeString());
const chip = (text, cls) => h('span', { class: `chip ${cls || ''}` }, text);

function actionButton(label, action, describe) {
  return h(
    'button',
    {
      type: 'button',
      'aria-disabled': state && !state.actions ? 'true' : undefined,
      title: state && !state.actions ? 'read-only: no token file is configured' : undefined,
      onclick: () => act(action, describe),
    },
    label,
  );
}

function renderNodes(s) {
  const tbody = $('nodes').tBodies[0];
  tbody.replaceChildren(
    ...s.status.nodes.map((n) => {
      const states = [chip(n.state, n.state === 'online' ? 'ok' : n.state === 'unclean' ? 'bad' : 'warn')];
      if (n.standby) states.push(chip('standby', 'warn'));
      if (n.name === s.status.coordinator) states.push(chip('coordinator'));
      if (n.name === s.node) states.push(chip('this node', 'muted'));
      const links = Object.entries(n.links).map(([l, st]) => chip(`${l} ${st}`, st === 'up' ? 'ok' : st === 'down' ? 'bad' : 'muted'));
      const q =
        n.quarantine !== undefined
          ? [
              h('div', { class: 'reason bad' }, n.quarantine),
              actionButton(`Clear ${n.name}`, { op: 'clear-node', node: n.name }, `clear the quarantine of ${n.name}`),
            ]
          : [h('span', { class: 'muted' }, '—')];
      const reason = n.reason ? h('div', { class: 'reason muted' }, n.reason) : null;
      const cfgStandby = n.standby && n.quarantine === undefined;
      return h(
        'tr',
        { 'data-node': n.name },
        h('th', { scope: 'row' }, n.name),
        h('td', {}, states, reason),
        h('td', {}, links),
        h('td', { class: 'quarantine' }, q),
        h(
          'td',
          {},
          actionButton(
            cfgStandby ? 'Online' : 'Standby',
            { op: 'standby', node: n.name, on: !cfgStandby },
            `${cfgStandby ? 'bring' : 'put'} ${n.name} ${cfgStandby ? 'online' : 'in standby'}`,
          ),
        ),
      );
    }),
  );
}

function renderResources(s) {
  const byNode = new Map(s.status.nodes.map((n) => [n.name, []]));
  const stopped = [];
  for (const r of s.status.resources) {
    if (r.node === null || r.role === 'Stopped') stopped.push(r);
    else (byNode.get(r.node) || byNode.set(r.node, []).get(r.node)).push(r);
  }
  const item = (r) =>
    h(
      'li',
      { 'data-resource': r.instance },
      h('span', {}, r.instance),
      h(
        'span',
        {},
        chip(r.role.toLowerCase(), r.failed ? 'bad' : r.role === 'Stopped' ? 'muted' : 'ok'),
        r.failed ? chip('failed', 'bad') : null,
        r.managed ? null : chip('unmanaged', 'warn'),
      ),
    );
  const cards = [...byNode].map(([node, rs]) =>
    h('div', { class: 'card', 'data-node': node }, h('h3', {}, node), rs.length ? h('ul', {}, rs.map(item)) : h('p', { class: 'muted' }, 'nothing runs here')),
  );
  if (stopped.length) cards.push(h('div', { class: 'card', 'data-node': '' }, h('h3', {}, 'Not running'), h('ul', {}, stopped.map(item))));
  $('resources').replaceChildren(...cards);
}

function renderFailures(s) {
  const rows = s.status.nodes.flatMap((n) => n.failures.map((f) => ({ node: n.name, ...f })));
  if (!rows.length) return $('failures').replaceChildren(h('p', { class: 'muted' }, 'No failures recorded.'));
  $('failures').replaceChildren(
    h(
      'div',
      { class: 'scroll' },
      h(
        'table',
        {},
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            ['Node', 'Resource', 'Action', 'Fail count', ''].map((c) => h('th', { scope: 'col' }, c)),
          ),
        ),
        h(
          'tbody',
          {},
          rows.map((f) =>
            h(
              'tr',
              {},
              h('td', {}, f.node),
              h('td', {}, f.resource),
              h('td', {}, f.action ? `${f.action}${f.interval ? ` ${f.interval / 1000}s` : ''}` : '—'),
              h('td', {}, f.count === null || f.count > 1e9 ? 'INFINITY' : String(f.count)),
              h('td', {}, actionButton(`Clean up ${f.resource}`, { op: 'cleanup', resource: f.resource, node: f.node }, `clean up ${f.resource} on ${f.node}`)),
            ),
          ),
        ),
      ),
    ),
  );
}

function renderTransitions(s) {
  const list = s.transitions.length ? s.transitions : s.status.lastTransition ? [s.status.lastTransition] : [];
  if (!list.length)
    return $('transitions').replaceChildren(
      h(
        'li',
        { class: 'muted' },
        s.status.coordinator === s.node ? 'None yet.' : `Transitions are run by the coordinator, ${s.status.coordinator}: open its view to see them.`,
      ),
    );
  $('transitions').replaceChildren(
    ...list.map((t) =>
      h(
        'li',
        { 'data-transition': t.id },
        time(t.at),
        h('strong', {}, `#${t.id}`),
        ' ',
        chip(t.state, t.state === 'succeeded' ? 'ok' : t.state === 'running' ? 'warn' : 'bad'),
        ` ${t.actions} action${t.actions === 1 ? '' : 's'}, epoch ${t.epoch}`,
        t.summary.length
          ? h(
              'ul',
              { class: 'summary' },
              t.summary.map((l) => h('li', {}, l)),
            )
          : null,
        t.ran && t.ran.length
          ? h(
              'details',
              {},
              h('summary', {}, 'Actions run'),
              h(
                'ul',
                {},
                t.ran.map((l) => h('li', {}, l)),
              ),
            )
          : null,
        t.failed && t.failed.length
          ? h(
              'ul',
              { class: 'bad' },
              t.failed.map((l) => h('li', {}, l)),
            )
          : null,
        t.decisions && t.decisions.length
          ? h(
              'details',
              { open: true },
              h('summary', {}, 'Why'),
              h(
                'ul',
                { class: 'why' },
                t.decisions.map((l) => h('li', {}, l)),
              ),
            )
          : null,
      ),
    ),
  );
}

function renderTimeline() {
  const items = timeline.slice(-100).reverse();
  $('timeline').replaceChildren(
    ...(items.length
      ? items.map((e) => h('li', { class: e.level === 'info' ? '' : e.level === 'warn' ? 'warn' : 'bad', 'data-kind': e.kind }, time(e.at), e.text))
      : [h('li', { class: 'muted' }, 'No events since the daemon started.')]),
  );
}

function render() {
  const s = state;
  const st = s.status;
  $('cluster').textContent = st.clusterName ? `· ${st.clusterName}` : '';
  document.title = `Paceline${st.clusterName ? ` · ${st.clusterName}` : ''} (${s.node})`;
  $('summary').replaceChildren(
    `Seen from ${s.node}: coordinator ${st.coordinator || '—'}, `,
    h('span', { class: st.quorate ? 'ok' : 'bad' }, st.quorate ? 'quorate' : 'no quorum'),
    ', ',
    h('span', { class: st.mayRun ? 'ok' : 'bad' }, st.mayRun ? 'may run resources' : `may not run resources: ${st.mayRunReason}`),
    `, configuration epoch ${st.epoch}.`,
  );
  renderNodes(s);
  renderResources(s);
  renderFailures(s);
  renderTransitions(s);
  renderTimeline();
  $('mode').textContent = s.actions
    ? sessionStorage.getItem(TOKEN_KEY)
      ? 'Actions are on: this tab holds a token.'
      : "Actions need the token (from the daemon's token file). Enter it below."
    : 'This view is read-only: the daemon has no token file (monitoring.web.tokenFile).';
}

function say(text, cls) {
  const p = $('action-result');
  p.className = cls || '';
  p.textContent = text;
}

async function act(action, describe) {
  if (state && !state.actions) return say('This view is read-only: the daemon has no token file.', 'warn');
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (!token) {
    say(`To ${describe}, enter the token first.`, 'warn');
    $('token').focus();
    return;
  }
  say(`Asking to ${describe}…`);
  try {
    const res = await fetch('/api/action', {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify(action),
    });
    const body = await res.json().catch(() => ({ message: res.statusText }));
    if (res.status === 401) {
      sessionStorage.removeItem(TOKEN_KEY);
      say(`Refused: ${body.message}. Enter the token again.`, 'bad');
      $('token').focus();
    } else say(`${res.ok ? 'Done' : 'Refused'}: ${body.message}`, res.ok ? 'ok' : 'bad');
  } catch (e) {
    say(`Could not reach the daemon: ${e.message}`, 'bad');
  }
}

function connect() {
  const es = new EventSource('/api/events');
  es.addEventListener('open', () => {
    $('live').textContent = 'live';
    $('live').className = 'live on';
  });
  es.addEventListener('error', () => {
    $('live').textContent = 'reconnecting…';
    $('live').className = 'live off';
  });
  es.addEventListener('state', (m) => {
    state = JSON.parse(m.data);
    // The server's timeline is the truth (after a reconnect too); live entries newer than it stay.
    const newest = state.timeline.length ? state.timeline[state.timeline.length - 1].seq : 0;
    timeline = state.timeline.concat(timeline.filter((e) => e.seq > newest));
    render();
  });
  es.addEventListener('timeline', (m) => {
    const e = JSON.parse(m.data);
    if (!timeline.some((x) => x.seq === e.seq)) timeline.push(e);
    if (timeline.length > 300) timeline = timeline.slice(-300);
    if (state) renderTimeline();
  });
}

document.addEventListener('DOMContentLoaded', () => {
  $('token-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const t = $('token').value.trim();
    if (!t) return say('Enter a token.', 'warn');
    sessionStorage.setItem(TOKEN_KEY, t);
    $('token').value = '';
    say('Token kept for this tab.', 'ok');
    if (state) render();
  });
  $('forget').addEventListener('click', () => {
    sessionStorage.removeItem(TOKEN_KEY);
    say('Token forgotten.');
    if (state) render();
  });
  connect();
});
