/**
 * Workload API socket addresses as users give them: a path, or a `unix:` URI as in
 * `SPIFFE_ENDPOINT_SOCKET` (SPIFFE Workload Endpoint §4: scheme `unix`, no authority, an
 * absolute path, nothing else).
 */
import { isAbsolute, resolve } from 'node:path';

/** The client commands' socket when neither `--socket` nor `SPIFFE_ENDPOINT_SOCKET` is set. */
export const DEFAULT_SOCKET = '/run/svid-agent/agent.sock';

/** Longest path a unix socket can bind or connect to on Linux (`sun_path` is 108 bytes with the NUL). */
export const MAX_SOCKET_PATH_BYTES = 107;

/**
 * Parses `unix:///abs/path` or `unix:/abs/path` into the absolute path.
 * @returns the path, or a message saying what is wrong (for the caller to prefix with the key)
 */
export function parseUnixSocketUri(uri: string): { path: string } | string {
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(uri)?.[1]?.toLowerCase();
  if (scheme === undefined) return `"${uri}" is not a unix: URI (write unix://${uri.startsWith('/') ? '' : '/'}${uri})`;
  if (scheme !== 'unix')
    return `unsupported scheme "${scheme}:" (only unix: sockets are supported, e.g. unix:///run/svid-agent/agent.sock)`;
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return `"${uri}" is not a valid URI`;
  }
  // `unix://tmp/x.sock` names the host "tmp", and grpc would use the relative path ./x.sock.
  if (url.host !== '' || url.username !== '' || url.password !== '') {
    return `"${uri}" must not have an authority; write unix:///abs/path (three slashes)`;
  }
  if (url.search !== '' || url.hash !== '') return `"${uri}" must not have a query or fragment`;
  let path: string;
  try {
    path = decodeURIComponent(url.pathname);
  } catch {
    return `"${uri}" has an invalid percent-encoding`;
  }
  if (!isAbsolute(path) || path === '/') return `"${uri}" must hold an absolute socket path`;
  return { path };
}

/**
 * A `--socket` value: a path (relative ones are resolved against `cwd`) or a `unix:` URI.
 * @returns the absolute path, or a message saying what is wrong
 */
export function parseSocketOption(value: string, cwd: string): { path: string } | string {
  if (value === '') return 'must not be empty';
  const parsed = /^[A-Za-z][A-Za-z0-9+.-]*:/.test(value) ? parseUnixSocketUri(value) : { path: resolve(cwd, value) };
  if (typeof parsed === 'string') return parsed;
  return checkSocketPathLength(parsed.path) ?? parsed;
}

/** A message when `path` is too long to be a unix socket, else `undefined`. */
export function checkSocketPathLength(path: string): string | undefined {
  const bytes = Buffer.byteLength(path);
  return bytes > MAX_SOCKET_PATH_BYTES
    ? `socket path is ${bytes} bytes long; unix sockets allow at most ${MAX_SOCKET_PATH_BYTES} (${path})`
    : undefined;
}
