// A plain-text policy editor with line numbers and per-line error marks.
import {clear, h} from './dom.js';

export function createEditor(labelText) {
  const gutter = h('div', {class: 'gutter', 'aria-hidden': 'true'});
  const area = h('textarea', {id: 'policy-text', class: 'code', spellcheck: 'false', wrap: 'off',
                              autocapitalize: 'off', autocomplete: 'off'});
  const label = h('label', {for: 'policy-text', text: labelText});
  let errorLines = new Set();

  const numbers = () => {
    const count = area.value.split('\n').length;
    const lines = [];
    for (let n = 1; n <= count; n++) {
      lines.push(h('span', {class: errorLines.has(n) ? 'error-line' : null, text: String(n),
                            dataset: {line: n}}));
    }
    clear(gutter).append(...lines);
    gutter.scrollTop = area.scrollTop;
  };
  area.addEventListener('input', numbers);
  area.addEventListener('scroll', () => { gutter.scrollTop = area.scrollTop; });
  // Tab inserts two spaces; Escape then Tab leaves the editor (keyboard users are not trapped).
  let escaped = false;
  area.addEventListener('keydown', (e) => {
    if (e.key === 'Escape') { escaped = true; return; }
    if (e.key === 'Tab' && !escaped && !e.shiftKey) {
      e.preventDefault();
      area.setRangeText('  ', area.selectionStart, area.selectionEnd, 'end');
      numbers();
    }
    escaped = false;
  });

  return {
    node: h('div', {class: 'editor-block'}, label,
      h('p', {class: 'hint', text: 'Tab indents; press Escape, then Tab, to leave the editor.'}),
      h('div', {class: 'editor'}, gutter, area)),
    get text() { return area.value; },
    set text(value) { area.value = value; numbers(); },
    markErrors(lines) { errorLines = new Set(lines); numbers(); },
    // Put the caret at the start of `line` (1-based) and scroll it into view.
    goTo(line) {
      const lines = area.value.split('\n');
      let offset = 0;
      for (let n = 1; n < line && n <= lines.length; n++) offset += lines[n - 1].length + 1;
      area.focus();
      area.setSelectionRange(offset, offset);
      const lineHeight = area.scrollHeight / Math.max(1, lines.length);
      area.scrollTop = Math.max(0, (line - 3) * lineHeight);
    },
  };
}
