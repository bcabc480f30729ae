/**
 * The client side of bench/certify.ts, in its own process so that the issuer's process spends
 * its CPU on Certify alone. Connects once, as a Linkerd proxy does (test/support/proxy-client.ts:
 * TLS 1.3, no ALPN, HTTP/2 by prior knowledge), and keeps `concurrency` Certify calls in flight
 * on that one connection. Each call carries a token made for it alone, so that no review is
 * answered from the issuer's cache, and a CSR for a fresh key, made beforehand: the parent asks
 * for more than a run's calls, so none repeats (past them the CSRs would come round again).
 * Reports over IPC: `ready`, `start` after the warm-up, `done`.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { status } from '@grpc/grpc-js';
import { createCsr, newKeyPair } from '../src/issuer/index.js';
import { connectLikeProxy } from '../test/support/proxy-client.js';

/** What the parent sends. */
export interface ClientOrder {
  readonly port: number;
  readonly anchors: string;
  readonly serverName: string;
  readonly identity: string;
  readonly warmupMs: number;
  readonly runMs: number;
  readonly concurrency: number;
  /** How many CSRs (fresh keys) to make beforehand. */
  readonly pool: number;
}

/** What the child reports. */
export type ClientReport =
  | { event: 'ready' }
  | { event: 'start' }
  | { event: 'done'; ok: number; failed: number; firstFailure: string | undefined; leaf: string | undefined; calls: number };

const send = (report: ClientReport) => process.send?.(report);

/** Tokens made before the run (see `run`). */
const TOKENS = 30_000;

/** A projected-token-sized JWT (about 1.1 KB, RS256-sized signature) with a readable `exp`. */
function tokenLike(): string {
  const part = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  const claims = {
    aud: ['identity.l5d.io'],
    exp: now + 86_400,
    iat: now,
    iss: 'https://kubernetes.default.svc.cluster.local',
    jti: randomUUID(),
    'kubernetes.io': {
      namespace: 'emojivoto',
      node: { name: 'node-1', uid: randomUUID() },
      pod: { name: 'web-5d8f7c9b6-x2x7q', uid: randomUUID() },
      serviceaccount: { name: 'web', uid: randomUUID() },
    },
    nbf: now,
    sub: 'system:serviceaccount:emojivoto:web',
  };
  return `${part({ alg: 'RS256', kid: 'bench' })}.${part(claims)}.${randomBytes(256).toString('base64url')}`;
}

async function run(order: ClientOrder): Promise<void> {
  const csrs = Array.from({ length: order.pool }, () => {
    const { privateKey } = newKeyPair('ec', { namedCurve: 'P-256' });
    return createCsr({ privateKey, commonName: order.identity, dnsNames: [order.identity] });
  });
  // Tokens for the calls of a whole run at several thousand a second, made beforehand so the
  // client keeps up; past them, a token is made at the call.
  const tokens = Array.from({ length: TOKENS }, tokenLike);
  const proxy = await connectLikeProxy({ port: order.port, anchors: order.anchors, serverName: order.serverName });
  send({ event: 'ready' });
  let next = 0;
  let ok = 0;
  let failed = 0;
  let firstFailure: string | undefined;
  let leaf: string | undefined;
  let counting = false;
  let stopAt = Number.POSITIVE_INFINITY;
  const startAt = performance.now() + order.warmupMs;
  async function worker(): Promise<void> {
    while (performance.now() < stopAt) {
      const csr = csrs[next % csrs.length] as Buffer;
      const token = tokens[next] ?? tokenLike();
      next++;
      const result = await proxy.certify({ identity: order.identity, token, certificate_signing_request: csr });
      if (!counting && performance.now() >= startAt) {
        counting = true;
        stopAt = performance.now() + order.runMs;
        send({ event: 'start' });
      }
      if (!counting) continue;
      if (result.code === status.OK) {
        ok++;
        leaf ??= result.response?.leaf_certificate.toString('base64');
      } else {
        failed++;
        firstFailure ??= `${status[result.code]}: ${result.message}`;
      }
    }
  }
  await Promise.all(Array.from({ length: order.concurrency }, worker));
  proxy.close();
  send({ event: 'done', ok, failed, firstFailure, leaf, calls: next });
}

process.once('message', (order: ClientOrder) => {
  run(order).then(
    () => process.exit(0),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
});
