#!/usr/bin/env node
// Proves tests/oidc/provider.mjs works without a browser: starts it on a free
// loopback port, runs the authorization code flow with PKCE, state and nonce
// through its login page with plain fetch, verifies the ID token with jose,
// then checks that each tamper mode breaks exactly the check it is meant to.
//
//   node tests/oidc/selftest.mjs        (exits non-zero on any failure)

import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

import * as jose from 'jose';

const here = path.dirname(fileURLToPath(import.meta.url));
const started = Date.now();

const CLIENT = {
  client_id: 'scim-portal-selftest',
  client_secret: 'selftest-secret:with/odd+chars',
  redirect_uris: ['http://127.0.0.1:9/admin/default/sso/callback'],
};
const OTHER_CLIENT = {
  client_id: 'another-app',
  client_secret: 'another-secret',
  redirect_uris: ['http://127.0.0.1:9/elsewhere/callback'],
};
const ALICE = {
  login: 'alice@contoso.test',
  sub: 'AAAAAAAAAAAAAAAAAAAAAIkzqFVrSaSaFHy782bbtaQ',
  oid: '00000000-0000-0000-66f3-3332eca7ea81',
  tid: '9188040d-6c67-4c5b-b112-36a304b66dad',
  preferred_username: 'alice@contoso.test',
  email: 'alice@contoso.test',
  name: 'Alice',
};
const BOB = {
  login: 'bob',
  oid: 'b0b00000-0000-0000-0000-000000000b0b',
  tid: '9188040d-6c67-4c5b-b112-36a304b66dad',
  preferred_username: 'bob@contoso.test',
  email: 'bob@contoso.test',
  name: 'Bob',
};

let passed = 0;
let failed = 0;
async function check(name, fn) {
  const t0 = Date.now();
  try {
    await fn();
    passed += 1;
    console.log(`ok   ${name} (${Date.now() - t0} ms)`);
  } catch (err) {
    failed += 1;
    console.log(`FAIL ${name}: ${err.stack ?? err}`);
  }
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

async function startProvider(port, configPath) {
  const child = spawn(process.execPath, [path.join(here, 'provider.mjs'), '--port', String(port), '--config', configPath], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (d) => { stderr += d; });
  let stdout = '';
  child.stdout.setEncoding('utf8');
  const issuer = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`provider not READY in 15 s; stderr:\n${stderr}`)), 15000);
    child.stdout.on('data', (d) => {
      stdout += d;
      const m = /^READY (\S+)\n/.exec(stdout);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`provider exited (${code}) before READY; stderr:\n${stderr}`));
    });
  });
  return {
    issuer,
    child,
    stdout: () => stdout,
    stderr: () => stderr,
    async stop() {
      if (child.exitCode !== null) return child.exitCode;
      const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal)));
      child.kill('SIGTERM');
      return exited;
    },
  };
}

// A cookie jar good enough for one host: names are unique, so paths and
// domains are ignored, and every cookie goes with every request.
class Jar {
  #cookies = new Map();

  store(res) {
    for (const line of res.headers.getSetCookie()) {
      const [pair, ...attrs] = line.split(';');
      const i = pair.indexOf('=');
      const name = pair.slice(0, i).trim();
      const value = pair.slice(i + 1).trim();
      const expired = attrs.some((a) => {
        const [k, v] = a.trim().split('=');
        return k.toLowerCase() === 'expires' && new Date(v) <= new Date();
      });
      if (expired || value === '') this.#cookies.delete(name);
      else this.#cookies.set(name, value);
    }
  }

  header() {
    return [...this.#cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }
}

async function request(jar, url, init = {}) {
  const res = await fetch(url, {
    ...init,
    redirect: 'manual',
    headers: { ...init.headers, cookie: jar.header() },
  });
  jar.store(res);
  return res;
}

const b64url = (buf) => Buffer.from(buf).toString('base64url');

// Runs the browser's part of the flow: authorization request, login page,
// login form POST, redirects back to the redirect_uri. Returns the redirect
// URL (with code and state) plus the request's secrets.
async function authorize(issuer, {
  client = CLIENT, login = ALICE.login, scope = 'openid profile email', pkce = true, jar = new Jar(), cancel = false,
} = {}) {
  const state = b64url(crypto.randomBytes(16));
  const nonce = b64url(crypto.randomBytes(16));
  const verifier = b64url(crypto.randomBytes(32));
  const challenge = b64url(crypto.createHash('sha256').update(verifier).digest());
  const authUrl = new URL('/auth', issuer);
  authUrl.search = new URLSearchParams({
    client_id: client.client_id,
    redirect_uri: client.redirect_uris[0],
    response_type: 'code',
    scope,
    state,
    nonce,
    ...(pkce ? { code_challenge: challenge, code_challenge_method: 'S256' } : {}),
  });

  let res = await request(jar, authUrl);
  assert.equal(res.status, 303, `authorization request: ${res.status} ${await res.text()}`);
  let location = new URL(res.headers.get('location'), issuer);
  if (location.origin !== issuer) return { redirect: location, state, nonce, verifier };

  assert.match(location.pathname, /^\/interaction\/[\w-]+$/);
  res = await request(jar, location);
  assert.equal(res.status, 200);
  const page = await res.text();
  assert.match(page, /<input id="login" name="login"/);
  assert.match(page, /<button id="sign-in" type="submit">/);
  const action = /<form id="login-form" method="post" action="([^"]+)"/.exec(page)?.[1];
  assert.ok(action, 'login form action');
  const formUrl = new URL(action, location);

