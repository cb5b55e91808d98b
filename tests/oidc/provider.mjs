#!/usr/bin/env node
// Loopback OpenID Provider for scim-portal's "Sign in with Microsoft Entra ID"
// end-to-end test: the certified `oidc-provider` package, set up to issue
// Entra-shaped ID tokens (preferred_username, email, name, oid, tid in the ID
// token itself), with a plain-HTML login page and a test-only hook that
// tampers with the next ID token so the relying party's refusals can be tested.
//
//   node tests/oidc/provider.mjs --port <P> --config <file.json> [--verbose]
//
// Prints exactly one line, `READY http://127.0.0.1:<P>`, on stdout once it
// listens (`--port 0` picks a free port; READY then names it). Everything
// else goes to stderr. See README.md beside this file.

import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import { parseArgs } from 'node:util';

// stdout carries the READY line and nothing else: oidc-provider prints its
// notices with console.info, so send every console stream to stderr. This
// must happen before oidc-provider is loaded (hence the dynamic import below).
console.log = console.error;
console.info = console.error;
console.debug = console.error;

const { default: Provider, errors: oidcErrors, interactionPolicy } = await import('oidc-provider');
const jose = await import('jose');

const TAMPER_MODES = new Set(['none', 'wrong-audience', 'expired', 'bad-signature', 'wrong-nonce']);
const SCOPES = ['openid', 'profile', 'email'];
const ACCOUNT_FIELDS = ['sub', 'oid', 'tid', 'preferred_username', 'email', 'name'];

function fail(message) {
  console.error(`provider.mjs: ${message}`);
  process.exit(2);
}

function readOptions() {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        port: { type: 'string' },
        config: { type: 'string' },
        verbose: { type: 'boolean', default: false },
      },
      strict: true,
    }));
  } catch (err) {
    fail(`${err.message}\nusage: node provider.mjs --port <P> --config <file.json> [--verbose]`);
  }
  if (values.port === undefined || values.config === undefined) {
    fail('usage: node provider.mjs --port <P> --config <file.json> [--verbose]');
  }
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) fail(`bad --port ${values.port}`);
  return { port, configPath: values.config, verbose: values.verbose };
}

function readConfig(path) {
  let config;
  try {
    config = JSON.parse(fs.readFileSync(path, 'utf8'));
  } catch (err) {
    fail(`cannot read config ${path}: ${err.message}`);
  }
  if (!Array.isArray(config.clients) || config.clients.length === 0) fail('config.clients must be a non-empty array');
  if (!Array.isArray(config.accounts) || config.accounts.length === 0) fail('config.accounts must be a non-empty array');
  for (const c of config.clients) {
    if (typeof c.client_id !== 'string' || !c.client_id) fail('every client needs a client_id');
    if (typeof c.client_secret !== 'string' || !c.client_secret) fail(`client ${c.client_id} needs a client_secret`);
    if (!Array.isArray(c.redirect_uris) || c.redirect_uris.length === 0) fail(`client ${c.client_id} needs redirect_uris`);
  }
  const byLogin = new Map();
  const bySub = new Map();
  for (const a of config.accounts) {
    if (typeof a.login !== 'string' || !a.login) fail('every account needs a login');
    const account = { ...a, sub: a.sub ?? a.oid };
    if (typeof account.sub !== 'string' || !account.sub) fail(`account ${a.login} needs a sub (or an oid)`);
    const key = a.login.trim().toLowerCase();
    if (byLogin.has(key)) fail(`duplicate login ${a.login}`);
    if (bySub.has(account.sub)) fail(`duplicate sub ${account.sub}`);
    byLogin.set(key, account);
    bySub.set(account.sub, account);
  }
  return { clients: config.clients, byLogin, bySub };
}

