/**
 * auth.js: the signed-out screens: sign in (/signin), create a workspace (/create) and
 * accept an invite (/invite/<slug>#<code>). Each posts with `X-Hearth-Session: cookie`,
 * so the server answers with the session and CSRF cookies; then the app starts fresh
 * at / (or at the page the user was sent away from).
 */

import { html, useState } from '../vendor/preact-htm.js';
import * as api from '../lib/api.js';
import { navigate } from '../lib/router.js';

const LAST_WS = 'hearth.workspace';

function afterSignIn(slug) {
  localStorage.setItem(LAST_WS, slug);
  const back = sessionStorage.getItem('hearth.returnTo');
  sessionStorage.removeItem('hearth.returnTo');
  location.assign(back && back.startsWith('/c/') ? back : '/');
}

/** A form that posts, shows the server's error and disables itself while busy. */
function useSubmit(send) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const onSubmit = async (e) => {
    e.preventDefault();
    if (busy) return;
    setBusy(true);
    setError(null);
    const data = Object.fromEntries(new FormData(e.currentTarget).entries());
    try {
      await send(data);
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  };
  return { busy, error, onSubmit };
}

function AuthError({ error }) {
  if (!error) return null;
  return html`<div class="auth-error" role="alert" data-testid="auth-error">${error.message}</div>`;
}

function Shell({ title, subtitle, children, footer }) {
  return html`
    <main class="auth-page">
      <div class="auth-card">
        <div class="auth-brand"><img src="/favicon.svg" alt="" width="40" height="40" /><span>Hearth</span></div>
        <h1>${title}</h1>
        ${subtitle && html`<p class="auth-sub">${subtitle}</p>`}
        ${children}
      </div>
      ${footer && html`<p class="auth-footer">${footer}</p>`}
    </main>`;
}

const link = (href, text) =>
  html`<a href=${href} onClick=${(e) => {
    e.preventDefault();
    navigate(href);
  }}>${text}</a>`;

export function SignIn() {
  const { busy, error, onSubmit } = useSubmit(async (d) => {
    await api.post('/api/v1/auth/login', { workspace: d.workspace.trim(), email: d.email.trim(), password: d.password }, { session: true, quiet401: true });
    afterSignIn(d.workspace.trim());
  });
  return html`
    <${Shell} title="Sign in" subtitle="Sign in to your workspace." footer=${html`New here? ${link('/create', 'Create a workspace')}`}>
      <form class="auth-form" novalidate data-testid="login-form" onSubmit=${onSubmit}>
        <label>Workspace<input name="workspace" required autocomplete="organization" placeholder="acme" value=${localStorage.getItem(LAST_WS) || ''} /></label>
        <label>Email<input name="email" type="email" required autocomplete="email" /></label>
        <label>Password<input name="password" type="password" required autocomplete="current-password" /></label>
        <${AuthError} error=${error} />
        <button type="submit" class="primary" disabled=${busy}>${busy ? 'Signing in…' : 'Sign in'}</button>
      </form>
    <//>`;
}

function slugify(name) {
  return name
    .toLowerCase()
    .normalize('NFKD')
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 40);
}

export function CreateWorkspace() {
  const [slug, setSlug] = useState('');
  const [slugTouched, setSlugTouched] = useState(false);
  const { busy, error, onSubmit } = useSubmit(async (d) => {
    const body = { name: d.name.trim(), slug: d.slug.trim(), display_name: d.display_name.trim(), email: d.email.trim(), password: d.password };
    await api.post('/api/v1/workspaces', body, { session: true, quiet401: true });
    afterSignIn(body.slug);
  });
  return html`
    <${Shell} title="Create a workspace" subtitle="A home for your team's conversations." footer=${html`Already have one? ${link('/signin', 'Sign in')}`}>
      <form class="auth-form" novalidate data-testid="create-workspace-form" onSubmit=${onSubmit}>
        <label>Workspace name<input name="name" required placeholder="Acme Inc." onInput=${(e) => !slugTouched && setSlug(slugify(e.currentTarget.value))} /></label>
        <label>Workspace URL name<input name="slug" required placeholder="acme" value=${slug} onInput=${(e) => {
          setSlugTouched(true);
          setSlug(e.currentTarget.value);
        }} /></label>
        <label>Your name<input name="display_name" required autocomplete="name" /></label>
        <label>Email<input name="email" type="email" required autocomplete="email" /></label>
        <label>Password<input name="password" type="password" required autocomplete="new-password" /></label>
        <${AuthError} error=${error} />
        <button type="submit" class="primary" disabled=${busy}>${busy ? 'Creating…' : 'Create workspace'}</button>
      </form>
    <//>`;
}

export function AcceptInvite({ route }) {
  const { busy, error, onSubmit } = useSubmit(async (d) => {
    if (!route.code) throw new Error('This invite link is incomplete: the part after # is missing.');
    const body = { workspace: route.slug, invite_code: route.code, display_name: d.display_name.trim(), email: d.email.trim(), password: d.password };
    await api.post('/api/v1/auth/signup', body, { session: true, quiet401: true });
    afterSignIn(route.slug);
  });
  return html`
    <${Shell} title=${`Join ${route.slug}`} subtitle="You were invited to this Hearth workspace. Create your account." footer=${html`Have an account? ${link('/signin', 'Sign in')}`}>
      <form class="auth-form" novalidate data-testid="signup-form" onSubmit=${onSubmit}>
        <label>Your name<input name="display_name" required autocomplete="name" /></label>
        <label>Email<input name="email" type="email" required autocomplete="email" /></label>
        <label>Password<input name="password" type="password" required autocomplete="new-password" /></label>
        <${AuthError} error=${error} />
        <button type="submit" class="primary" disabled=${busy}>${busy ? 'Joining…' : 'Join workspace'}</button>
      </form>
    <//>`;
}