  res = await request(jar, formUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(cancel ? { login: '', cancel: '1' } : { login }),
  });
  if (res.status === 200) {
    return { loginPage: await res.text(), formUrl, jar, state, nonce, verifier };
  }
  for (let hops = 0; hops < 10; hops += 1) {
    assert.ok([302, 303].includes(res.status), `expected a redirect, got ${res.status} ${await res.text()}`);
    location = new URL(res.headers.get('location'), issuer);
    if (location.origin !== issuer) return { redirect: location, jar, state, nonce, verifier };
    res = await request(jar, location);
  }
  throw new Error('too many redirects');
}

async function token(issuer, code, verifier, { client = CLIENT, auth = 'basic' } = {}) {
  const body = new URLSearchParams({
    grant_type: 'authorization_code',
    code,
    redirect_uri: client.redirect_uris[0],
    code_verifier: verifier,
  });
  const headers = { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' };
  if (auth === 'basic') {
    const enc = (s) => encodeURIComponent(s);
    headers.authorization = `Basic ${Buffer.from(`${enc(client.client_id)}:${enc(client.client_secret)}`).toString('base64')}`;
  } else {
    body.set('client_id', client.client_id);
    body.set('client_secret', client.client_secret);
  }
  const res = await fetch(new URL('/token', issuer), { method: 'POST', headers, body });
  return { status: res.status, json: await res.json() };
}

// The whole flow up to the token response.
async function flow(issuer, opts = {}) {
  const a = await authorize(issuer, opts);
  assert.ok(a.redirect, 'flow ended at the redirect_uri');
  const client = opts.client ?? CLIENT;
  assert.equal(`${a.redirect.origin}${a.redirect.pathname}`, client.redirect_uris[0]);
  assert.equal(a.redirect.searchParams.get('error'), null, `authorization error: ${a.redirect}`);
  assert.equal(a.redirect.searchParams.get('state'), a.state);
  assert.equal(a.redirect.searchParams.get('iss'), issuer);
  const code = a.redirect.searchParams.get('code');
  assert.ok(code, 'code in redirect');
  const t = await token(issuer, code, a.verifier, opts);
  assert.equal(t.status, 200, `token endpoint: ${JSON.stringify(t.json)}`);
  assert.equal(typeof t.json.id_token, 'string');
  return { ...a, tokens: t.json };
}

async function setTamper(issuer, mode) {
  const res = await fetch(new URL('/__test/tamper', issuer), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ mode }),
  });
  assert.equal(res.status, 200, `set tamper ${mode}`);
  assert.deepEqual(await res.json(), { mode });
}

async function getTamper(issuer) {
  const res = await fetch(new URL('/__test/tamper', issuer));
  assert.equal(res.status, 200);
  return (await res.json()).mode;
}

