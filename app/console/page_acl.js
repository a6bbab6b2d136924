// Access controls: the policy file in an editor; validate, run tests, save (ETag-guarded),
// version history with diffs, preview and an access checker.
import {ApiError, get, post, request, tailnet} from './api.js';
import {clear, h, timeText} from './dom.js';
import {showDiff} from './diff.js';
import {createEditor} from './editor.js';
import {checkerPanel, previewPanel} from './page_acl_tools.js';

// "line 44, column 3: unknown field `aclz`" (how the policy API locates an error) as a problem.
function locatedProblem(text) {
  const m = /^line (\d+), column (\d+): ([^]*)$/.exec(text);
  return m ? {line: Number(m[1]), column: Number(m[2]), text: m[3]} : {text};
}

// Problems from a validate or save answer: [{line?, column?, text}]. A save gives Tailscale's
// shape: the policy's own errors in a data entry without a user, each failing test with its user.
export function problemsOf(body) {
  if (!body || typeof body !== 'object') return [];
  const out = [];
  for (const item of body.data || []) {
    if (item.line) {
      out.push({line: item.line, column: item.column,
                text: `${item.code ? `${item.code}: ` : ''}${item.message}`});
    } else if (!item.user) {
      for (const e of item.errors || []) out.push(locatedProblem(e));
      for (const w of item.warnings || []) out.push({text: `warning: ${w}`});
    } else {
      for (const e of item.errors || []) out.push({text: `test ${item.user}: ${e}`});
      for (const w of item.warnings || []) out.push({text: `warning ${item.user}: ${w}`});
    }
  }
  if (!out.length && body.message) out.push(locatedProblem(body.message));
  return out;
}

function historyPanel() {
  const list = h('ol', {class: 'versions'});
  const diffView = h('pre', {class: 'diff', tabindex: '0', 'aria-label': 'Differences'});
  const show = (versions, index) => {
    const current = versions[index];
    const previous = versions[index + 1];
    showDiff(diffView, previous ? previous.text : '', current.text);
  };
  const load = async () => {
    try {
      const {body} = await get('/v1/policy/versions?limit=50');
      clear(list).append(...body.versions.map((v, i) => h('li', {},
        h('button', {type: 'button', class: 'link', onclick: () => show(body.versions, i),
                     text: `version ${v.id} · ${timeText(v.time)} · ${v.actor} (${v.origin})`}))));
      if (!body.versions.length) list.append(h('li', {text: 'No saved versions yet.'}));
    } catch (e) {
      clear(list).append(h('li', {text: e.message}));
    }
  };
  const panel = h('section', {class: 'card', 'aria-labelledby': 'history-h'},
    h('h2', {id: 'history-h', text: 'Version history'}),
    h('button', {type: 'button', class: 'secondary', text: 'Refresh history', onclick: load}),
    list, diffView);
  return {panel, load};
}

export async function renderAcl(view, _arg, notify) {
  const editor = createEditor('Policy file (HuJSON)');
  const problems = h('ul', {class: 'problems', 'aria-label': 'Problems'});
  const result = h('p', {class: 'result', role: 'status', 'aria-live': 'polite'});
  const conflict = h('div', {class: 'conflict', role: 'alert', hidden: true});
  const history = historyPanel();
  let etag = null;

  const showProblems = (list, summary) => {
    clear(problems).append(...list.map((p) => h('li', {dataset: {line: p.line || ''}},
      p.line ? h('button', {type: 'button', class: 'link', onclick: () => editor.goTo(p.line),
                            text: `line ${p.line}${p.column ? `, column ${p.column}` : ''}`}) : null,
      p.line ? ': ' : '', p.text)));
    editor.markErrors(list.filter((p) => p.line).map((p) => p.line));
    result.textContent = summary;
    result.className = list.length ? 'result bad' : 'result good';
  };

  const load = async () => {
    const response = await get(tailnet('acl'), {headers: {Accept: 'application/hujson'}});
    etag = response.headers.get('ETag');
    editor.text = typeof response.body === 'string' ? response.body
      : JSON.stringify(response.body, null, 2);
    conflict.hidden = true;
    showProblems([], `Loaded the policy in use.`);
  };

  const validate = async (what) => {
    const {body} = await post('/v1/validate', {text: editor.text});
    const list = problemsOf(body);
    showProblems(list, list.length ? `${what}: ${list.length} problem(s)`
      : what === 'Tests' ? 'Tests: every test passed' : 'Valid: no errors, tests pass');
  };

  const save = async () => {
    try {
      const headers = {Accept: 'application/hujson'};
      if (etag) headers['If-Match'] = etag;
      const response = await request('POST', tailnet('acl'), {text: editor.text, headers});
      etag = response.headers.get('ETag');
      showProblems([], 'Saved: the new policy is in effect.');
      notify('Policy saved');
      history.load();
    } catch (e) {
      if (!(e instanceof ApiError)) throw e;
      if (e.status === 412) {
        clear(conflict).append(
          h('p', {text: 'Someone else saved the policy after you loaded it; your version was not ' +
                        'saved. Reload to see theirs (your edits here will be replaced).'}),
          h('button', {type: 'button', text: 'Reload the saved policy', onclick: load}));
        conflict.hidden = false;
        result.textContent = 'Not saved: the policy changed meanwhile.';
        result.className = 'result bad';
        return;
      }
      if (e.status === 401 || e.status === 403) {
        // Not the policy's fault: the credential may not change it (or the session ended).
        showProblems([], `Not saved: ${e.message}`);
        result.className = 'result bad';
        return;
      }
      const list = problemsOf(e.body);
      showProblems(list.length ? list : [{text: e.message}], 'Not saved: the policy has problems.');
    }
  };

  const guard = (action) => () => action().catch((e) => notify(e.message, 'error'));
  view.append(
    h('h1', {text: 'Access controls'}),
    conflict,
    h('section', {class: 'card'},
      editor.node,
      h('div', {class: 'actions'},
        h('button', {type: 'button', text: 'Validate', onclick: guard(() => validate('Validate'))}),
        h('button', {type: 'button', class: 'secondary', text: 'Run tests',
                     onclick: guard(() => validate('Tests'))}),
        h('button', {type: 'button', text: 'Save', onclick: guard(save)}),
        h('button', {type: 'button', class: 'secondary', text: 'Reload', onclick: guard(load)})),
      result, problems),
    previewPanel(() => editor.text),
    checkerPanel(),
    history.panel);
  await load();
  history.load();
}


