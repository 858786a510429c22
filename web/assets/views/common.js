/**
 * common.js: small building blocks shared by the screens: avatars, presence dots,
 * modal dialogs, icons, and `memo` (Preact's compat memo, which the vendored
 * standalone build does not include).
 */

import { html, Component, useLayoutEffect, useRef } from '../vendor/preact-htm.js';
import { useStore, own } from '../lib/store.js';

/** Wraps a function component so it re-renders only when a prop changes identity. */
export function memo(fn) {
  class Memo extends Component {
    shouldComponentUpdate(next) {
      const a = this.props;
      for (const k in next) if (next[k] !== a[k]) return true;
      for (const k in a) if (!(k in next)) return true;
      return false;
    }
    render(props) {
      return fn(props);
    }
  }
  Memo.displayName = `Memo(${fn.name})`;
  return Memo;
}

const PALETTE = ['#e8912d', '#2bac76', '#1d9bd1', '#e01e5a', '#8b5cf6', '#0f766e', '#c2410c', '#4f46e5', '#be185d', '#15803d'];

function hash(s) {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (h * 31 + s.charCodeAt(i)) | 0;
  return Math.abs(h);
}

/** A coloured square with the person's initials. */
export function Avatar({ user, size = 36 }) {
  const name = (user && (user.display_name || user.handle)) || '?';
  const initials = name
    .split(/\s+/)
    .filter(Boolean)
    .slice(0, 2)
    .map((w) => w[0].toUpperCase())
    .join('');
  const style = { background: PALETTE[hash((user && user.id) || name) % PALETTE.length], width: `${size}px`, height: `${size}px`, fontSize: `${Math.round(size * 0.4)}px` };
  return html`<span class="avatar" style=${style} aria-hidden="true">${initials || '?'}</span>`;
}

/** A person's presence as a dot (`active`, `away` or `offline`). */
export function PresenceDot({ userId }) {
  const p = useStore((s) => own(s.presence, userId)) || 'offline';
  return html`<span class="presence-dot" data-testid="presence-dot" data-presence=${p} title=${p}></span>`;
}

/** A dialog over the app: Escape or a click outside closes it. */
export function Modal({ title, onClose, children, testid, wide }) {
  const box = useRef(null);
  // A layout effect runs as the dialog is put on the page; a plain effect waits for the
  // next frame, and an Escape pressed as the dialog appears would be lost.
  useLayoutEffect(() => {
    const onKey = (e) => {
      if (e.key === 'Escape') {
        e.stopPropagation();
        onClose();
      }
    };
    addEventListener('keydown', onKey, true);
    const first = box.current && box.current.querySelector('input, textarea, button.primary, select');
    if (first) first.focus();
    return () => removeEventListener('keydown', onKey, true);
  }, []);
  return html`
    <div class="modal-backdrop" onMouseDown=${(e) => e.target === e.currentTarget && onClose()}>
      <div class=${`modal${wide ? ' modal-wide' : ''}`} role="dialog" aria-modal="true" aria-label=${title} data-testid=${testid} ref=${box}>
        <div class="modal-head">
          <h2>${title}</h2>
          <button type="button" class="icon-btn" aria-label="Close" onClick=${onClose}>${Icon.close}</button>
        </div>
        <div class="modal-body">${children}</div>
      </div>
    </div>`;
}

/** A failed form's message (the server's sentence). */
export function FormError({ error, testid = 'form-error' }) {
  if (!error) return null;
  return html`<div class="form-error" role="alert" data-testid=${testid}>${error.message || String(error)}</div>`;
}

const svg = (d, extra = '') => html`<svg viewBox="0 0 24 24" width="18" height="18" aria-hidden="true" class=${`icon ${extra}`}><path d=${d} /></svg>`;

/** Line icons (one path each, drawn with currentColor). */
export const Icon = {
  close: svg('M6 6l12 12M18 6L6 18'),
  plus: svg('M12 5v14M5 12h14'),
  search: svg('M11 4a7 7 0 1 0 0 14 7 7 0 0 0 0-14zM20 20l-4-4'),
  smile: svg('M12 3a9 9 0 1 0 0 18 9 9 0 0 0 0-18zM8.5 14.5a4.5 4.5 0 0 0 7 0M9 9.5h.01M15 9.5h.01'),
  reply: svg('M4 5h16v11H9l-5 4z'),
  edit: svg('M4 20h4L19 9l-4-4L4 16zM14 6l4 4'),
  trash: svg('M5 7h14M10 7V4h4v3M7 7l1 13h8l1-13'),
  clip: svg('M16 7l-7.5 7.5a2 2 0 0 0 3 3L19 10a4 4 0 0 0-6-6l-8 8a6 6 0 0 0 8.5 8.5L20 14'),
  send: svg('M4 12l16-8-6 16-3-7z'),
  menu: svg('M4 6h16M4 12h16M4 18h16'),
  people: svg('M9 11a4 4 0 1 0 0-8 4 4 0 0 0 0 8zM2 21a7 7 0 0 1 14 0M17 11a3 3 0 1 0 0-6M22 21a6 6 0 0 0-4-5.6'),
  gear: svg('M12 9a3 3 0 1 0 0 6 3 3 0 0 0 0-6zM19 12l2-1-1-3-2 .5-1.5-1.5.5-2-3-1-1 2h-2l-1-2-3 1 .5 2L6.5 8.5 4.5 8l-1 3 2 1v0l-2 1 1 3 2-.5 1.5 1.5-.5 2 3 1 1-2h2l1 2 3-1-.5-2 1.5-1.5 2 .5 1-3z'),
  hash: svg('M9 3L7 21M17 3l-2 18M4 8h17M3 16h17'),
  lock: svg('M6 11h12v10H6zM8 11V7a4 4 0 0 1 8 0v4'),
  moon: svg('M20 14A8 8 0 0 1 10 4a8 8 0 1 0 10 10z'),
  sun: svg('M12 8a4 4 0 1 0 0 8 4 4 0 0 0 0-8zM12 2v2M12 20v2M2 12h2M20 12h2M5 5l1.5 1.5M17.5 17.5L19 19M5 19l1.5-1.5M17.5 6.5L19 5'),
  down: svg('M6 9l6 6 6-6'),
  file: svg('M6 3h8l5 5v13H6zM14 3v5h5'),
  more: svg('M5 12h.01M12 12h.01M19 12h.01', 'icon-bold'),
  link: svg('M10 14a4 4 0 0 0 6 0l3-3a4 4 0 0 0-6-6l-1 1M14 10a4 4 0 0 0-6 0l-3 3a4 4 0 0 0 6 6l1-1'),
};
