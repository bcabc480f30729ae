/**
 * CSRs as Certify receives them: parse, the Certify rules for both identity forms, the signature.
 * Beyond the code oracle: a CSR that parses with a P-256/P-384 key must come out with the
 * canonical key encoding (named curve, uncompressed point) that leaves copy.
 */
import { parseCsr } from '../../../src/issuer/csr.js';
import { checkCsr } from '../../../src/issuer/csr-rules.js';
import * as der from '../../../src/issuer/der.js';
import type { Rng } from '../prng.js';
import type { FuzzTarget } from '../runner.js';
import { showBytes } from '../runner.js';
import { csrSeeds, DNS, derInput, SPIFFE, withHugeOid } from '../seeds.js';

const CANONICAL_LENGTHS: Record<string, number> = { prime256v1: 91, secp384r1: 120 };

/** Creates the CSR target. */
export function csrTarget(): FuzzTarget<Buffer> {
  let seeds: Buffer[] = [];
  let hugeOid: Buffer = Buffer.alloc(0);
  return {
    name: 'csr',
    codes: ['INVALID_REQUEST', 'CSR_REJECTED'],
    fullInputs: 100_000,
    smokeInputs: 400,
    oidSeedIndex: 0,
    async setup() {
      seeds = await csrSeeds();
      hugeOid = withHugeOid(seeds[0] as Buffer);
    },
    input: (rng: Rng, index: number) => derInput(rng, index, seeds, hugeOid),
    run(input) {
      const csr = parseCsr(input);
      const curve = csr.namedCurve ?? '';
      if (csr.publicKeyAlgorithm === 'ec' && curve in CANONICAL_LENGTHS) {
        const [algorithm] = der.sequenceOf(der.decode(csr.publicKeySpki), 'spki');
        if (csr.publicKeySpki.length !== CANONICAL_LENGTHS[curve] || der.sequenceOf(algorithm, 'algorithm').length !== 2) {
          throw new Error(`non-canonical ${curve} key reached the leaf path: ${csr.publicKeySpki.toString('hex')}`);
        }
      }
      try {
        checkCsr(csr, DNS);
      } finally {
        checkCsr(csr, SPIFFE);
      }
    },
    show: (input) => showBytes(input),
  };
}
