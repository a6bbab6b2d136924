// Building DOM nodes. Text only ever goes in through textContent (or createTextNode): no data is
// parsed as HTML anywhere in the console.

// h('button', {type: 'button', onclick: f}, 'Save') -> <button>; children: nodes, strings, arrays.
export function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith('on')) {
      node.addEventListener(name.slice(2), value);
    } else if (name === 'text') {
      node.textContent = String(value);
    } else if (name === 'dataset') {
      Object.assign(node.dataset, value);
    } else if (value === true) {
      node.setAttribute(name, '');
    } else {
      node.setAttribute(name, String(value));
    }
  }
  append(node, children);
  return node;
}

export function append(node, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export function clear(node) {
  node.replaceChildren();
  return node;
}

// A labelled form field: {label, input} where the input gets a unique id.
let fieldCounter = 0;
export function field(labelText, input, hint) {
  const id = input.id || `f${++fieldCounter}`;
  input.id = id;
  const hintNode = hint ? h('span', {class: 'hint', id: `${id}-hint`, text: hint}) : null;
  if (hintNode) input.setAttribute('aria-describedby', hintNode.id);
  return h('div', {class: 'field'}, h('label', {for: id, text: labelText}), input, hintNode);
}

// JSON values as the API gives them, for display.
export function valueText(value) {
  if (value === null || value === undefined) return '(unset)';
  if (typeof value === 'string') return value;
  return JSON.stringify(value);
}

// "2025-06-09T17:39:19Z" -> local time, or "never".
export function timeText(iso) {
  if (!iso) return 'never';
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleString();
}
