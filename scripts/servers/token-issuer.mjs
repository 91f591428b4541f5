/**
 * A minimal OAuth 2.0 client-credentials token issuer that stands in for Microsoft Entra ID
 * (Azure AD) in the tests, because no Entra ID is reachable from the test machine. It speaks the
 * part of Entra's v2.0 protocol that @azure/identity's ClientSecretCredential (MSAL Node) uses:
 *
 *   GET  /<tenant>/v2.0/.well-known/openid-configuration   OpenID discovery (MSAL fetches it for a
 *                                                           custom authority host)
 *   GET  /<tenant>/discovery/v2.0/keys                      the signing key (JWKS)
 *   POST /<tenant>/oauth2/v2.0/token                        grant_type=client_credentials with
 *                                                           client_id + client_secret + scope
 *
 * It knows exactly one tenant, one application (client id) and its secret, checks all three and
 * refuses anything else with Entra's error shapes (error, error_description "AADSTSnnnn: …" with
 * trace/correlation ids, error_codes, timestamp, error_uri): an unknown tenant AADSTS90002
 * (invalid_tenant on discovery, invalid_request on the token endpoint), an unknown client
 * AADSTS700016 (unauthorized_client), a wrong secret AADSTS7000215 (invalid_client, 401), a missing
 * secret AADSTS7000216, a scope without /.default AADSTS1002012, a resource other than Azure
 * Storage AADSTS500011. Accepted requests get a v1 access token as Entra issues them for Azure
 * Storage: RS256-signed, iss https://sts.windows.net/<tenant>/, aud https://storage.azure.com,
 * iat/nbf/exp, tid, appid, oid, sub. Azurite (--oauth basic) checks iss, aud, nbf and exp.
 *
 * Not modelled: certificates/assertions, other grants, consent, conditional access, RBAC roles.
 *
 * Usage: node token-issuer.mjs CONFIG.json, where the config (mode 600, so the secret is not on
 * the command line) holds {host, port, certFile, keyFile, tenantId, clientId, clientSecret}.
 * Logs one line per request (method, path, status, AADSTS code) — never bodies or secrets.
 */
