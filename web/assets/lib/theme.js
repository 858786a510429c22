/**
 * theme.js: light and dark themes. The choice (`light`, `dark` or `system`) is kept in
 * localStorage; `system` follows prefers-color-scheme live. The effective theme is set
 * as <html data-theme="light|dark">, which app.css keys its colour variables on.
 */

const KEY = 'hearth.theme';
const media = matchMedia('(prefers-color-scheme: dark)');

export function themeChoice() {
  const v = localStorage.getItem(KEY);
  return v === 'light' || v === 'dark' ? v : 'system';
}

export function effectiveTheme() {
  const c = themeChoice();
  if (c !== 'system') return c;
  return media.matches ? 'dark' : 'light';
}

function apply() {
  document.documentElement.dataset.theme = effectiveTheme();
}

export function setTheme(choice) {
  if (choice === 'system') localStorage.removeItem(KEY);
  else localStorage.setItem(KEY, choice);
  apply();
}

/** Flips between light and dark (an explicit choice from then on). */
export function toggleTheme() {
  setTheme(effectiveTheme() === 'dark' ? 'light' : 'dark');
}

export function initTheme() {
  apply();
  media.addEventListener('change', apply);
}
