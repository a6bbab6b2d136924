// Access controls: Preview (what a user reaches, who reaches ip:port) and the access checker.
import {enc, post, tailnet} from './api.js';
import {clear, field, h, valueText} from './dom.js';

export function previewPanel(policyText) {
  const type = h('select', {name: 'type'},
    h('option', {value: 'user', text: 'what a user can reach'}),
    h('option', {value: 'ipport', text: 'who can reach ip:port'}));
  const target = h('input', {type: 'text', name: 'previewFor', required: true,
                             placeholder: 'alice@example.com or 100.64.0.1:443'});
  const out = h('div', {class: 'preview-result', role: 'status', 'aria-live': 'polite'});
  const form = h('form', {class: 'card', 'aria-labelledby': 'preview-h'},
    h('h2', {id: 'preview-h', text: 'Preview (the policy in the editor)'}),
    h('div', {class: 'grid'}, field('Show', type), field('For', target)),
    h('div', {class: 'actions'}, h('button', {type: 'submit', text: 'Preview'})), out);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    clear(out);
    try {
      const {body} = await post(
        tailnet(`acl/preview?type=${enc(type.value)}&previewFor=${enc(target.value)}`),
        {text: policyText()});
      if (!body.matches.length) {
        out.append(h('p', {text: 'No rule matches.'}));
        return;
      }
      out.append(h('ul', {}, body.matches.map((m) => h('li', {},
        `line ${m.lineNumber}: ${m.users.join(', ')} → ${m.ports.join(', ')}`,
        m.postures && m.postures.length ? ` (posture: ${m.postures.join(' or ')})` : ''))));
    } catch (e) {
      out.append(h('p', {class: 'error', text: e.message}));
    }
  });
  return form;
}

function explanation(body) {
  const items = [];
  for (const r of body.results || []) {
    const head = `${r.src} → ${r.dst} (${r.proto === 6 ? 'tcp' : r.proto}): ${r.decision}`;
    if (r.rule) items.push(h('li', {}, `${head}, by ${r.rule.rule} at line ${r.rule.line}`));
    else items.push(h('li', {}, `${head}${r.reason ? `: ${r.reason}` : ''}`));
    for (const miss of r.postureFailures || []) {
      items.push(h('li', {class: 'indent'}, `${miss.rule} (line ${miss.line}) would accept, but ` +
        `its ${miss.gate} fails:`, h('ul', {}, miss.postures.map((p) => h('li', {},
          `${p.posture}: `, p.failed.map((c) => `${c.condition} (device has ` +
            `${c.attribute} = ${valueText(c.actual)})`).join('; '))))));
    }
  }
  return h('ul', {class: 'explanation'}, items);
}

export function checkerPanel() {
  const src = h('input', {type: 'text', name: 'src', required: true,
                          placeholder: 'alice@example.com, a machine or 100.64.0.1'});
  const dst = h('input', {type: 'text', name: 'dst', required: true, placeholder: 'host:port'});
  const proto = h('select', {name: 'proto'},
    ['tcp', 'udp', 'icmp', 'sctp'].map((p) => h('option', {value: p, text: p})));
  const decision = h('p', {class: 'decision', role: 'status', 'aria-live': 'polite'});
  const details = h('div');
  const form = h('form', {class: 'card', 'aria-labelledby': 'checker-h'},
    h('h2', {id: 'checker-h', text: 'Access checker (the policy in effect)'}),
    h('div', {class: 'grid'}, field('Source', src), field('Destination', dst),
      field('Protocol', proto)),
    h('div', {class: 'actions'}, h('button', {type: 'submit', text: 'Check'})),
    decision, details);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    clear(details);
    decision.textContent = '';
    try {
      const {body} = await post('/v1/check',
        {json: {src: src.value, dst: dst.value, proto: proto.value, explain: true}});
      decision.textContent = body.decision;
      decision.className = `decision ${body.decision}`;
      details.append(explanation(body));
    } catch (e) {
      decision.textContent = e.message;
      decision.className = 'decision error';
    }
  });
  return form;
}
