/**
 * Certify requests through the Certify function: mutated identities, tokens and CSRs, with a fake
 * token validator that still runs the real TokenReview status rules (the token is the username).
 */
import { accountFromUsername } from '../../../src/attestor/token-review.js';
import { AgentError } from '../../../src/errors.js';
import { createIssuerCa, createTrustAnchor } from '../../../src/issuer/ca.js';
import { type Certifier, type CertifyRequest, createCertifier } from '../../../src/issuer/certify.js';
import { type IssuerCredentials, loadIssuer, loadTrustAnchors } from '../../../src/issuer/credentials.js';
import { silentLogger } from '../../../src/log.js';
import type { TokenValidator } from '../../../src/token-validator.js';
import { createValueChannel } from '../../../src/value-channel.js';
import { mutateBytes, mutateDer, mutateText } from '../mutate.js';
import type { Rng } from '../prng.js';
import { type FuzzTarget, showBytes, showText } from '../runner.js';
import { csrSeeds, DNS, SPIFFE } from '../seeds.js';

const NAMING = { trustDomain: 'cluster.local', identityDomain: 'identity.linkerd.cluster.local' };
const TOKENS = ['emojivoto:web', 'emojivoto:admin', 'unauthenticated', 'other:web', 'a:b'];

/** `ns:sa` tokens name service accounts; `unauthenticated` is not; anything else is refused as TokenReview would. */
const validator: TokenValidator = {
  async validate(token) {
    if (token === 'unauthenticated') throw new AgentError('TOKEN_NOT_AUTHENTICATED', 'token is not authenticated');
    const account = accountFromUsername(`system:serviceaccount:${token}`);
    if (!account) throw new AgentError('TOKEN_INVALID', 'token username is not system:<type>:<namespace>:<name> with DNS-1123 labels');
    return { account, audiences: ['identity.l5d.io'], podUid: '6f1c2a44-0d7e-4c3b-9a51-2f8e6b7d9c10' };
  },
};

/** Creates the Certify target. */
export function certifyTarget(): FuzzTarget<CertifyRequest> {
  let seeds: Buffer[] = [];
  let certifier: Certifier;
  return {
    name: 'certify',
    codes: ['INVALID_REQUEST', 'CSR_REJECTED', 'TOKEN_NOT_AUTHENTICATED', 'TOKEN_INVALID', 'IDENTITY_MISMATCH', 'SIGNING_FAILED'],
    fullInputs: 100_000,
    smokeInputs: 300,
    async setup() {
      seeds = await csrSeeds();
      const anchor = createTrustAnchor();
      const issuerCa = createIssuerCa({ anchor });
      const files: Record<string, string> = {
        '/a': anchor.certificatePem,
        '/i/tls.crt': issuerCa.certificatePem,
        '/i/tls.key': issuerCa.privateKeyPem,
      };
      const readFile = async (path: string) => Buffer.from(files[path] ?? '');
      const now = Date.now();
      const anchors = await loadTrustAnchors('/a', { now, readFile });
      const issuer = await loadIssuer('/i', anchors, { now, readFile });
      certifier = createCertifier({
        issuer: createValueChannel<IssuerCredentials | undefined>(issuer).receiver,
        validator,
        naming: NAMING,
        clock: { now: () => now },
        lifetimeMs: 3_600_000,
        clockSkewMs: 20_000,
        logger: silentLogger(),
      });
    },
    input(rng: Rng) {
      const identity = rng.chance(0.6)
        ? rng.pick([DNS, SPIFFE])
        : mutateText(rng, rng.pick([DNS, SPIFFE]), ['spiffe://', '.identity.linkerd.cluster.local']);
      const token = rng.chance(0.6) ? 'emojivoto:web' : rng.chance(0.5) ? rng.pick(TOKENS) : mutateText(rng, rng.pick(TOKENS), [':']);
      const seed = rng.pick(seeds);
      const csr = rng.chance(0.3) ? seed : rng.chance(0.8) ? mutateDer(rng, seed, seeds) : mutateBytes(rng, seed, seeds);
      return { identity, token, csr };
    },
    run: (request) => certifier.certify(request),
    show: (r) => `identity ${showText(r.identity, 80)}, token ${showText(r.token, 40)}, csr ${showBytes(r.csr)}`,
  };
}
