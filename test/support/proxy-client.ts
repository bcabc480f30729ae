/**
 * A Certify client that connects as a Linkerd proxy does (linkerd2-proxy `linkerd/app/src/env.rs`
 * `parse_control_addr`, `linkerd/meshtls` client): TLS 1.3 with SNI = the identity service name,
 * **no ALPN**, no client certificate, the server's chain verified against the trust anchors alone
 * and its name looked for among the leaf's SANs; then HTTP/2 by prior knowledge, one gRPC call per
 * `certify` on the one connection. With `plaintext`, h2c over TCP, as the proxy does for a
 * loopback address. `alpn: ['h2']` makes it the other kind of client (grpc-js, our agents).
 */
import http2 from 'node:http2';
import net from 'node:net';
import tls from 'node:tls';
import { status } from '@grpc/grpc-js';
import { linkerdIdentityDefinition } from '../../src/protos.js';

/** `CertifyRequest` as the proxy fills it. */
export interface ProxyCertifyRequest {
  readonly identity: string;
  readonly token: Buffer | string;
  readonly certificate_signing_request: Buffer;
}

/** `CertifyResponse`, decoded. */
export interface ProxyCertifyResponse {
  leaf_certificate: Buffer;
  intermediate_certificates: Buffer[];
  valid_until: { seconds: string; nanos: number } | null;
}

/** What one call ended with. */
export interface ProxyCallResult {
  readonly code: status;
  readonly message: string;
  readonly response: ProxyCertifyResponse | undefined;
}

/** Options of {@link connectLikeProxy}. */
export interface ProxyClientOptions {
  readonly port: number;
  readonly host?: string;
  /** Trust anchors PEM and the expected server name; both absent with `plaintext`. */
  readonly anchors?: string;
  readonly serverName?: string;
  readonly plaintext?: boolean;
  /** ALPN protocols to offer; default none, as the proxy. */
  readonly alpn?: string[];
}

/** One connection. */
export interface ProxyClient {
  /** The ALPN protocol the server chose (`false`: none, as with a proxy). */
  readonly alpn: string | false;
  /** The TLS version negotiated, `undefined` for h2c. */
  readonly tlsVersion: string | undefined;
  /** The server's leaf as sent in the handshake, `undefined` for h2c. */
  readonly serverLeaf: tls.DetailedPeerCertificate | undefined;
  certify(request: ProxyCertifyRequest): Promise<ProxyCallResult>;
  close(): void;
}

const PATH = '/io.linkerd.proxy.identity.Identity/Certify';

/** A gRPC length-prefixed message. */
function frame(message: Buffer): Buffer {
  const header = Buffer.alloc(5);
  header.writeUInt32BE(message.length, 1);
  return Buffer.concat([header, message]);
}

async function secureSocket(options: ProxyClientOptions): Promise<tls.TLSSocket | net.Socket> {
  const host = options.host ?? '127.0.0.1';
  if (options.plaintext) {
    const socket = net.connect({ host, port: options.port });
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    return socket;
  }
  const socket = tls.connect({
    host,
    port: options.port,
    servername: options.serverName,
    ca: options.anchors,
    minVersion: 'TLSv1.3',
    maxVersion: 'TLSv1.3',
    ...(options.alpn ? { ALPNProtocols: options.alpn } : {}),
    // The proxy verifies the chain to its anchors, then looks for its expected name among the
    // leaf's SANs (meshtls `verify_id`); Node's default identity check does the DNS part of that.
    checkServerIdentity: (name, cert) => tls.checkServerIdentity(name, cert),
  });
  await new Promise<void>((resolve, reject) => socket.once('secureConnect', resolve).once('error', reject));
  return socket;
}

/**
 * Connects; rejects when the handshake fails (an unverified chain or name included).
 * @throws whatever TLS or TCP reports
 */
export async function connectLikeProxy(options: ProxyClientOptions): Promise<ProxyClient> {
  const socket = await secureSocket(options);
  const secure = socket instanceof tls.TLSSocket ? socket : undefined;
  const authority = `${options.serverName ?? 'localhost'}:${options.port}`;
  const session = http2.connect(`${secure ? 'https' : 'http'}://${authority}`, { createConnection: () => socket });
  session.on('error', () => undefined);
  const method = linkerdIdentityDefinition().Certify;
  if (!method) throw new Error('no Certify in the identity proto');
  return {
    alpn: secure?.alpnProtocol ?? false,
    tlsVersion: secure?.getProtocol() ?? undefined,
    serverLeaf: secure?.getPeerCertificate(true),
    certify(request) {
      const body = frame(method.requestSerialize({ ...request, token: Buffer.from(request.token) }));
      const stream = session.request({ ':method': 'POST', ':path': PATH, 'content-type': 'application/grpc', te: 'trailers' });
      stream.end(body);
      return new Promise<ProxyCallResult>((resolve, reject) => {
        const chunks: Buffer[] = [];
        let code: string | undefined;
        let message = '';
        const take = (headers: http2.IncomingHttpHeaders) => {
          if (headers['grpc-status'] !== undefined) code = String(headers['grpc-status']);
          if (headers['grpc-message'] !== undefined) message = decodeURIComponent(String(headers['grpc-message']));
        };
        stream.on('response', take);
        stream.on('trailers', take);
        stream.on('data', (chunk: Buffer) => chunks.push(chunk));
        stream.on('error', reject);
        stream.on('end', () => {
          const data = Buffer.concat(chunks);
          const length = data.length >= 5 ? data.readUInt32BE(1) : 0;
          const response =
            data.length >= 5 ? (method.responseDeserialize(data.subarray(5, 5 + length)) as ProxyCertifyResponse) : undefined;
          resolve({ code: code === undefined ? status.UNKNOWN : Number(code), message, response });
        });
      });
    },
    close() {
      session.close();
      socket.destroy();
    },
  };
}
