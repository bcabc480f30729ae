/**
 * A test client of the central issuer's node service (`proto/node/node.proto`): gRPC over TLS
 * verified against given trust anchors and server name (ALPN h2, as grpc-js sends it), or h2c;
 * plus one raw HTTP/2 call over TLS without ALPN, as a Linkerd proxy connects. The production
 * client is the agent's (src/agent/).
 */
import type { KeyObject } from 'node:crypto';
import http2 from 'node:http2';
import tls from 'node:tls';
import { type Client, credentials, Metadata, makeGenericClientConstructor, type ServiceError } from '@grpc/grpc-js';
import { createCsr, newKeyPair, signRenewalProof } from '../../src/issuer/index.js';
import { nodeIssuerDefinition } from '../../src/protos.js';

/** Options of {@link createNodeClient}. */
export interface NodeClientOptions {
  readonly port: number;
  /** Trust anchors PEM; absent for h2c. */
  readonly ca?: string;
  /** The name the issuer's certificate must carry. */
  readonly serverName?: string;
}

/** `WorkloadEvidence`. */
export interface Evidence {
  readonly token: string;
  readonly pod_uid: string;
}

/** What SignX509SVID answers, as protos.ts decodes it. */
export interface SignResponse {
  leaf: Buffer;
  intermediates: Buffer[];
  ticket: Buffer;
  spiffe_id: string;
  not_after_unix_ms: string;
  not_before_unix_ms: string;
}

/** A workload key and its CSR, as an agent makes them. */
export interface WorkloadKeyPair {
  readonly privateKey: KeyObject;
  readonly csr: Buffer;
}

/** A fresh P-256 key and a CSR for it (no names: the issuer ignores them). */
export function newWorkloadKey(): WorkloadKeyPair {
  const { privateKey } = newKeyPair('ec', { namedCurve: 'P-256' });
  return { privateKey, csr: createCsr({ privateKey }) };
}

/** The renewal proof an agent sends to rotate `previous` (its leaf, key and ticket) to `next`'s key. */
export function renewalOf(previous: { leaf: Buffer; ticket: Buffer; privateKey: KeyObject }, next: WorkloadKeyPair) {
  return {
    ticket: previous.ticket,
    certificate: previous.leaf,
    signature: signRenewalProof(previous.privateKey, previous.ticket, next.csr),
  };
}

type Unary = (request: object, metadata: Metadata, callback: (err: ServiceError | null, response: unknown) => void) => void;

/** A connected client. Calls take the agent token (or `undefined` to send none). */
export interface NodeClient {
  reviewWorkload(agentToken: string | undefined, request: object): Promise<Record<string, unknown>>;
  signX509Svid(agentToken: string | undefined, request: object): Promise<SignResponse>;
  mintJwtSvid(agentToken: string | undefined, request: object): Promise<Record<string, unknown>>;
  /** Opens a bundle stream; messages and the end status are collected. */
  watchBundles(agentToken: string | undefined): {
    messages: Array<{ jwt_bundle: Buffer; issuer_fingerprint: string }>;
    next(): Promise<{ jwt_bundle: Buffer; issuer_fingerprint: string }>;
    ended: Promise<ServiceError | undefined>;
    cancel(): void;
  };
  close(): void;
}

function metadataFor(agentToken: string | undefined): Metadata {
  const metadata = new Metadata();
  if (agentToken !== undefined) metadata.set('authorization', `Bearer ${agentToken}`);
  return metadata;
}

/** Connects to the issuer on 127.0.0.1. */
export function createNodeClient(options: NodeClientOptions): NodeClient {
  const Constructor = makeGenericClientConstructor(nodeIssuerDefinition(), 'NodeIssuer');
  const creds = options.ca ? credentials.createSsl(Buffer.from(options.ca)) : credentials.createInsecure();
  const channelOptions = options.serverName
    ? { 'grpc.ssl_target_name_override': options.serverName, 'grpc.default_authority': options.serverName }
    : {};
  const client = new Constructor(`127.0.0.1:${options.port}`, creds, { ...channelOptions, 'grpc.use_local_subchannel_pool': 1 }) as Client &
    Record<string, Unary>;
  const unary =
    (method: string) =>
    (agentToken: string | undefined, request: object): Promise<never> =>
      new Promise((resolve, reject) => {
        (client[method] as Unary).call(client, request, metadataFor(agentToken), (err, response) =>
          err ? reject(err) : resolve(response as never),
        );
      });
  return {
    reviewWorkload: unary('ReviewWorkload'),
    signX509Svid: unary('SignX509SVID'),
    mintJwtSvid: unary('MintJWTSVID'),
    watchBundles(agentToken) {
      const call = (
        client as unknown as Record<string, (r: object, m: Metadata) => NodeJS.EventEmitter & { cancel(): void }>
      ).WatchBundles?.call(client, {}, metadataFor(agentToken));
      if (!call) throw new Error('no WatchBundles method');
      const messages: Array<{ jwt_bundle: Buffer; issuer_fingerprint: string }> = [];
      const waiting: Array<(m: { jwt_bundle: Buffer; issuer_fingerprint: string }) => void> = [];
      let read = 0;
      call.on('data', (m: { jwt_bundle: Buffer; issuer_fingerprint: string }) => {
        messages.push(m);
        waiting.shift()?.(m);
      });
      const ended = new Promise<ServiceError | undefined>((resolve) => {
        call.on('error', (err: ServiceError) => resolve(err));
        call.on('end', () => resolve(undefined));
      });
      return {
        messages,
        next() {
          const index = read++;
          if (index < messages.length) return Promise.resolve(messages[index] as (typeof messages)[number]);
          return new Promise((resolve) => waiting.push(resolve));
        },
        ended,
        cancel: () => call.cancel(),
      };
    },
    close: () => client.close(),
  };
}

/**
 * One unary gRPC call over TLS without ALPN (HTTP/2 by prior knowledge, as Linkerd proxies
 * connect): resolves with the `grpc-status` trailer and the ALPN protocol the server picked.
 */
export async function callWithoutAlpn(options: {
  port: number;
  ca: string;
  serverName: string;
  path: string;
}): Promise<{ grpcStatus: string | undefined; alpn: string | false }> {
  const socket = tls.connect({
    host: '127.0.0.1',
    port: options.port,
    ca: options.ca,
    servername: options.serverName,
    minVersion: 'TLSv1.3',
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('secureConnect', resolve);
    socket.once('error', reject);
  });
  const alpn = socket.alpnProtocol ?? false;
  const session = http2.connect(`https://${options.serverName}:${options.port}`, { createConnection: () => socket });
  try {
    const stream = session.request({
      ':method': 'POST',
      ':path': options.path,
      'content-type': 'application/grpc',
      te: 'trailers',
    });
    // An empty message: a 5-byte gRPC frame header with length 0.
    stream.end(Buffer.alloc(5));
    const grpcStatus = await new Promise<string | undefined>((resolve, reject) => {
      let status: string | undefined;
      stream.on('response', (headers) => {
        if (headers['grpc-status'] !== undefined) status = String(headers['grpc-status']);
      });
      stream.on('trailers', (trailers) => {
        status = String(trailers['grpc-status']);
      });
      stream.on('data', () => undefined);
      stream.on('end', () => resolve(status));
      stream.on('error', reject);
    });
    return { grpcStatus, alpn };
  } finally {
    session.close();
    socket.destroy();
  }
}
