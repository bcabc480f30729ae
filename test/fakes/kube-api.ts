/**
 * A strict fake Kubernetes API for tests: a real HTTPS server on 127.0.0.1 with a throwaway CA,
 * reached through a generated kubeconfig, so the production client code runs unchanged.
 *
 * Serves `POST /apis/authentication.k8s.io/v1/tokenreviews` (really verifying the JWTs it minted,
 * see kube-token-issuer.ts) and `POST /apis/authorization.k8s.io/v1/selfsubjectaccessreviews`.
 * Every request needs the agent's own bearer token (401 otherwise); bodies must be well-formed
 * objects of the right kind (400 otherwise); other paths are 404 — all answered with a `Status`
 * object like kube-apiserver's. Faults: `fail(status)`, `hang()`, `refuse()`, `restore()`.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { Clock } from '../../src/clock.js';
import { createTestRoot, issueTestServer } from '../support/test-ca.js';
import { createFakeTokenIssuer, type ServiceAccountTokenSpec, type UserTokenSpec } from './kube-token-issuer.js';

export { DEFAULT_API_AUDIENCE } from './kube-token-issuer.js';

const TOKEN_REVIEWS = '/apis/authentication.k8s.io/v1/tokenreviews';
const ACCESS_REVIEWS = '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews';
const MAX_BODY = 1 << 20;

/** Options of {@link startFakeKubeApi}. */
export interface FakeKubeApiOptions {
  /** Clock for token minting and `exp`/`nbf` checks; default the wall clock. */
  readonly clock?: Clock;
  /** The API server's audiences (`--api-audiences`); default `[DEFAULT_API_AUDIENCE]`. */
  readonly apiAudiences?: readonly string[];
  /** Whether the agent may create tokenreviews (SelfSubjectAccessReview); default true. */
  readonly tokenReviewsAllowed?: boolean;
}

/** Seen by the {@link FakeKubeApi.onTokenReview} hook before the review is answered. */
export interface TokenReviewCall {
  readonly token: string;
  readonly audiences: readonly string[];
}

/** Request counters (requests that reached the server, faults included). */
export interface FakeKubeApiCounts {
  /** TLS connections the server accepted (handshakes completed). */
  connections: number;
  requests: number;
  tokenReviews: number;
  accessReviews: number;
}

/** A running fake API server. */
export interface FakeKubeApi {
  /** `https://127.0.0.1:<port>`. */
  readonly url: string;
  readonly port: number;
  /** The root CA of the server certificate, PEM. */
  readonly caPem: string;
  /** The agent's own credential (the kubeconfig user's bearer token). */
  readonly agentToken: string;
  /** A kubeconfig file (cluster CA data, server URL, bearer token) written for this server. */
  readonly kubeconfigPath: string;
  readonly counts: FakeKubeApiCounts;
  /** Called for every well-formed, authorised TokenReview before it is answered; may be async. */
  onTokenReview: ((call: TokenReviewCall) => void | Promise<void>) | undefined;
  mintServiceAccountToken(spec: ServiceAccountTokenSpec): Promise<string>;
  mintUserToken(spec: UserTokenSpec): Promise<string>;
  /** Deletes a pod: tokens bound to it stop authenticating. */
  deletePod(uid: string): void;
  /** Sets the SelfSubjectAccessReview answer for `create tokenreviews`. */
  setTokenReviewAccess(allowed: boolean, reason?: string): void;
  /** Answers every later request with this HTTP status and a `Status` body. */
  fail(status: number): void;
  /** Accepts every later request and never answers it. */
  hang(): void;
  /** Stops listening and destroys every open connection: the API is unreachable. */
  refuse(): Promise<void>;
  /** Undoes `fail`, `hang` and `refuse` (listening again on the same port). */
  restore(): Promise<void>;
  /** Writes the in-cluster files under `prefix` and returns the env a pod would have. */
  writeInClusterFiles(prefix: string): Promise<Record<string, string>>;
  close(): Promise<void>;
}

type Fault = { kind: 'none' } | { kind: 'fail'; status: number } | { kind: 'hang' };

