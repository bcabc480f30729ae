/**
 * `WatchBundles`: every agent's stream gets the JWT bundle (current and retired keys) and the
 * issuer's fingerprint at once, then again whenever either changes (a JWT key rotation, an issuer
 * swap). Agents keep the last message through outages; an issuer swap tells them to re-issue.
 */
import { createHash } from 'node:crypto';
import type { ServerWritableStream } from '@grpc/grpc-js';
import { type IssuerCredentials, type JwtKeySet, jwksJson } from '../issuer/index.js';
import type { Receiver } from '../value-channel.js';

/** `BundlesResponse` on the wire. */
interface BundlesMessage {
  readonly jwt_bundle: Buffer;
  readonly issuer_fingerprint: string;
}

type Stream = ServerWritableStream<unknown, unknown>;

/** The open bundle streams. */
export interface BundleWatch {
  /** Sends the current bundles on `call` and keeps it up to date until it ends. */
  watch(call: Stream): void;
  /** Open streams. */
  size(): number;
  /** Ends every stream (shutdown) and stops following the sources. */
  close(): void;
}

/** Options of {@link createBundleWatch}. */
export interface BundleWatchOptions {
  /** `undefined` without `--jwt-key`: the bundle is sent empty. */
  readonly jwtKeys: Receiver<JwtKeySet> | undefined;
  readonly issuer: Receiver<IssuerCredentials | undefined>;
  /** Told the number of open streams after every change (metrics). */
  readonly onStreamsChanged?: (open: number) => void;
}

/** SHA-256 of the issuer certificate's DER, lower-case hex; `''` while none is loaded. */
export function issuerFingerprint(issuer: IssuerCredentials | undefined): string {
  return issuer ? createHash('sha256').update(issuer.certificate.raw).digest('hex') : '';
}

/** Starts following the JWT keys and the issuer. */
export function createBundleWatch(options: BundleWatchOptions): BundleWatch {
  const streams = new Set<Stream>();
  const current = (): BundlesMessage => {
    const keys = options.jwtKeys?.get();
    return {
      jwt_bundle: keys ? Buffer.from(jwksJson(keys.keys)) : Buffer.alloc(0),
      issuer_fingerprint: issuerFingerprint(options.issuer.get()),
    };
  };
  let last = current();
  const publish = () => {
    const next = current();
    if (next.issuer_fingerprint === last.issuer_fingerprint && next.jwt_bundle.equals(last.jwt_bundle)) return;
    last = next;
    for (const call of streams) call.write(next);
  };
  const stops = [options.issuer.subscribe(publish), ...(options.jwtKeys ? [options.jwtKeys.subscribe(publish)] : [])];
  const changed = () => options.onStreamsChanged?.(streams.size);

  return {
    watch(call) {
      if (call.cancelled) return;
      streams.add(call);
      changed();
      const forget = () => {
        if (streams.delete(call)) changed();
      };
      call.once('cancelled', forget);
      call.once('close', forget);
      call.once('finish', forget);
      call.write(last);
    },
    size: () => streams.size,
    close() {
      for (const stop of stops) stop();
      for (const call of [...streams]) call.end();
      streams.clear();
      changed();
    },
  };
}
