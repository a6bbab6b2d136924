// A modal confirmation (the native <dialog>: focus is trapped and Escape cancels).
import {h} from './dom.js';

export function confirmDialog(title, message, confirmLabel) {
  return new Promise((resolve) => {
    const confirm = h('button', {type: 'button', class: 'danger', text: confirmLabel});
    const cancel = h('button', {type: 'button', class: 'secondary', text: 'Cancel'});
    const dialog = h('dialog', {'aria-labelledby': 'dialog-title', class: 'dialog'},
      h('h2', {id: 'dialog-title', text: title}),
      h('p', {text: message}),
      h('div', {class: 'actions'}, cancel, confirm));
    const finish = (answer) => {
      dialog.close();
      dialog.remove();
      resolve(answer);
    };
    confirm.addEventListener('click', () => finish(true));
    cancel.addEventListener('click', () => finish(false));
    dialog.addEventListener('cancel', (e) => { e.preventDefault(); finish(false); });
    document.body.append(dialog);
    dialog.showModal();
    cancel.focus();
  });
}
