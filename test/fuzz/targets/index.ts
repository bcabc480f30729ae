/** Every fuzz target, in the order `npm run fuzz` runs them. */
import type { FuzzTarget } from '../runner.js';
import { certifyTarget } from './certify.js';
import { configTarget } from './config.js';
import { csrTarget } from './csr.js';
import { derTarget } from './der.js';
import { jwtTarget } from './jwt.js';
import { socketTarget } from './socket.js';
import { tokensTarget } from './tokens.js';

export function allTargets(): FuzzTarget[] {
  return [csrTarget(), derTarget(), certifyTarget(), jwtTarget(), tokensTarget(), configTarget(), socketTarget()] as FuzzTarget[];
}