function statusObject(code: number, reason: string, message: string): object {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code };
}

const REASONS: Record<number, string> = {
  400: 'BadRequest',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'NotFound',
  405: 'MethodNotAllowed',
  429: 'TooManyRequests',
  500: 'InternalError',
  503: 'ServiceUnavailable',
};

function send(res: ServerResponse, code: number, body: object): void {
  res.writeHead(code, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

function sendStatus(res: ServerResponse, code: number, message: string): void {
  send(res, code, statusObject(code, REASONS[code] ?? 'Unknown', message));
}

function readJson(req: IncomingMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY) {
        req.removeAllListeners('data');
        reject(new Error('request body too large'));
        return;
      }
      chunks.push(chunk);
    });
    req.on('error', reject);
    req.on('end', () => {
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      } catch (err) {
        reject(err);
      }
    });
  });
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Checks `apiVersion` and `kind` as the API's decoder does; returns the `spec` or an error message. */
function specOf(body: unknown, apiVersion: string, kind: string): Record<string, unknown> | string {
  if (!isRecord(body)) return 'the body must be a JSON object';
  if (body.kind === undefined || body.kind === '') return "Object 'Kind' is missing in request body";
  if (body.apiVersion !== apiVersion || body.kind !== kind) {
    return `the API version in the data (${String(body.apiVersion)}) does not match the expected API version (${apiVersion})`;
  }
  return isRecord(body.spec) ? body.spec : 'spec is required';
}

