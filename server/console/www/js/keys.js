// Keyboard shortcuts, and the help overlay that lists them (built from the same table, so the
// two cannot disagree). Keys act only when no field has focus and no dialog is open.

import { h, byId, clear } from './dom.js';
import { t } from './i18n.js';

export function shortcuts(ctx) {
  return [
    ['j', 'key.next', () => ctx.worklist.move(1)],
    ['k', 'key.prev', () => ctx.worklist.move(-1)],
    ['x', 'key.select', () => ctx.toggleSelected()],
    ['a', 'action.accept', () => ctx.actions.start('accept')],
    ['d', 'action.dispatch', () => ctx.actions.start('dispatch')],
    ['s', 'action.resolve', () => ctx.actions.start('resolve')],
    ['c', 'action.close', () => ctx.actions.start('close')],
    ['r', 'action.reject', () => ctx.actions.start('reject')],
    ['u', 'action.mark_duplicate', () => ctx.actions.start('mark_duplicate')],
    ['e', 'action.escalate', () => ctx.actions.start('escalate')],
    ['l', 'action.extend', () => ctx.actions.start('extend')],
    ['A', 'key.bulkAccept', () => ctx.actions.bulkAccept()],
    ['D', 'key.bulkDispatch', () => ctx.actions.bulkDispatch()],
    ['/', 'key.search', () => ctx.worklist.focusSearch()],
    ['m', 'key.map', () => ctx.toggleMap()],
    ['?', 'key.help', () => openHelp(ctx)],
    ['Esc', 'key.escape', null],
  ];
}

function openHelp(ctx) {
  const list = byId('help-list');
  clear(list);
  for (const [key, what] of shortcuts(ctx)) list.append(h('dt', {}, h('kbd', {}, key)), h('dd', {}, t(what)));
  byId('help-dialog').showModal();
  byId('help-close').focus();
}

export function installKeys(ctx) {
  const table = new Map(shortcuts(ctx).filter(([, , fn]) => fn).map(([key, , fn]) => [key, fn]));
  document.addEventListener('keydown', (ev) => {
    if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
    if (document.querySelector('dialog[open]')) return; // dialogs handle their own keys (Esc closes)
    const target = ev.target;
    const typing =
      target instanceof HTMLElement &&
      (target.isContentEditable ||
        /^(TEXTAREA|SELECT)$/.test(target.tagName) ||
        (target.tagName === 'INPUT' && !/^(checkbox|radio|button|submit)$/.test(target.type)));
    if (typing) {
      if (ev.key === 'Escape') target.blur();
      return;
    }
    const key = ev.key === 'ArrowDown' ? 'j' : ev.key === 'ArrowUp' ? 'k' : ev.key;
    const fn = table.get(key);
    if (!fn || byId('desk').hidden) return;
    ev.preventDefault();
    fn();
  });
  byId('help-close').addEventListener('click', () => byId('help-dialog').close());
  byId('help-btn').addEventListener('click', () => openHelp(ctx));
}
