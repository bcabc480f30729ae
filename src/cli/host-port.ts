/**
 * `HOST:PORT` options (`--health-addr`, `--issuer-addr`): parsed once, checked with a message that
 * says what was expected, and the loopback test that decides where plaintext is allowed.
 */
import { BlockList, isIP } from 'node:net';

/** A parsed `HOST:PORT`; `host` without the brackets of an IPv6 address. */
export interface HostPort {
  readonly host: string;
  readonly port: number;
}

const HOST_NAME = /^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$/;

/**
 * Parses `HOST:PORT` (IPv6 in brackets: `[::1]:9090`).
 * @returns the parts, or a message saying what is wrong (without the `"addr": ` prefix)
 */
export function parseHostPort(addr: string): HostPort | string {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(addr);
  if (!m) return 'expected HOST:PORT (e.g. 127.0.0.1:9090 or [::1]:9090)';
  const [, v6, name, port] = m;
  if (v6 !== undefined && isIP(v6) !== 6) return `"${v6}" is not an IPv6 address`;
  if (name !== undefined && isIP(name) === 0 && !HOST_NAME.test(name)) return `"${name}" is not a host name or IP address`;
  if (Number(port) > 65535) return 'port must be 0-65535';
  return { host: (v6 ?? name) as string, port: Number(port) };
}

/** `HOST:PORT` (IPv6 in brackets) or `''`; a message when it is neither. */
export function checkHostPort(addr: string): string | undefined {
  if (addr === '') return undefined;
  const parsed = parseHostPort(addr);
  if (typeof parsed !== 'string') return undefined;
  return parsed.startsWith('expected') ? `"${addr}": ${parsed}, or "" for no listener` : `"${addr}": ${parsed}`;
}

const LOOPBACK = new BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK.addAddress('::1', 'ipv6');

/**
 * True for an address that never leaves the machine: `localhost`, 127.0.0.0/8 or `::1`. Plaintext
 * (h2c) is allowed only there, so a token never crosses a network in the clear.
 */
export function isLoopbackHost(host: string): boolean {
  if (host.toLowerCase() === 'localhost') return true;
  const family = isIP(host);
  if (family === 0) return false;
  return LOOPBACK.check(host, family === 4 ? 'ipv4' : 'ipv6');
}
