// Line diff of two texts (longest common subsequence), for policy version history and the log.
import {clear, h} from './dom.js';

const MAX_CELLS = 4_000_000;  // beyond this, report the sizes instead of diffing

// [{op: ' ' | '-' | '+', text}] or null when the texts are too large to diff here.
export function lineDiff(before, after) {
  const a = before.split('\n');
  const b = after.split('\n');
  if (a.length * b.length > MAX_CELLS) return null;
  const width = b.length + 1;
  const lcs = new Uint32Array((a.length + 1) * width);
  for (let i = a.length - 1; i >= 0; i--) {
    for (let j = b.length - 1; j >= 0; j--) {
      lcs[i * width + j] = a[i] === b[j] ? lcs[(i + 1) * width + j + 1] + 1
        : Math.max(lcs[(i + 1) * width + j], lcs[i * width + j + 1]);
    }
  }
  const out = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    if (a[i] === b[j]) {
      out.push({op: ' ', text: a[i]});
      i++;
      j++;
    } else if (lcs[(i + 1) * width + j] >= lcs[i * width + j + 1]) {
      out.push({op: '-', text: a[i++]});
    } else {
      out.push({op: '+', text: b[j++]});
    }
  }
  while (i < a.length) out.push({op: '-', text: a[i++]});
  while (j < b.length) out.push({op: '+', text: b[j++]});
  return out;
}

// Fills `pre` with the changed lines of `before` -> `after`, and the unchanged ones too when the
// diff has fewer than `wholeBelow` lines.
export function showDiff(pre, before, after, wholeBelow = 400) {
  const diff = lineDiff(before, after);
  if (!diff) {
    pre.textContent = 'These versions are too large to compare here.';
    return;
  }
  clear(pre).append(...diff.filter((d) => d.op !== ' ' || diff.length < wholeBelow).map(
    (d) => h('span', {class: d.op === '+' ? 'add' : d.op === '-' ? 'del' : 'same',
                      text: `${d.op} ${d.text}\n`})));
}
