extension IntegrationsPanel {
    /// The page's script, served as /assets/integrations.js (script-src 'self': no inline script,
    /// no eval). Every string from the API reaches the DOM as text (textContent, setAttribute),
    /// never as markup.
    static let js = #"""
'use strict';
(function () {
  const TOKEN_KEY = 'tradesync.apiToken';
  const API = '/api/contractor/integrations';
  const SVG_NS = 'http://www.w3.org/2000/svg';
  const RUNS_IN_CHART = 30;
  const ROWS_IN_TABLE = 10;

  const byId = (id) => document.getElementById(id);
  const signin = byId('signin');
  const signinForm = byId('signin-form');
  const signinError = byId('signin-error');
  const tokenInput = byId('token');
  const panel = byId('panel');
  const statusLine = byId('status');
  const signoutButton = byId('signout');
  const refreshButton = byId('refresh');
  const confirmDialog = byId('confirm');
  const confirmText = byId('confirm-text');

  class Unauthorized extends Error {}

  // ---- DOM helpers: text only, never markup ----
  function el(tag, attrs, children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === 'text') node.textContent = String(v);
      else if (k === 'className') node.className = v;
      else if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
      else node.setAttribute(k, v === true ? '' : String(v));
    }
    for (const c of children || []) if (c) node.append(c);
    return node;
  }
  function svg(tag, attrs, children) {
    const node = document.createElementNS(SVG_NS, tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === 'text') node.textContent = String(v); else node.setAttribute(k, String(v));
    }
    for (const c of children || []) if (c) node.append(c);
    return node;
  }
  function say(message, isError) {
    statusLine.textContent = message;
    statusLine.classList.toggle('error', !!isError);
  }

  // ---- values from the API ----
  // Times come as ISO text or epoch numbers (ms, or µs as the store keeps them).
  function toDate(v) {
    if (v === null || v === undefined || v === '') return null;
    if (typeof v === 'number') return new Date(v > 1e14 ? v / 1000 : v);
    const d = new Date(String(v));
    return isNaN(d.getTime()) ? null : d;
  }
  function timeNode(v) {
    const d = toDate(v);
    if (!d) return document.createTextNode('never');
    return el('time', { datetime: d.toISOString(), title: d.toISOString(), text: d.toLocaleString() });
  }
  function num(v) { const n = Number(v); return Number.isFinite(n) ? n : 0; }
  function str(v) { return v === null || v === undefined ? '' : String(v); }
  function list(data, key) {
    if (Array.isArray(data)) return data;
    if (data && Array.isArray(data[key])) return data[key];
    return [];
  }
  function duration(ms) {
    const n = num(ms);
    if (n < 1000) return n + ' ms';
    if (n < 60000) return (n / 1000).toFixed(1) + ' s';
    return Math.round(n / 60000) + ' min';
  }

  const BADGES = {
    connected: ['connected', 'connected'],
    needs_reauth: ['needs-reauth', 'needs re-auth'],
    error: ['error', 'error'],
    disconnected: ['disconnected', 'disconnected'],
    pending: ['pending', 'not synced yet'],
    retired: ['retired', 'retired'],
  };
  // A run's status in the log, in the connection badges' colours.
  const RUN_BADGES = { success: 'connected', failed: 'error', partial: 'needs-reauth', deferred: 'needs-reauth', running: 'pending' };
  function badge(status) {
    const [cls, label] = BADGES[status] || ['disconnected', str(status) || 'unknown'];
    return el('span', { className: 'badge ' + cls, 'data-status': status, text: label });
  }

  // ---- the API ----
  function token() { return sessionStorage.getItem(TOKEN_KEY); }
  async function api(method, path, body) {
    const t = token();
    if (!t) throw new Unauthorized('no token');
    const init = { method, cache: 'no-store', headers: { Authorization: 'Bearer ' + t, Accept: 'application/json' } };
    if (body !== undefined) {
      init.headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    const res = await fetch(path, init);
    if (res.status === 401) throw new Unauthorized('401');
    const text = await res.text();
    let data = null;
    if (text) { try { data = JSON.parse(text); } catch (_) { data = null; } }
    if (!res.ok) {
      const why = data && typeof data.error === 'string' ? data.error : 'HTTP ' + res.status;
      throw new Error(why);
    }
    return data;
  }
  const demoId = new URLSearchParams(location.search).get('demoId');
  function listPath() { return demoId ? API + '?demoId=' + encodeURIComponent(demoId) : API; }

  // ---- sign-in ----
  function showSignin(message) {
    sessionStorage.removeItem(TOKEN_KEY);
    panel.hidden = true;
    panel.replaceChildren();
    signoutButton.hidden = true;
    refreshButton.hidden = true;
    signin.hidden = false;
    signinError.textContent = message || '';
    signinError.hidden = !message;
    say('');
    tokenInput.value = '';
    tokenInput.focus();
  }
  signinForm.addEventListener('submit', (event) => {
    event.preventDefault();
    const t = tokenInput.value.trim();
    if (!t) return;
    sessionStorage.setItem(TOKEN_KEY, t);
    tokenInput.value = '';
    load().catch(failed);
  });
  signoutButton.addEventListener('click', () => showSignin(''));
  refreshButton.addEventListener('click', () => load().catch(failed));

  function failed(error) {
    if (error instanceof Unauthorized) {
      showSignin(token() ? 'The token was refused. Sign in again.' : '');
      return;
    }
    say('Error: ' + (error && error.message ? error.message : String(error)), true);
  }

  // ---- loading and drawing ----
  let state = { templates: [], connections: [], logs: new Map() };
  // Connections whose "sync now" is waiting for its run: their button stays disabled across redraws.
  const syncing = new Set();

  async function load() {
    const [templates, connections] = await Promise.all([api('GET', API + '/templates'), api('GET', listPath())]);
    state.templates = list(templates, 'templates');
    state.connections = list(connections, 'integrations');
    const logs = await Promise.all(state.connections.map((c) =>
      api('GET', API + '/logs?integrationId=' + encodeURIComponent(c.id) + '&limit=' + RUNS_IN_CHART)
        .then((d) => [c.id, list(d, 'logs')])));
    state.logs = new Map(logs);
    signin.hidden = true;
    signoutButton.hidden = false;
    refreshButton.hidden = false;
    panel.hidden = false;
    render();
    return state;
  }

  function render() {
    const byType = new Map();
    for (const c of state.connections) {
      const k = str(c.integration_type);
      if (!byType.has(k)) byType.set(k, []);
      byType.get(k).push(c);
    }
    const sections = [];
    const seen = new Set();
    for (const t of state.templates) {
      seen.add(str(t.integration_type));
      sections.push(templateSection(t, byType.get(str(t.integration_type)) || []));
    }
    // Connections whose integration has no template row still show.
    for (const [k, cs] of byType) if (!seen.has(k)) sections.push(templateSection({ integration_type: k, display_name: k }, cs));
    if (sections.length === 0) sections.push(el('p', { className: 'empty', text: 'No integrations yet.' }));
    // A redraw replaces the buttons: keep the keyboard focus on the same action of the same connection.
    const active = document.activeElement;
    const card = active && panel.contains(active) && active.dataset.action ? active.closest('article') : null;
    panel.replaceChildren(...sections);
    if (card) {
      const again = panel.querySelector('article[data-connection-id="' + CSS.escape(card.dataset.connectionId) +
        '"] button[data-action="' + CSS.escape(active.dataset.action) + '"]');
      if (again) again.focus();
    }
  }

  function templateSection(t, connections) {
    const type = str(t.integration_type);
    const retired = t.status === 'retired';
    const headId = 'tpl-' + type.replace(/[^a-z0-9_-]/gi, '_');
    let status = 'disconnected';
    if (retired) status = 'retired';
    else if (connections.length === 1) status = connectionStatus(connections[0]);
    const head = el('div', { className: 'head' }, [
      el('h2', { id: headId, text: t.display_name || type }),
      connections.length <= 1 || retired ? badge(status) : null,
    ]);
    const caps = Array.isArray(t.capabilities) && t.capabilities.length
      ? el('ul', { className: 'caps', 'aria-label': 'Syncs' }, t.capabilities.map((c) => el('li', { text: c })))
      : null;
    const body = [head];
    if (t.description) body.push(el('p', { className: 'desc', text: t.description }));
    if (t.status_note) body.push(el('p', { className: 'note', text: t.status_note }));
    if (caps) body.push(caps);
    if (!retired && connections.length === 0) body.push(el('p', { className: 'empty', text: 'Not set up for this contractor.' }));
    for (const c of connections) body.push(connectionArticle(c, t, retired));
    return el('section', { className: 'template', 'aria-labelledby': headId, 'data-integration-type': type }, body);
  }

  function connectionStatus(c) { return str(c.status) || 'pending'; }

  function connectionArticle(c, t, retired) {
    const id = str(c.id);
    const name = str(c.connection_key || c.id);
    const logs = state.logs.get(c.id) || [];
    const headId = 'conn-' + id.replace(/[^a-z0-9_-]/gi, '_');
    const status = retired ? 'retired' : connectionStatus(c);
    const actions = el('div', { className: 'actions' });
    if (!retired) {
      if (str(t.auth_type) === 'oauth2_authorization_code') {
        actions.append(el('button', { type: 'button', className: status === 'connected' ? null : 'primary',
          'data-action': 'connect', 'aria-describedby': headId,
          text: status === 'connected' ? 'Reconnect' : 'Connect', onclick: () => connect(c) }));
      }
      if (str(t.auth_type) !== 'webhook_signature') {
        actions.append(el('button', { type: 'button', 'data-action': 'sync', 'aria-describedby': headId,
          // aria-disabled, not disabled: the button keeps the keyboard focus while the run is pending.
          'aria-disabled': syncing.has(id) ? 'true' : null,
          text: 'Sync now', onclick: () => { if (!syncing.has(id)) syncNow(c); } }));
      }
      // A connection declared in a deployment file is changed in git (the API answers 409).
      if (status !== 'disconnected' && !c.managed_in) {
        actions.append(el('button', { type: 'button', className: 'danger', 'data-action': 'disconnect',
          'aria-describedby': headId, text: 'Disconnect', onclick: () => disconnect(c) }));
      }
    }
    const fact = (label, value) => el('div', {}, [el('dt', { text: label }),
      el('dd', {}, [typeof value === 'string' ? document.createTextNode(value) : value])]);
    const facts = el('dl', { className: 'facts' }, [
      fact('Last sync', timeNode(c.last_synced_at)),
      fact('Records synced', num(c.records_synced).toLocaleString()),
      fact('Runs', num(c.total_syncs !== undefined ? c.total_syncs : logs.length).toLocaleString()),
      fact('Frequency', str(c.sync_frequency) || '—'),
      c.next_sync_at ? fact('Next sync', timeNode(c.next_sync_at)) : null,
    ]);
    const parts = [el('div', { className: 'head' }, [el('h3', { id: headId, text: name }), badge(status), actions])];
    // A retired integration syncs nothing: its name and badge say all there is.
    if (retired) return el('article', { className: 'connection', 'aria-labelledby': headId, 'data-connection-id': id,
      'data-connection-key': name }, parts);
    parts.push(facts);
    if (c.managed_in) parts.push(el('p', { className: 'note', text: 'Managed in git: ' + str(c.managed_in) +
      ' (disconnect with tradesync disconnect ' + name + ').' }));
    if (c.last_error) parts.push(el('p', { className: 'last-error', text: 'Last error: ' + str(c.last_error) }));
    parts.push(logs.length ? el('div', { className: 'body' }, [chart(logs, name), logTable(logs, name)])
      : el('p', { className: 'empty', text: 'No sync runs yet.' }));
    return el('article', { className: 'connection', 'aria-labelledby': headId, 'data-connection-id': id,
      'data-connection-key': name }, parts);
  }

  // Records per run and run duration, oldest run on the left, each on its own scale.
  function chart(logs, name) {
    const runs = logs.slice(0, RUNS_IN_CHART).reverse();
    const W = 320, H = 120, L = 30, R = 30, T = 10, B = 18;
    const plotW = W - L - R, plotH = H - T - B;
    const records = runs.map((r) => num(r.records_fetched));
    const durations = runs.map((r) => num(r.duration_ms));
    const maxRecords = Math.max(1, ...records), maxDuration = Math.max(1, ...durations);
    const x = (i) => L + (runs.length <= 1 ? plotW / 2 : (i * plotW) / (runs.length - 1));
    const y = (v, max) => T + plotH - (v / max) * plotH;
    const label = runs.length === 0 ? 'No runs yet for ' + name
      : 'Last ' + runs.length + ' runs of ' + name + ': records from ' + Math.min(...records) + ' to ' + Math.max(...records)
        + ', duration up to ' + duration(maxDuration);
    const chartNode = svg('svg', { class: 'chart', viewBox: '0 0 ' + W + ' ' + H, role: 'img', 'aria-label': label,
      'data-runs': runs.length }, [
      svg('line', { class: 'axis', x1: L, y1: T + plotH, x2: W - R, y2: T + plotH }),
      svg('line', { class: 'axis', x1: L, y1: T, x2: L, y2: T + plotH }),
      svg('line', { class: 'axis', x1: W - R, y1: T, x2: W - R, y2: T + plotH }),
      svg('text', { x: L - 3, y: T + 7, 'text-anchor': 'end', text: String(maxRecords) }),
      svg('text', { x: L - 3, y: T + plotH, 'text-anchor': 'end', text: '0' }),
      svg('text', { x: W - R + 3, y: T + 7, text: duration(maxDuration) }),
      svg('text', { x: L, y: H - 4, text: runs.length ? 'oldest' : 'no runs yet' }),
      runs.length ? svg('text', { x: W - R, y: H - 4, 'text-anchor': 'end', text: 'newest' }) : null,
    ]);
    if (runs.length > 0) {
      const pts = (values, max) => values.map((v, i) => x(i).toFixed(1) + ',' + y(v, max).toFixed(1)).join(' ');
      chartNode.append(svg('polyline', { class: 'line-duration', points: pts(durations, maxDuration) }));
      chartNode.append(svg('polyline', { class: 'line-records', points: pts(records, maxRecords) }));
      runs.forEach((r, i) => {
        const when = toDate(r.started_at);
        const tip = (when ? when.toLocaleString() + ': ' : '') + records[i] + ' records, ' + duration(durations[i]) + ', ' + str(r.status);
        chartNode.append(svg('circle', { class: 'pt-duration', cx: x(i).toFixed(1), cy: y(durations[i], maxDuration).toFixed(1), r: 2,
          'data-run-id': str(r.id) }, [svg('title', { text: tip })]));
        chartNode.append(svg('circle', { class: 'pt-records' + (r.status === 'failed' ? ' pt-failed' : ''),
          cx: x(i).toFixed(1), cy: y(records[i], maxRecords).toFixed(1), r: 3, 'data-run-id': str(r.id) },
        [svg('title', { text: tip })]));
      });
    }
    return el('figure', {}, [chartNode, el('figcaption', {}, [
      el('span', { className: 'legend-records', text: '● records fetched per run' }), document.createTextNode('  '),
      el('span', { className: 'legend-duration', text: '- - run duration' }),
      document.createTextNode(' (last ' + RUNS_IN_CHART + ' runs)')])]);
  }

  function logTable(logs, name) {
    if (logs.length === 0) return el('p', { className: 'empty', text: 'No sync runs yet.' });
    const head = el('tr', {}, ['Started', 'Status', 'Streams', 'Fetched', 'Inserted', 'Updated', 'Failed', 'Duration', 'Error']
      .map((h) => el('th', { scope: 'col', text: h })));
    const rows = logs.slice(0, ROWS_IN_TABLE).map((r) => el('tr', { className: str(r.status), 'data-run-id': str(r.id) }, [
      el('td', {}, [timeNode(r.started_at)]),
      el('td', {}, [el('span', { className: 'badge ' + (RUN_BADGES[r.status] || 'pending'), text: str(r.status) })]),
      el('td', { text: str(r.entity_type) }),
      el('td', { className: 'num', text: num(r.records_fetched) }),
      el('td', { className: 'num', text: num(r.records_inserted) }),
      el('td', { className: 'num', text: num(r.records_updated) }),
      el('td', { className: 'num', text: num(r.records_failed) }),
      el('td', { className: 'num', text: r.duration_ms === null || r.duration_ms === undefined ? '…' : duration(r.duration_ms) }),
      el('td', { className: 'err', text: str(r.error_message) }),
    ]));
    return el('table', { className: 'logs' }, [el('caption', { text: 'Recent syncs of ' + name }),
      el('thead', {}, [head]), el('tbody', {}, rows)]);
  }

  // ---- actions ----
  async function connect(c) {
    say('Starting the authorisation for ' + str(c.connection_key || c.id) + '…');
    const data = await api('POST', API + '/connect', { integrationId: c.id }).catch((e) => { failed(e); return null; });
    const url = data && (data.authorizeUrl || data.authorize_url);
    let parsed = null;
    try { parsed = new URL(str(url)); } catch (_) { parsed = null; }
    if (!parsed || (parsed.protocol !== 'https:' && parsed.protocol !== 'http:')) {
      if (data) say('The server did not return an authorisation address.', true);
      return;
    }
    location.assign(parsed.href);
  }

  async function syncNow(c) {
    const name = str(c.connection_key || c.id);
    const before = (state.logs.get(c.id) || []).map((r) => str(r.id));
    syncing.add(str(c.id));
    render();
    try {
      await api('POST', API + '/sync', { integrationId: c.id });
      say('Sync of ' + name + ' queued.');
      await waitForRun(c.id, new Set(before), name);
    } catch (e) {
      failed(e);
    } finally {
      syncing.delete(str(c.id));
      if (!panel.hidden) render();
    }
  }

  // Polls until the connection has a run that was not there before and that has finished.
  async function waitForRun(id, before, name) {
    const deadline = Date.now() + 120000;
    while (Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 1000));
      await load();
      const fresh = (state.logs.get(id) || []).filter((r) => !before.has(str(r.id)));
      const done = fresh.find((r) => r.completed_at || (r.status && r.status !== 'running'));
      if (done) {
        say('Sync of ' + name + ' finished: ' + str(done.status) + ', ' + num(done.records_fetched) + ' records fetched.');
        return;
      }
      if (fresh.length) say('Sync of ' + name + ' is running…');
    }
    say('Sync of ' + name + ' is still queued; the list refreshes when you press Refresh.');
  }

  function disconnect(c) {
    const name = str(c.connection_key || c.id);
    confirmText.textContent = 'Disconnect ' + name + '? Its tokens are revoked and deleted; the data already synced stays.';
    confirmDialog.returnValue = '';
    confirmDialog.onclose = async () => {
      if (confirmDialog.returnValue !== 'ok') { say('Nothing was disconnected.'); return; }
      try {
        await api('DELETE', API + '?id=' + encodeURIComponent(c.id));
        say(name + ' disconnected.');
        await load();
      } catch (e) { failed(e); }
    };
    confirmDialog.showModal();
  }

  // Runs the scheduler starts show up without a click: a quiet refresh while the tab is visible.
  setInterval(() => {
    if (document.visibilityState !== 'visible' || panel.hidden || confirmDialog.open || syncing.size) return;
    load().catch(failed);
  }, 30000);

  // ---- start ----
  // The OAuth callback redirects back here with `connected=<key>` or `connect_error=<why>`.
  const params = new URLSearchParams(location.search);
  const outcomeIsError = params.has('connect_error');
  const outcome = params.get('connected') ? params.get('connected') + ' connected.'
    : outcomeIsError ? 'Connecting failed: ' + params.get('connect_error') : '';
  if (params.has('connected') || outcomeIsError) {
    params.delete('connected'); params.delete('connect_error');
    const rest = params.toString();
    history.replaceState(null, '', location.pathname + (rest ? '?' + rest : ''));
  }
  if (token()) {
    load().then(() => { if (outcome) say(outcome, outcomeIsError); }).catch(failed);
  } else {
    showSignin('');
    if (outcome) say(outcome, outcomeIsError);
  }
})();
"""#
}
