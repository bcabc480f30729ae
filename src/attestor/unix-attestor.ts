/**
 * The unix attestor (docs/kubernetes.md, issue 2): outside Kubernetes, the caller's uid is its identity.
 * uid → user name (from the passwd file) → account `local/<user>`, i.e.
 * `spiffe://<td>/ns/local/sa/<user>`. A name that is not a DNS-1123 label, or that looks like a
 * fallback name itself, becomes `uid-<uid>`.
 */
import { readFileSync } from 'node:fs';
import { AgentError } from '../errors.js';
import { isDns1123Label, SERVICE_ACCOUNT_TYPE } from '../identity.js';
import type { Attestation, AttestationObserver, AttestRequest, WorkloadAttestor } from './types.js';

/** The namespace every unix identity lives in. */
export const UNIX_NAMESPACE = 'local';

export interface UnixAttestorOptions {
  /** The passwd file; default `/etc/passwd`. */
  readonly passwdPath?: string;
  readonly readFile?: (path: string) => Promise<Buffer>;
  /** Told the outcome of every attestation (metrics). */
  readonly onOutcome?: AttestationObserver;
}

/** The user name of `uid` in passwd-format `text`, if listed. Pure. */
export function userNameOf(text: string, uid: number): string | undefined {
  for (const line of text.split('\n')) {
    const fields = line.split(':');
    if (fields.length >= 3 && fields[2] === String(uid) && fields[0]) return fields[0];
  }
  return undefined;
}

/** Names of the fallback form: a passwd entry named like this could pose as another uid. */
const FALLBACK_NAME = /^uid-\d+$/;

/**
 * The account name for a uid: the user name when it is a DNS-1123 label, else `uid-<uid>`. A user
 * name of the fallback form (`uid-4242`) is never used as a name, since the fallback name of uid
 * 4242 is `uid-4242` too and two users would share an identity (issue 15); such a user gets
 * the fallback name of its own uid. Pure.
 */
export function accountNameFor(uid: number, userName: string | undefined): string {
  return userName !== undefined && isDns1123Label(userName) && !FALLBACK_NAME.test(userName) ? userName : `uid-${uid}`;
}

export function createUnixAttestor(options: UnixAttestorOptions = {}): WorkloadAttestor {
  const passwdPath = options.passwdPath ?? '/etc/passwd';
  // A synchronous read of a small local file: through the thread pool it cost every new stream
  // four hops (open, stat, read, close), each waiting for a pool thread on a busy node.
  const readFile = options.readFile ?? (async (path: string) => readFileSync(path));
  return {
    name: 'unix',
    async attest({ caller }: AttestRequest): Promise<Attestation> {
      let text: string;
      try {
        text = (await readFile(passwdPath)).toString('utf8');
      } catch (err) {
        // Without the passwd file a uid still names the caller; it is just less readable.
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
          options.onOutcome?.({ attestor: 'unix', result: 'unavailable', reason: 'passwd_unreadable' });
          throw new AgentError('ATTESTATION_UNAVAILABLE', `cannot read ${passwdPath}`, { cause: err });
        }
        text = '';
      }
      const name = accountNameFor(caller.peer.uid, userNameOf(text, caller.peer.uid));
      options.onOutcome?.({ attestor: 'unix', result: 'attested', reason: 'none' });
      return { account: { type: SERVICE_ACCOUNT_TYPE, namespace: UNIX_NAMESPACE, name }, attestor: 'unix' };
    },
  };
}
