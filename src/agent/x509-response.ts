/**
 * Pure builders for the X.509 Workload API responses, encoded once per state and shared: every
 * stream of an identity gets the same `Buffer` for the same (SVID, anchors) pair.
 */
import { trustDomainId } from '../identity.js';
import type { TrustAnchors } from '../issuer/index.js';
import type { IssuedSvid } from './svid-store.js';

export type Encode = (method: string, message: unknown) => Buffer;

/** The `X509SVIDResponse` message for one SVID (full state, never a delta). */
export function x509SvidMessage(svid: IssuedSvid, anchors: TrustAnchors): unknown {
  return {
    svids: [{ spiffe_id: svid.spiffeId, x509_svid: svid.chainDer, x509_svid_key: svid.key.pkcs8, bundle: anchors.bundleDer, hint: '' }],
    crl: [],
    federated_bundles: {},
  };
}

/** The `X509BundlesResponse` message: our trust domain's roots. */
export function x509BundlesMessage(trustDomain: string, anchors: TrustAnchors): unknown {
  return { crl: [], bundles: { [trustDomainId(trustDomain)]: anchors.bundleDer } };
}

/** Caches encoded responses, keyed by the immutable objects they were built from. */
export function createResponseCache(encode: Encode, trustDomain: string) {
  const svidResponses = new WeakMap<IssuedSvid, { anchors: TrustAnchors; bytes: Buffer }>();
  const bundleResponses = new WeakMap<TrustAnchors, Buffer>();
  return {
    /** The encoded `X509SVIDResponse` for `svid` under `anchors`. */
    x509Svid(svid: IssuedSvid, anchors: TrustAnchors): Buffer {
      const hit = svidResponses.get(svid);
      if (hit && hit.anchors === anchors) return hit.bytes;
      const bytes = encode('FetchX509SVID', x509SvidMessage(svid, anchors));
      svidResponses.set(svid, { anchors, bytes });
      return bytes;
    },
    /** The encoded `X509BundlesResponse` for `anchors`. */
    x509Bundles(anchors: TrustAnchors): Buffer {
      let bytes = bundleResponses.get(anchors);
      if (!bytes) {
        bytes = encode('FetchX509Bundles', x509BundlesMessage(trustDomain, anchors));
        bundleResponses.set(anchors, bytes);
      }
      return bytes;
    },
  };
}

export type ResponseCache = ReturnType<typeof createResponseCache>;
