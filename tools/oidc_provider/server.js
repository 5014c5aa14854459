// node oidc-provider (npm, pinned in package.json) on 127.0.0.1 for the device-flow
// conformance test, tests/test_oidc_provider.py. A real, certified OpenID provider:
// nothing in here fakes a protocol step, it only configures the provider.
//
//   npm ci --prefix tools/oidc_provider
//   node tools/oidc_provider/server.js [PORT]        (PORT from argv, else env PORT, else 0 = any free port)
//
// Prints exactly one line `READY issuer=http://127.0.0.1:<port>` once it accepts connections.
// Issuer is plain http on loopback (our transport allows http only to loopback).
//
// Clients (both public, token_endpoint_auth_method none, device_code + refresh_token grants):
//   conformance-device        device code TTL = env DEVICE_CODE_TTL seconds (default 600)
//   conformance-device-short  device code TTL = env SHORT_DEVICE_CODE_TTL seconds (default 6),
//                             for the expired_token test
// Account: any login (the test uses "alice"), any password; claims for profile and email.
// Users sign in with the built-in devInteractions pages (tools/oidc_user.py drives them).
// ID tokens are RS256 with a key generated at start-up; refresh tokens rotate (provider default
// for public clients) and reusing a rotated one revokes the grant; revocation and userinfo on.
//
// Env for the firmware test (tests/test_oidc_firmware.py): ACCESS_TOKEN_TTL seconds (default
// 3600); SHORT_CLIENT_REPLY_DELAY_MS holds the short client's device reply back this long after
// the code was issued (a slow network: the server's expiry clock runs ahead of the device's).
// After READY, one line per OAuth endpoint request: `REQ t=<ms> <METHOD> <path> status=<n> error=<code>
// grant=<type> interval=present|absent complete=present|absent` (no token or code values).
import * as crypto from 'node:crypto';
import * as http from 'node:http';

import Provider from 'oidc-provider';

function intEnv(name, fallback) {
  const v = process.env[name];
  if (v === undefined || v === '') return fallback;
  const n = Number.parseInt(v, 10);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name} must be a positive integer`);
  return n;
}

const DEVICE_CODE_TTL = intEnv('DEVICE_CODE_TTL', 600);
const SHORT_DEVICE_CODE_TTL = intEnv('SHORT_DEVICE_CODE_TTL', 6);
const ACCESS_TOKEN_TTL = intEnv('ACCESS_TOKEN_TTL', 3600);
const SHORT_CLIENT_REPLY_DELAY_MS = Number.parseInt(process.env.SHORT_CLIENT_REPLY_DELAY_MS || '0', 10) || 0;
const SHORT_CLIENT = 'conformance-device-short';
const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';

function signingKey() {
  const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = privateKey.export({ format: 'jwk' });
  jwk.kid = `rs256-${crypto.randomBytes(6).toString('hex')}`;
  jwk.alg = 'RS256';
  jwk.use = 'sig';
  return jwk;
}

function publicClient(clientId) {
  return {
    client_id: clientId,
    client_name: 'deviceflow conformance',
    application_type: 'native',
    token_endpoint_auth_method: 'none',
    grant_types: [DEVICE_GRANT, 'refresh_token'],
    response_types: [],
    redirect_uris: [],
    id_token_signed_response_alg: 'RS256',
  };
}

function configuration() {
  return {
    clients: [publicClient('conformance-device'), publicClient(SHORT_CLIENT)],
    jwks: { keys: [signingKey()] },
    cookies: { keys: [crypto.randomBytes(32).toString('hex')] },
    scopes: ['openid', 'offline_access', 'profile', 'email'],
    claims: {
      openid: ['sub'],
      profile: ['name', 'preferred_username'],
      email: ['email', 'email_verified'],
    },
    features: {
      devInteractions: { enabled: true },
      deviceFlow: { enabled: true },
      revocation: { enabled: true },
      userinfo: { enabled: true },
    },
    async findAccount(ctx, sub) {
      return {
        accountId: sub,
        async claims() {
          return {
            sub,
            name: `${sub[0].toUpperCase()}${sub.slice(1)} Example`,
            preferred_username: sub,
            email: `${sub}@example.test`,
            email_verified: true,
          };
        },
      };
    },
    ttl: {
      AccessToken: ACCESS_TOKEN_TTL,
      IdToken: 3600,
      RefreshToken: 24 * 3600,
      Grant: 24 * 3600,
      Session: 3600,
      Interaction: 600,
      DeviceCode(ctx, deviceCode, client) {
        return client && client.clientId === SHORT_CLIENT ? SHORT_DEVICE_CODE_TTL : DEVICE_CODE_TTL;
      },
    },
  };
}

// One line per OAuth request, values limited to names and codes: never a token, code or query string.
const LOGGED_PATHS = ['/.well-known/openid-configuration', '/jwks', '/device/auth', '/token',
  '/token/revocation', '/me'];

async function requestLog(ctx, next) {
  await next();
  if (!LOGGED_PATHS.includes(ctx.path)) return; // interaction pages carry session ids in paths
  const body = ctx.body && typeof ctx.body === 'object' && !Buffer.isBuffer(ctx.body) ? ctx.body : {};
  const fields = [`t=${Date.now()}`, ctx.method, ctx.path, `status=${ctx.status}`,
    `error=${typeof body.error === 'string' ? body.error : 'none'}`];
  const grant = ctx.oidc?.params?.grant_type;
  if (typeof grant === 'string') fields.push(`grant=${grant.split(':').pop()}`);
  if (ctx.path === '/device/auth' && ctx.status === 200) {
    fields.push(`interval=${'interval' in body ? 'present' : 'absent'}`);
    fields.push(`complete=${body.verification_uri_complete ? 'present' : 'absent'}`);
    if (SHORT_CLIENT_REPLY_DELAY_MS && ctx.oidc?.client?.clientId === SHORT_CLIENT) {
      await new Promise((resolve) => { setTimeout(resolve, SHORT_CLIENT_REPLY_DELAY_MS); });
    }
  }
  process.stdout.write(`REQ ${fields.join(' ')}\n`);
}

function portArg() {
  const raw = process.argv[2] ?? process.env.PORT ?? '0';
  const port = Number.parseInt(raw, 10);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`bad port: ${raw}`);
  return port;
}

const server = http.createServer();
server.listen(portArg(), '127.0.0.1', () => {
  const issuer = `http://127.0.0.1:${server.address().port}`;
  const provider = new Provider(issuer, configuration());
  provider.use(requestLog);
  server.on('request', provider.callback());
  process.stdout.write(`READY issuer=${issuer}\n`);
});

for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => server.close(() => process.exit(0)));
}
