/**
 * api.js: the REST client. Every call goes to the same origin with the session cookie;
 * every state-changing call carries the CSRF token read from the `hearth_csrf` cookie.
 * Failures become `ApiError`s carrying the server's `error.code` and `error.message`
 * (or `network_error` when the server could not be reached).
 */

/** An API failure with the server's stable `code`, its sentence, and the HTTP status. */
export class ApiError extends Error {
  constructor(code, message, status) {
    super(message || code);
    this.code = code;
    this.status = status;
  }
}

/** The CSRF token the server set as a JS-readable cookie at sign-in. */
export function csrfToken() {
  const m = document.cookie.match(/(?:^|;\s*)hearth_csrf=([^;]*)/);
  return m ? decodeURIComponent(m[1]) : '';
}

/** Called with every 401 answer, so the app can return to the sign-in screen. */
let onUnauthorized = () => {};
export function setUnauthorizedHandler(fn) {
  onUnauthorized = fn;
}

function headersFor(method, hasJsonBody, extra) {
  const headers = { Accept: 'application/json', ...extra };
  if (hasJsonBody) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && method !== 'HEAD') headers['X-CSRF-Token'] = csrfToken();
  return headers;
}

async function errorFrom(res) {
  let code = `http_${res.status}`;
  let message = `The server answered ${res.status} ${res.statusText}.`;
  try {
    const body = await res.json();
    if (body && body.error) {
      code = body.error.code || code;
      message = body.error.message || message;
    }
  } catch {
    /* not JSON: keep the generic message */
  }
  if (res.status === 429) {
    const after = res.headers.get('Retry-After');
    if (after) message += ` Try again in ${after} s.`;
  }
  return new ApiError(code, message, res.status);
}

/**
 * One request. `body` is sent as JSON; `opts.session` adds `X-Hearth-Session: cookie`
 * (the sign-in calls); `opts.quiet401` skips the global sign-out on a 401.
 */
export async function request(method, path, body, opts = {}) {
  const extra = opts.session ? { 'X-Hearth-Session': 'cookie' } : {};
  let res;
  try {
    res = await fetch(path, {
      method,
      credentials: 'same-origin',
      headers: headersFor(method, body !== undefined, extra),
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError('network_error', 'Could not reach the server. Check your connection.', 0);
  }
  if (!res.ok) {
    const err = await errorFrom(res);
    if (res.status === 401 && !opts.quiet401) onUnauthorized(err);
    throw err;
  }
  if (res.status === 204) return null;
  const text = await res.text();
  return text ? JSON.parse(text) : null;
}

export const get = (path, opts) => request('GET', path, undefined, opts);
export const post = (path, body, opts) => request('POST', path, body ?? {}, opts);
export const put = (path, body, opts) => request('PUT', path, body, opts);
export const patch = (path, body, opts) => request('PATCH', path, body, opts);
export const del = (path, opts) => request('DELETE', path, undefined, opts);

/** Builds a query string from the defined values of `params`. */
export function qs(params) {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null) u.set(k, v);
  const s = u.toString();
  return s ? `?${s}` : '';
}

/**
 * Uploads one file as multipart (part `file`) with XHR, for progress events.
 * Resolves to the stored file; `onProgress(fraction)`; returns {promise, abort}.
 */
export function uploadFile(file, onProgress) {
  const xhr = new XMLHttpRequest();
  const promise = new Promise((resolve, reject) => {
    xhr.open('POST', '/api/v1/files');
    xhr.setRequestHeader('X-CSRF-Token', csrfToken());
    xhr.setRequestHeader('Accept', 'application/json');
    xhr.upload.onprogress = (e) => {
      if (e.lengthComputable && onProgress) onProgress(e.loaded / e.total);
    };
    xhr.onload = () => {
      let body = null;
      try {
        body = JSON.parse(xhr.responseText);
      } catch {
        /* keep null */
      }
      if (xhr.status >= 200 && xhr.status < 300) resolve(body);
      else {
        const e = body && body.error;
        reject(new ApiError(e ? e.code : `http_${xhr.status}`, e ? e.message : `Upload failed (${xhr.status}).`, xhr.status));
      }
    };
    xhr.onerror = () => reject(new ApiError('network_error', 'The upload was interrupted.', 0));
    xhr.onabort = () => reject(new ApiError('aborted', 'Upload cancelled.', 0));
    const form = new FormData();
    form.append('file', file, file.name || 'pasted-file');
    xhr.send(form);
  });
  return { promise, abort: () => xhr.abort() };
}