const html = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function page(title, body) {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${html(title)} - Test OpenID Provider</title>
<style>body{font-family:sans-serif;max-width:28em;margin:3em auto}#error{color:#b00}label,input,button{display:block;margin:.4em 0}</style>
</head>
<body>
${body}
</body>
</html>
`;
}

function loginPage(uid, clientId, error) {
  return page('Sign in', `<h1>Sign in</h1>
<p>to <code id="client-id">${html(clientId)}</code> (test OpenID Provider)</p>
${error ? `<p id="error" role="alert">${html(error)}</p>\n` : ''}<form id="login-form" method="post" action="/interaction/${html(uid)}" autocomplete="off">
<label for="login">Email or username</label>
<input id="login" name="login" type="text" autofocus>
<button id="sign-in" type="submit">Sign in</button>
<button id="cancel" name="cancel" value="1" type="submit">Cancel</button>
</form>`);
}

async function readBody(req, limit = 64 * 1024) {
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > limit) throw new Error('request body too large');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

const options = readOptions();
const { clients, byLogin, bySub } = readConfig(options.configPath);

// The signing key is ours, not oidc-provider's generated one, so the tamper
// hook can re-sign with the very key (and kid) that the JWKS publishes.
const { privateKey: signingKey } = await jose.generateKeyPair('RS256', { extractable: true });
const signingJwk = {
  ...(await jose.exportJWK(signingKey)),
  kid: `test-op-${crypto.randomBytes(6).toString('hex')}`,
  alg: 'RS256',
  use: 'sig',
};
// An unrelated key for `bad-signature`: same kid header, different key.
const { privateKey: rogueKey } = await jose.generateKeyPair('RS256');

const tamper = { mode: 'none' };

async function tamperIdToken(idToken, mode, clientIds) {
  const header = jose.decodeProtectedHeader(idToken);
  const payload = jose.decodeJwt(idToken);
  let key = signingKey;
  const now = Math.floor(Date.now() / 1000);
  switch (mode) {
    case 'wrong-audience': {
      const own = Array.isArray(payload.aud) ? payload.aud : [payload.aud];
      payload.aud = clientIds.find((id) => !own.includes(id)) ?? 'some-other-client';
      delete payload.azp;
      break;
    }
    case 'expired': {
      // Issued 70 minutes ago, expired 20 minutes ago: beyond any clock skew.
      const shift = payload.iat - (now - 70 * 60);
      payload.iat -= shift;
      payload.exp = now - 20 * 60;
      if (typeof payload.auth_time === 'number') payload.auth_time -= shift;
      break;
    }
    case 'wrong-nonce':
      payload.nonce = `tampered-${crypto.randomBytes(12).toString('base64url')}`;
      break;
    case 'bad-signature':
      key = rogueKey;
      break;
    default:
      throw new Error(`unknown tamper mode ${mode}`);
  }
  return new jose.CompactSign(new TextEncoder().encode(JSON.stringify(payload)))
    .setProtectedHeader(header) // same alg, kid (and typ, if any)
    .sign(key);
}

// Ask for the login page on every authorization request, even while the
// browser still has a session here, so each sign-in in a test looks the same
// (type the login, submit). Consent is granted by the login form itself.
function loginEveryTime() {
  const policy = interactionPolicy.base();
  policy.get('login').checks.add(new interactionPolicy.Check(
    'login_every_time',
    'the test OpenID Provider asks for a login on every authorization request',
    'login_required',
    (ctx) => !ctx.oidc.result?.login,
  ));
  return policy;
}

const port = options.port;
const server = http.createServer();
await new Promise((resolve, reject) => {
  server.once('error', reject);
  server.listen(port, '127.0.0.1', () => {
    server.off('error', reject);
    resolve();
  });
}).catch((err) => fail(`cannot listen on 127.0.0.1:${port}: ${err.message}`));
const issuer = `http://127.0.0.1:${server.address().port}`;

const provider = new Provider(issuer, {
  clients: clients.map((c) => ({
    token_endpoint_auth_method: 'client_secret_basic', // client_secret_post is accepted as well
    response_types: ['code'],
    grant_types: ['authorization_code'],
    id_token_signed_response_alg: 'RS256',
    ...c,
  })),
  clientAuthMethods: ['client_secret_basic', 'client_secret_post'],
  jwks: { keys: [signingJwk] },
  scopes: SCOPES,
  claims: {
    acr: null,
    auth_time: null,
    iss: null,
    sid: null,
    openid: ['sub', 'oid', 'tid'],
    profile: ['name', 'preferred_username'],
    email: ['email'],
  },
  // Entra puts the profile claims in the ID token even when an access token
  // is issued too; oidc-provider's default puts them only in /userinfo.
  conformIdTokenClaims: false,
  pkce: { required: () => true },
  responseTypes: ['code'],
  cookies: {
    // Distinct names: cookies are per host, not per port, so the portal
    // (also on 127.0.0.1) sees these and they must not collide with its own.
    names: { session: 'test_op_session', interaction: 'test_op_interaction', resume: 'test_op_resume' },
    keys: [crypto.randomBytes(32).toString('base64url')],
  },
  features: {
    devInteractions: { enabled: false },
    rpInitiatedLogout: { enabled: false },
    userinfo: { enabled: true },
  },
  interactions: {
    policy: loginEveryTime(),
    url: (ctx, interaction) => `/interaction/${interaction.uid}`,
  },
  async findAccount(ctx, sub) {
    const account = bySub.get(sub);
    if (!account) return undefined;
    return {
      accountId: sub,
      async claims() {
        const out = {};
        for (const f of ACCOUNT_FIELDS) if (account[f] !== undefined) out[f] = account[f];
        return out;
      },
    };
  },
  clientBasedCORS: () => false,
  ttl: {
    AccessToken: 3600,
    AuthorizationCode: 120,
    IdToken: 3600,
    Interaction: 900,
    Session: 3600,
    Grant: 3600,
  },
  async renderError(ctx, out) {
    ctx.type = 'html';
    ctx.body = page('Error', `<h1>Error</h1>
<p id="error-code">${html(out.error)}</p>
<p id="error-description">${html(out.error_description ?? '')}</p>`);
  },
});

function log(...args) {
  if (options.verbose) console.error(...args);
}

for (const event of ['server_error', 'authorization.error', 'grant.error', 'userinfo.error', 'jwks.error', 'discovery.error']) {
  provider.on(event, (ctx, err) => {
    const cause = err?.cause?.message ? ` (${err.cause.message})` : '';
    console.error(`oidc ${event}: ${ctx?.method} ${ctx?.path}: ${err?.error ?? ''} ${err?.error_description ?? err?.message ?? err}${cause}`);
    if (event === 'server_error' && err?.stack) console.error(err.stack);
  });
}

const clientIds = clients.map((c) => c.client_id);

// Test-only endpoints and the tamper hook.
provider.use(async (ctx, next) => {
  log(`${ctx.method} ${ctx.url}`);
  if (ctx.path === '/__test/health' && ctx.method === 'GET') {
    ctx.body = { ok: true, issuer };
    return;
  }
  if (ctx.path === '/__test/tamper') {
    if (ctx.method === 'GET') {
      ctx.body = { mode: tamper.mode };
      return;
    }
    if (ctx.method === 'POST') {
      let mode;
      try {
        ({ mode } = JSON.parse(await readBody(ctx.req)));
      } catch {
        mode = undefined;
      }
      if (!TAMPER_MODES.has(mode)) {
        ctx.status = 400;
        ctx.body = { error: `mode must be one of ${[...TAMPER_MODES].join(', ')}` };
        return;
      }
      tamper.mode = mode;
      log(`tamper mode set to ${mode}`);
      ctx.body = { mode };
      return;
    }
    ctx.status = 405;
    return;
  }

  await next();

  if (
    tamper.mode !== 'none'
    && ctx.method === 'POST'
    && ctx.path === '/token'
    && ctx.status === 200
    && typeof ctx.body?.id_token === 'string'
  ) {
    const mode = tamper.mode;
    tamper.mode = 'none'; // one response only
    ctx.body = { ...ctx.body, id_token: await tamperIdToken(ctx.body.id_token, mode, clientIds) };
    log(`tampered id_token: ${mode}`);
  }
});

// The login page (our own interaction; there is no consent step).
provider.use(async (ctx, next) => {
  const m = /^\/interaction\/([A-Za-z0-9_-]+)$/.exec(ctx.path);
  if (!m) return next();
  const uid = m[1];

  let details;
  try {
    details = await provider.interactionDetails(ctx.req, ctx.res);
    if (details.uid !== uid) throw new oidcErrors.SessionNotFound('interaction mismatch');
  } catch (err) {
    ctx.status = 400;
    ctx.type = 'html';
    ctx.body = page('Error', `<h1>Error</h1>
<p id="error-code">invalid_interaction</p>
<p id="error-description">${html(err.error_description ?? err.message)}</p>`);
    return;
  }
  const clientId = details.params.client_id;

  if (ctx.method === 'GET') {
    ctx.type = 'html';
    ctx.set('Cache-Control', 'no-store');
    ctx.body = loginPage(uid, clientId);
    return;
  }
  if (ctx.method !== 'POST') {
    ctx.status = 405;
    return;
  }

  const form = new URLSearchParams(await readBody(ctx.req));
  let result;
  if (form.get('cancel')) {
    result = { error: 'access_denied', error_description: 'End-User cancelled the sign-in' };
  } else {
    const login = (form.get('login') ?? '').trim();
    const account = byLogin.get(login.toLowerCase());
    if (!account) {
      ctx.status = 200;
      ctx.type = 'html';
      ctx.set('Cache-Control', 'no-store');
      ctx.body = loginPage(uid, clientId, login ? `No account for "${login}".` : 'Enter your email or username.');
      return;
    }
    // Auto-consent: grant the OIDC scopes asked for, from openid profile email.
    const grant = new provider.Grant({ accountId: account.sub, clientId });
    const asked = new Set(String(details.params.scope ?? '').split(' '));
    grant.addOIDCScope(SCOPES.filter((s) => asked.has(s)).join(' ') || 'openid');
    const grantId = await grant.save();
    result = {
      login: { accountId: account.sub, remember: false },
      consent: { grantId },
    };
  }
  const returnTo = await provider.interactionResult(ctx.req, ctx.res, result, { mergeWithLastSubmission: false });
  ctx.status = 303;
  ctx.redirect(returnTo);
});

server.on('request', provider.callback());
server.keepAliveTimeout = 1000;

let stopping = false;
function stop(signal) {
  if (stopping) return;
  stopping = true;
  log(`${signal}: stopping`);
  server.close(() => process.exit(0));
  server.closeAllConnections();
  setTimeout(() => process.exit(0), 2000).unref();
}
process.on('SIGTERM', () => stop('SIGTERM'));
process.on('SIGINT', () => stop('SIGINT'));

process.stdout.write(`READY ${issuer}\n`);