/** Starts the fake on 127.0.0.1 with an ephemeral port. Call `close()` when done. */
export async function startFakeKubeApi(options: FakeKubeApiOptions = {}): Promise<FakeKubeApi> {
  const ca = await createTestRoot({ commonName: 'fake kubernetes ca' });
  const serverPair = await issueTestServer({ issuer: ca, ips: ['127.0.0.1'], dnsNames: ['localhost'] });
  const tokens = await createFakeTokenIssuer({
    ...(options.clock ? { clock: options.clock } : {}),
    ...(options.apiAudiences ? { apiAudiences: options.apiAudiences } : {}),
  });
  const agentToken = randomBytes(24).toString('base64url');
  const dir = await mkdtemp(join(tmpdir(), 'fake-kube-api-'));
  const sockets = new Set<Socket>();
  const counts: FakeKubeApiCounts = { connections: 0, requests: 0, tokenReviews: 0, accessReviews: 0 };
  let fault: Fault = { kind: 'none' };
  let access = { allowed: options.tokenReviewsAllowed ?? true, reason: '' };

  const server: Server = createServer({ cert: serverPair.certPem, key: serverPair.keyPem });
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.on('secureConnection', () => {
    counts.connections += 1;
  });

  async function handleTokenReview(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readJson(req);
    const spec = specOf(body, 'authentication.k8s.io/v1', 'TokenReview');
    if (typeof spec === 'string') return sendStatus(res, 400, spec);
    const auds = spec.audiences ?? [];
    if (!Array.isArray(auds) || !auds.every((a) => typeof a === 'string')) {
      return sendStatus(res, 400, 'spec.audiences must be a list of strings');
    }
    if (typeof spec.token !== 'string' || spec.token === '') {
      return sendStatus(res, 400, 'token is required for TokenReview in authentication');
    }
    await api.onTokenReview?.({ token: spec.token, audiences: auds });
    const status = await tokens.review(spec.token, auds);
    send(res, 201, { kind: 'TokenReview', apiVersion: 'authentication.k8s.io/v1', metadata: {}, spec, status });
  }

  async function handleAccessReview(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const spec = specOf(await readJson(req), 'authorization.k8s.io/v1', 'SelfSubjectAccessReview');
    if (typeof spec === 'string') return sendStatus(res, 400, spec);
    const attrs = isRecord(spec.resourceAttributes) ? spec.resourceAttributes : undefined;
    if (!attrs && !isRecord(spec.nonResourceAttributes)) {
      return sendStatus(res, 400, 'exactly one of nonResourceAttributes or resourceAttributes must be specified');
    }
    const asked = attrs?.verb === 'create' && attrs.group === 'authentication.k8s.io' && attrs.resource === 'tokenreviews';
    const allowed = asked && access.allowed;
    const status = allowed ? { allowed: true } : { allowed: false, ...(access.reason ? { reason: access.reason } : {}) };
    send(res, 201, { kind: 'SelfSubjectAccessReview', apiVersion: 'authorization.k8s.io/v1', metadata: {}, spec, status });
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    counts.requests += 1;
    const path = (req.url ?? '/').split('?')[0];
    if (path === TOKEN_REVIEWS) counts.tokenReviews += 1;
    if (path === ACCESS_REVIEWS) counts.accessReviews += 1;
    if (fault.kind === 'hang') return;
    if (fault.kind === 'fail') return sendStatus(res, fault.status, 'injected failure');
    if (req.headers.authorization !== `Bearer ${agentToken}`) return sendStatus(res, 401, 'Unauthorized');
    if (path !== TOKEN_REVIEWS && path !== ACCESS_REVIEWS) {
      return sendStatus(res, 404, 'the server could not find the requested resource');
    }
    if (req.method !== 'POST') return sendStatus(res, 405, `the server does not allow this method on the requested resource`);
    if (!String(req.headers['content-type'] ?? '').startsWith('application/json')) {
      return sendStatus(res, 415, 'the body of the request was in an unknown format');
    }
    try {
      await (path === TOKEN_REVIEWS ? handleTokenReview(req, res) : handleAccessReview(req, res));
    } catch (err) {
      if (!res.headersSent) sendStatus(res, 400, `the request body is malformed: ${(err as Error).message}`);
    }
  }

  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) sendStatus(res, 500, String(err));
    });
  });

  const listen = (port: number): Promise<void> =>
    new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
  const stopListening = (): Promise<void> =>
    new Promise((resolve) => {
      if (!server.listening) return resolve();
      server.close(() => resolve());
      for (const socket of sockets) socket.destroy();
    });

  await listen(0);
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('fake kube api has no TCP address');
  const port = address.port;
  const url = `https://127.0.0.1:${port}`;
  const kubeconfigPath = join(dir, 'kubeconfig');
  await writeFile(
    kubeconfigPath,
    stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'fake', cluster: { server: url, 'certificate-authority-data': Buffer.from(ca.pem).toString('base64') } }],
      users: [{ name: 'svid-agent', user: { token: agentToken } }],
      contexts: [{ name: 'fake', context: { cluster: 'fake', user: 'svid-agent' } }],
      'current-context': 'fake',
    }),
    { mode: 0o600 },
  );

  const api: FakeKubeApi = {
    url,
    port,
    caPem: ca.pem,
    agentToken,
    kubeconfigPath,
    counts,
    onTokenReview: undefined,
    mintServiceAccountToken: (spec) => tokens.mintServiceAccountToken(spec),
    mintUserToken: (spec) => tokens.mintUserToken(spec),
    deletePod: (uid) => tokens.deletePod(uid),
    setTokenReviewAccess(allowed, reason = '') {
      access = { allowed, reason };
    },
    fail(status) {
      fault = { kind: 'fail', status };
    },
    hang() {
      fault = { kind: 'hang' };
    },
    refuse: stopListening,
    async restore() {
      fault = { kind: 'none' };
      // Hung requests are abandoned: their clients have given up by now.
      for (const socket of sockets) socket.destroy();
      if (!server.listening) await listen(port);
    },
    async writeInClusterFiles(prefix) {
      const sa = join(prefix, 'var/run/secrets/kubernetes.io/serviceaccount');
      await mkdir(sa, { recursive: true });
      await writeFile(join(sa, 'token'), agentToken, { mode: 0o600 });
      await writeFile(join(sa, 'ca.crt'), ca.pem);
      await writeFile(join(sa, 'namespace'), 'svid-agent');
      return { KUBERNETES_SERVICE_HOST: '127.0.0.1', KUBERNETES_SERVICE_PORT: String(port) };
    },
    async close() {
      await stopListening();
      await rm(dir, { recursive: true, force: true });
    },
  };
  return api;
}