async function main() {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'oidc-selftest-'));
  const configPath = path.join(work, 'config.json');
  fs.writeFileSync(configPath, JSON.stringify({ clients: [CLIENT, OTHER_CLIENT], accounts: [ALICE, BOB] }, null, 2));

  const port = await freePort();
  const op = await startProvider(port, configPath);
  const { issuer } = op;
  let jwks;
  let realKid;

  try {
    await check('READY line names the issuer, exactly one stdout line', async () => {
      assert.equal(issuer, `http://127.0.0.1:${port}`);
      assert.equal(op.stdout(), `READY ${issuer}\n`);
    });

    await check('health, discovery and JWKS', async () => {
      assert.equal((await fetch(`${issuer}/__test/health`)).status, 200);
      const d = await (await fetch(`${issuer}/.well-known/openid-configuration`)).json();
      assert.equal(d.issuer, issuer);
      assert.deepEqual(d.response_types_supported, ['code']);
      assert.deepEqual(d.code_challenge_methods_supported, ['S256']);
      assert.ok(d.id_token_signing_alg_values_supported.includes('RS256'));
      for (const m of ['client_secret_basic', 'client_secret_post']) {
        assert.ok(d.token_endpoint_auth_methods_supported.includes(m), m);
      }
      for (const s of ['openid', 'profile', 'email']) assert.ok(d.scopes_supported.includes(s), s);
      assert.equal(d.jwks_uri, `${issuer}/jwks`);
      jwks = await (await fetch(d.jwks_uri)).json();
      assert.equal(jwks.keys.length, 1);
      const [k] = jwks.keys;
      assert.equal(k.kty, 'RSA');
      assert.equal(k.alg, 'RS256');
      assert.ok(k.kid, 'kid');
      assert.equal(k.d, undefined, 'no private parts in the JWKS');
      realKid = k.kid;
    });

    const keySet = () => jose.createLocalJWKSet(jwks);
    const verify = (idToken, options = {}) => jose.jwtVerify(idToken, keySet(), {
      issuer, audience: CLIENT.client_id, algorithms: ['RS256'], ...options,
    });

    await check('code flow + PKCE (client_secret_basic): ID token verifies, Entra claims present', async () => {
      assert.equal(await getTamper(issuer), 'none');
      const r = await flow(issuer);
      assert.equal(r.tokens.token_type, 'Bearer');
      assert.ok(r.tokens.access_token);
      const { payload, protectedHeader } = await verify(r.tokens.id_token);
      assert.equal(protectedHeader.alg, 'RS256');
      assert.equal(protectedHeader.kid, realKid);
      assert.equal(payload.nonce, r.nonce);
      assert.equal(payload.sub, ALICE.sub);
      for (const c of ['oid', 'tid', 'preferred_username', 'email', 'name']) assert.equal(payload[c], ALICE[c], c);
      const now = Math.floor(Date.now() / 1000);
      assert.ok(payload.exp > now + 600 && payload.iat <= now + 5, 'iat/exp sane');
    });

    await check('client_secret_post works too; account without sub gets its oid as sub; login is case-insensitive', async () => {
      const r = await flow(issuer, { auth: 'post', login: '  BOB ' });
      const { payload } = await verify(r.tokens.id_token);
      assert.equal(payload.sub, BOB.oid);
      assert.equal(payload.preferred_username, BOB.preferred_username);
      assert.equal(payload.nonce, r.nonce);
    });

    await check('scope openid only: ID token has oid/tid but not the profile/email claims', async () => {
      const r = await flow(issuer, { scope: 'openid' });
      const { payload } = await verify(r.tokens.id_token);
      assert.equal(payload.oid, ALICE.oid);
      assert.equal(payload.tid, ALICE.tid);
      assert.equal(payload.email, undefined);
      assert.equal(payload.preferred_username, undefined);
    });

    await check('the login page is shown again on the next sign-in with the same cookies', async () => {
      const jar = new Jar();
      const first = await flow(issuer, { jar });
      assert.ok(first.redirect);
      const a = await authorize(issuer, { jar, login: 'nobody@contoso.test' });
      assert.ok(a.loginPage, 'login page shown again, not a silent redirect');
    });

    await check('unknown login re-renders the form with an error; a right login then proceeds', async () => {
      const a = await authorize(issuer, { login: 'mallory@contoso.test' });
      assert.ok(a.loginPage, 'no redirect for an unknown login');
      assert.match(a.loginPage, /<p id="error" role="alert">[^<]*mallory@contoso\.test/);
      assert.match(a.loginPage, /<input id="login" name="login"/);
      let res = await request(a.jar, a.formUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ login: ALICE.login }),
      });
      let location;
      for (let hops = 0; hops < 10; hops += 1) {
        location = new URL(res.headers.get('location'), issuer);
        if (location.origin !== issuer) break;
        res = await request(a.jar, location);
      }
      assert.equal(location.searchParams.get('state'), a.state);
      const t = await token(issuer, location.searchParams.get('code'), a.verifier);
      assert.equal(t.status, 200);
      assert.equal((await verify(t.json.id_token)).payload.nonce, a.nonce);
    });

    await check('Cancel on the login page returns access_denied with the state', async () => {
      const a = await authorize(issuer, { cancel: true });
      assert.equal(a.redirect.searchParams.get('error'), 'access_denied');
      assert.equal(a.redirect.searchParams.get('state'), a.state);
      assert.equal(a.redirect.searchParams.get('code'), null);
    });

    await check('PKCE is required and checked', async () => {
      const a = await authorize(issuer, { pkce: false });
      assert.equal(a.redirect.searchParams.get('error'), 'invalid_request');
      assert.equal(a.redirect.searchParams.get('state'), a.state);
      const b = await authorize(issuer);
      const t = await token(issuer, b.redirect.searchParams.get('code'), b64url(crypto.randomBytes(32)));
      assert.equal(t.status, 400);
      assert.equal(t.json.error, 'invalid_grant');
    });

    await check('wrong client secret is refused', async () => {
      const a = await authorize(issuer);
      const t = await token(issuer, a.redirect.searchParams.get('code'), a.verifier, {
        client: { ...CLIENT, client_secret: 'wrong' },
      });
      assert.equal(t.status, 401);
      assert.equal(t.json.error, 'invalid_client');
    });

    await check('tamper API: rejects unknown modes; GET shows the mode', async () => {
      const res = await fetch(`${issuer}/__test/tamper`, { method: 'POST', body: '{"mode":"bogus"}' });
      assert.equal(res.status, 400);
      await setTamper(issuer, 'expired');
      assert.equal(await getTamper(issuer), 'expired');
      await setTamper(issuer, 'none');
      assert.equal(await getTamper(issuer), 'none');
    });

    const tampered = async (mode) => {
      await setTamper(issuer, mode);
      const r = await flow(issuer);
      assert.equal(await getTamper(issuer), 'none', 'mode resets after one token response');
      return r;
    };

    await check('tamper wrong-audience: only the audience check fails', async () => {
      const r = await tampered('wrong-audience');
      await assert.rejects(verify(r.tokens.id_token), (err) => err.code === 'ERR_JWT_CLAIM_VALIDATION_FAILED' && err.claim === 'aud');
      const { payload, protectedHeader } = await verify(r.tokens.id_token, { audience: undefined });
      assert.equal(payload.aud, OTHER_CLIENT.client_id);
      assert.equal(protectedHeader.kid, realKid);
      assert.equal(payload.nonce, r.nonce);
    });

    await check('tamper expired: only the exp check fails, exp is >= 10 minutes ago', async () => {
      const r = await tampered('expired');
      await assert.rejects(verify(r.tokens.id_token), (err) => err.code === 'ERR_JWT_EXPIRED');
      await assert.rejects(verify(r.tokens.id_token, { clockTolerance: 300 }), (err) => err.code === 'ERR_JWT_EXPIRED');
      const now = Math.floor(Date.now() / 1000);
      const { payload } = await verify(r.tokens.id_token, { currentDate: new Date((now - 3600) * 1000) });
      assert.ok(payload.exp <= now - 600, `exp ${payload.exp} vs now ${now}`);
      assert.ok(payload.iat < payload.exp);
      assert.equal(payload.nonce, r.nonce);
    });

    await check('tamper wrong-nonce: signature/iss/aud/exp fine, nonce differs', async () => {
      const r = await tampered('wrong-nonce');
      const { payload, protectedHeader } = await verify(r.tokens.id_token);
      assert.equal(protectedHeader.kid, realKid);
      assert.ok(payload.nonce);
      assert.notEqual(payload.nonce, r.nonce);
    });

    await check('tamper bad-signature: real kid, claims fine, signature check fails', async () => {
      const r = await tampered('bad-signature');
      const header = jose.decodeProtectedHeader(r.tokens.id_token);
      assert.equal(header.kid, realKid);
      assert.equal(header.alg, 'RS256');
      const claims = jose.decodeJwt(r.tokens.id_token);
      assert.equal(claims.iss, issuer);
      assert.equal(claims.aud, CLIENT.client_id);
      assert.equal(claims.nonce, r.nonce);
      await assert.rejects(verify(r.tokens.id_token), (err) => err.code === 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED');
    });

    await check('after the tampered ones, the next token is clean', async () => {
      const r = await flow(issuer);
      assert.equal((await verify(r.tokens.id_token)).payload.nonce, r.nonce);
    });
  } finally {
    const rc = await op.stop();
    await check('exits 0 on SIGTERM', async () => assert.equal(rc, 0, `exit ${rc}; stderr:\n${op.stderr()}`));
    if (failed) console.log(`--- provider stderr ---\n${op.stderr()}`);
  }

  await check('--port 0 picks a free port and says which', async () => {
    const op0 = await startProvider(0, configPath);
    try {
      assert.match(op0.issuer, /^http:\/\/127\.0\.0\.1:\d+$/);
      assert.notEqual(op0.issuer, 'http://127.0.0.1:0');
      assert.equal((await fetch(`${op0.issuer}/__test/health`)).status, 200);
    } finally {
      assert.equal(await op0.stop(), 0);
    }
  });

  fs.rmSync(work, { recursive: true, force: true });
  console.log(`oidc selftest took ${((Date.now() - started) / 1000).toFixed(1)} s`);
  console.log(`selftest: ${passed} passed, ${failed} failed`);
  process.exitCode = failed ? 1 : 0;
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
