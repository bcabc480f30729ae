/**
 * Where `certs create` and `--dev` keep credentials (docs/configuration.md): Linkerd's layout, so that
 * `run --trust-anchors DIR/ca-bundle.crt --issuer-dir DIR/issuer --jwt-key DIR/jwt.key` works and
 * the files load unchanged into the `linkerd-identity-trust-roots` ConfigMap and the
 * `linkerd-identity-issuer` Secret (scheme `kubernetes.io/tls`).
 */
import { join } from 'node:path';

/** The files of one credential set. */
export interface CredentialPaths {
  /** `DIR/ca-bundle.crt`: the trust anchor certificate (PEM). */
  readonly trustAnchors: string;
  /** `DIR/ca.key`: the trust anchor's private key (PEM PKCS#8, 0600). */
  readonly anchorKey: string;
  /** `DIR/issuer`: the directory `--issuer-dir` points at. */
  readonly issuerDir: string;
  /** `DIR/issuer/tls.crt`: the issuer certificate, signed by the anchor (PEM). */
  readonly issuerCert: string;
  /** `DIR/issuer/tls.key`: the issuer's private key (PEM PKCS#8, 0600). */
  readonly issuerKey: string;
  /** `DIR/jwt.key`: the JWT-SVID signing key (PEM PKCS#8, 0600). */
  readonly jwtKey: string;
}

/** The credential files under `dir`. */
export function credentialPaths(dir: string): CredentialPaths {
  const issuerDir = join(dir, 'issuer');
  return {
    trustAnchors: join(dir, 'ca-bundle.crt'),
    anchorKey: join(dir, 'ca.key'),
    issuerDir,
    issuerCert: join(issuerDir, 'tls.crt'),
    issuerKey: join(issuerDir, 'tls.key'),
    jwtKey: join(dir, 'jwt.key'),
  };
}

/**
 * `--dev` works in this directory, relative to the working directory. It is mode 0755 and holds
 * the socket, so that other local users can reach the socket (the unix attestor names them);
 * the keys live in its private subdirectory {@link DEV_CREDENTIALS_NAME}.
 */
export const DEV_DIR_NAME = '.svid-agent';

/** The socket file name inside the dev directory. */
export const DEV_SOCKET_NAME = 'agent.sock';

/** The dev credential set's directory inside the dev directory: mode 0700, keys 0600. */
export const DEV_CREDENTIALS_NAME = 'credentials';

/** The credential files `--dev` uses, under `devDir`. */
export function devCredentialPaths(devDir: string): CredentialPaths {
  return credentialPaths(join(devDir, DEV_CREDENTIALS_NAME));
}
