/**
 * The issuer's port, shared by the node service and Linkerd's `Certify`. TLS is terminated here, not by grpc-js: TLS 1.3 only, the issuer's
 * own certificate with its chain, ALPN `h2` accepted but not required — Linkerd proxies speak
 * HTTP/2 by prior knowledge and send no ALPN, which grpc-js's own TLS server refuses. Each
 * connection, once secured, is handed to grpc-js as a plain one (`createConnectionInjector`), as
 * the agent hands over its Unix socket connections. With `--plaintext` (loopback only) the
 * connections are handed over as they come: h2c.
 */
import net from 'node:net';
import tls from 'node:tls';
import type { ConnectionInjector } from '@grpc/grpc-js';
import { AgentError, describeError } from '../errors.js';
import type { ServerCertificate } from '../issuer/index.js';
import { LOG_FIELD, type Logger } from '../log.js';

/** Options of {@link listenForNodes}. */
export interface NodeListenerOptions {
  /** `--listen` HOST:PORT (IPv6 in brackets), validated; port 0 picks a free one. */
  readonly address: string;
  /** The certificate to serve; `undefined` for h2c (`--plaintext`). */
  readonly certificate: ServerCertificate | undefined;
  readonly injector: ConnectionInjector;
  readonly logger: Logger;
}

/** The listening port. */
export interface NodeListener {
  /** The port actually bound. */
  readonly port: number;
  /** Serves `certificate` to connections from now on (renewal, issuer swap). */
  setCertificate(certificate: ServerCertificate): void;
  /** Stops accepting; destroys connections still open after `graceMs`. */
  close(graceMs: number): Promise<void>;
}

function secureContextOptions(certificate: ServerCertificate): tls.SecureContextOptions {
  return { cert: certificate.chainPem, key: certificate.keyPem, minVersion: 'TLSv1.3' };
}

/** Splits a validated `HOST:PORT` / `[V6]:PORT`. */
export function splitListenAddress(address: string): { host: string; port: number } {
  const at = address.lastIndexOf(':');
  return { host: address.slice(0, at).replace(/^\[(.*)\]$/, '$1'), port: Number(address.slice(at + 1)) };
}

/**
 * Starts listening.
 * @throws AgentError `CONFIG_INVALID` naming the address when it cannot be bound
 */
export async function listenForNodes(options: NodeListenerOptions): Promise<NodeListener> {
  const log = options.logger.child({ [LOG_FIELD.subsystem]: 'node_listener' });
  const sockets = new Set<net.Socket>();
  const track = (socket: net.Socket): void => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
  };
  let server: net.Server;
  if (options.certificate) {
    const tlsServer = tls.createServer({ ...secureContextOptions(options.certificate), ALPNProtocols: ['h2'] });
    tlsServer.on('secureConnection', (socket: tls.TLSSocket) => {
      track(socket);
      // Node's HTTP/2 server (the one grpc-js injects into) treats a TLS socket without ALPN as
      // HTTP/1 and answers 403 (`connectionListener` in lib/internal/http2/core.js). A client that
      // sent no ALPN speaks HTTP/2 by prior knowledge here; say so before handing the socket on.
      if (socket.alpnProtocol === false) (socket as { alpnProtocol: string | false | null }).alpnProtocol = 'h2';
      options.injector.injectConnection(socket);
    });
    tlsServer.on('tlsClientError', (err: Error) => log.debug({ [LOG_FIELD.error]: describeError(err) }, 'tls handshake failed'));
    server = tlsServer;
  } else {
    server = net.createServer((socket) => {
      track(socket);
      options.injector.injectConnection(socket);
    });
  }
  const { host, port } = splitListenAddress(options.address);
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        new AgentError('CONFIG_INVALID', `--listen ${options.address}: cannot listen (${err.code ?? describeError(err)})`, { cause: err }),
      ),
    );
    server.listen({ host, port }, () => resolve());
  });
  server.on('error', (err) => log.error({ [LOG_FIELD.error]: describeError(err) }, 'node listener error'));
  const bound = (server.address() as net.AddressInfo).port;
  log.info({ address: host, port: bound, tls: options.certificate !== undefined }, 'serving the node service and linkerd certify');

  let closing: Promise<void> | undefined;
  return {
    port: bound,
    setCertificate(certificate) {
      if (server instanceof tls.Server) server.setSecureContext(secureContextOptions(certificate));
    },
    close(graceMs) {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        const timer = setTimeout(() => {
          for (const socket of sockets) socket.destroy();
        }, graceMs);
        timer.unref();
        if (sockets.size === 0) clearTimeout(timer);
      });
      return closing;
    },
  };
}