import { createHash, generateKeyPairSync, randomUUID, sign, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:https';

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const base = `https://${config.host}:${config.port}`;
const STORAGE = 'https://storage.azure.com';
const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const kid = createHash('sha256')
	.update(publicKey.export({ format: 'der', type: 'spki' }))
	.digest('base64url')
	.slice(0, 27);

const b64url = (value) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');
const sameSecret = (given) => timingSafeEqual(createHash('sha256').update(given).digest(), createHash('sha256').update(config.clientSecret).digest());
const knownTenant = (tenant) => tenant.toLowerCase() === config.tenantId.toLowerCase();
const stamp = () =>
	new Date()
		.toISOString()
		.replace('T', ' ')
		.replace(/\.\d+Z$/, 'Z');

function send(res, status, body, note = '') {
	res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store, no-cache' });
	res.end(JSON.stringify(body));
	res.note = note;
}

/** Entra's error body: the AADSTS code leads error_description, followed by trace details. */
function refuse(res, req, status, error, code, text) {
	const traceId = randomUUID();
	const correlationId = String(req.headers['client-request-id'] || randomUUID());
	const timestamp = stamp();
	send(
		res,
		status,
		{
			error,
			error_description: `AADSTS${code}: ${text}\r\nTrace ID: ${traceId}\r\nCorrelation ID: ${correlationId}\r\nTimestamp: ${timestamp}`,
			error_codes: [code],
			timestamp,
			trace_id: traceId,
			correlation_id: correlationId,
			error_uri: `${base}/error?code=${code}`,
		},
		`AADSTS${code}`,
	);
}

const tenantNotFound = (tenant) =>
	`Tenant '${tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant.`;

function openIdConfiguration(tenant) {
	return {
		token_endpoint: `${base}/${tenant}/oauth2/v2.0/token`,
		token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt', 'client_secret_basic'],
		jwks_uri: `${base}/${tenant}/discovery/v2.0/keys`,
		response_modes_supported: ['query', 'fragment', 'form_post'],
		subject_types_supported: ['pairwise'],
		id_token_signing_alg_values_supported: ['RS256'],
		response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
		scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
		issuer: `${base}/${tenant}/v2.0`,
		authorization_endpoint: `${base}/${tenant}/oauth2/v2.0/authorize`,
		end_session_endpoint: `${base}/${tenant}/oauth2/v2.0/logout`,
		tenant_region_scope: 'EU',
	};
}

/** A v1 access token for Azure Storage, as Entra issues for scope https://storage.azure.com/.default. */
function accessToken(tenant) {
	const now = Math.floor(Date.now() / 1000);
	const servicePrincipalId = createHash('sha256').update(`${tenant}/${config.clientId}`).digest('hex');
	const oid = `${servicePrincipalId.slice(0, 8)}-${servicePrincipalId.slice(8, 12)}-${servicePrincipalId.slice(12, 16)}-${servicePrincipalId.slice(16, 20)}-${servicePrincipalId.slice(20, 32)}`;
	const claims = {
		aud: STORAGE,
		iss: `https://sts.windows.net/${tenant}/`,
		iat: now - 300,
		nbf: now - 300,
		exp: now + 3600,
		appid: config.clientId,
		appidacr: '1',
		idp: `https://sts.windows.net/${tenant}/`,
		idtyp: 'app',
		oid,
		sub: oid,
		tid: tenant,
		uti: randomUUID().replace(/-/g, '').slice(0, 22),
		ver: '1.0',
	};
	const signed = `${b64url({ typ: 'JWT', alg: 'RS256', kid })}.${b64url(claims)}`;
	return `${signed}.${sign('sha256', Buffer.from(signed), privateKey).toString('base64url')}`;
}

function token(req, res, tenant, form) {
	if (!knownTenant(tenant)) return refuse(res, req, 400, 'invalid_request', 90002, tenantNotFound(tenant));
	if (form.get('grant_type') !== 'client_credentials') {
		return refuse(res, req, 400, 'unsupported_grant_type', 70003, `The app requested an unsupported grant type '${form.get('grant_type') ?? ''}'.`);
	}
	const clientId = form.get('client_id') ?? '';
	if (clientId !== config.clientId) {
		return refuse(
			res,
			req,
			400,
			'unauthorized_client',
			700016,
			`Application with identifier '${clientId}' was not found in the directory '${tenant}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.`,
		);
	}
	const secret = form.get('client_secret');
	if (!secret) return refuse(res, req, 401, 'invalid_client', 7000216, "'client_assertion', 'client_secret' or 'request' is required for the 'client_credentials' grant type.");
	if (!sameSecret(secret)) {
		return refuse(
			res,
			req,
			401,
			'invalid_client',
			7000215,
			`Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '${config.clientId}'.`,
		);
	}
	const scopes = (form.get('scope') ?? '').split(' ').filter((s) => s && !['openid', 'profile', 'offline_access'].includes(s));
	if (scopes.length !== 1 || !scopes[0].endsWith('/.default')) {
		return refuse(
			res,
			req,
			400,
			'invalid_scope',
			1002012,
			`The provided value for scope ${scopes.join(' ')} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).`,
		);
	}
	const resource = scopes[0].slice(0, -'/.default'.length).replace(/\/$/, '');
	if (resource !== STORAGE) {
		return refuse(
			res,
			req,
			400,
			'invalid_resource',
			500011,
			`The resource principal named ${resource} was not found in the tenant named ${tenant}. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant.`,
		);
	}
	send(res, 200, { token_type: 'Bearer', expires_in: 3599, ext_expires_in: 3599, access_token: accessToken(tenant) });
}

const server = createServer({ cert: readFileSync(config.certFile), key: readFileSync(config.keyFile) }, (req, res) => {
	const url = new URL(req.url ?? '/', base);
	res.on('finish', () => console.log(`${new Date().toISOString()} ${req.method} ${url.pathname} ${res.statusCode} ${res.note ?? ''}`));
	const discovery = /^\/([^/]+)\/v2\.0\/\.well-known\/openid-configuration$/.exec(url.pathname);
	const keys = /^\/([^/]+)\/discovery\/v2\.0\/keys$/.exec(url.pathname);
	const tokenPath = /^\/([^/]+)\/oauth2\/v2\.0\/token$/.exec(url.pathname);
	if (req.method === 'GET' && discovery) {
		const tenant = decodedSegment(discovery[1]);
		if (!knownTenant(tenant)) return refuse(res, req, 400, 'invalid_tenant', 90002, tenantNotFound(tenant));
		return send(res, 200, openIdConfiguration(tenant));
	}
	if (req.method === 'GET' && keys) {
		const jwk = publicKey.export({ format: 'jwk' });
		return send(res, 200, { keys: [{ kty: 'RSA', use: 'sig', kid, n: jwk.n, e: jwk.e }] });
	}
	if (req.method === 'POST' && tokenPath) {
		const chunks = [];
		let size = 0;
		req.on('data', (chunk) => {
			size += chunk.length;
			if (size > 64 * 1024) req.destroy();
			else chunks.push(chunk);
		});
		req.on('end', () => token(req, res, decodedSegment(tokenPath[1]), new URLSearchParams(Buffer.concat(chunks).toString('utf8'))));
		return;
	}
	send(res, 404, { error: 'not_found', error_description: `no such endpoint: ${req.method} ${url.pathname}` });
});
server.listen(config.port, config.host, () => console.log(`token issuer (Entra ID stand-in) on ${base}, tenant ${config.tenantId}, client ${config.clientId}`));
for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => process.exit(0));

/** A URL path segment, decoded; a malformed %-escape stays as sent (an unknown tenant, not a crash). */
function decodedSegment(segment) {
	try {
		return decodeURIComponent(segment);
	} catch {
		return segment;
	}
}
