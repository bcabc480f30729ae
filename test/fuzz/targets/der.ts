/**
 * Certificates (DER) as the issuer reads them from credential files: OpenSSL's parse, then our
 * reader's fields, then the key identifier of the key found.
 */
import { readCertificateInfo } from '../../../src/issuer/cert-info.js';
import { keyIdentifier } from '../../../src/issuer/x509-encoding.js';
import type { Rng } from '../prng.js';
import type { FuzzTarget } from '../runner.js';
import { showBytes } from '../runner.js';
import { certificateSeeds, derInput, withHugeOid } from '../seeds.js';

/** Creates the certificate (DER) target. */
export function derTarget(): FuzzTarget<Buffer> {
  let seeds: Buffer[] = [];
  let hugeOid: Buffer = Buffer.alloc(0);
  return {
    name: 'der',
    codes: ['CREDENTIALS_INVALID', 'INVALID_REQUEST'],
    fullInputs: 100_000,
    smokeInputs: 400,
    oidSeedIndex: 0,
    async setup() {
      seeds = await certificateSeeds();
      hugeOid = withHugeOid(seeds[2] as Buffer);
    },
    input: (rng: Rng, index: number) => derInput(rng, index, seeds, hugeOid),
    run(input) {
      const info = readCertificateInfo(input);
      keyIdentifier(info.spkiDer);
    },
    show: (input) => showBytes(input),
  };
}
