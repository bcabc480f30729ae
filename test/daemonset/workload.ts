/**
 * Typed views of the pod-carrying manifests under daemonset/ (DaemonSet, Deployment, Pod). The
 * casts are safe because the schema test validates every manifest against the OpenAPI schema.
 */
import type { IContainer } from 'kubernetes-models/v1/Container';
import type { IPodSpec } from 'kubernetes-models/v1/PodSpec';
import type { IVolume } from 'kubernetes-models/v1/Volume';
import type { ManifestDoc } from './manifests.js';

/** A manifest that runs pods, with the pod template's spec. */
export interface Workload {
  readonly file: string;
  readonly kind: string;
  readonly name: string;
  readonly namespace: string | undefined;
  readonly spec: Record<string, unknown>;
  readonly pod: IPodSpec;
}

interface Metadata {
  readonly name?: string;
  readonly namespace?: string;
}

/** The DaemonSets, Deployments and Pods among `docs`. */
export function workloads(docs: readonly ManifestDoc[]): Workload[] {
  const out: Workload[] = [];
  for (const doc of docs) {
    const { kind, metadata, spec } = doc.value as { kind?: string; metadata?: Metadata; spec?: Record<string, unknown> };
    if (spec === undefined || kind === undefined) continue;
    let pod: IPodSpec | undefined;
    if (kind === 'Pod') pod = spec as unknown as IPodSpec;
    else if (kind === 'DaemonSet' || kind === 'Deployment') pod = (spec.template as { spec?: IPodSpec } | undefined)?.spec;
    if (pod === undefined) continue;
    out.push({ file: doc.file, kind, name: metadata?.name ?? '', namespace: metadata?.namespace, spec, pod });
  }
  return out;
}

/**
 * The `--name=value` flags of a container's args after the leading subcommand words, by name
 * (without dashes). A repeated flag keeps every value.
 *
 * @throws Error for a flag written as `--name value` (two items): the `=` form keeps flag and
 *   value together, so this check cannot pair them wrongly.
 */
export function parseFlags(args: readonly string[]): { command: string[]; flags: Map<string, string[]> } {
  const command: string[] = [];
  const flags = new Map<string, string[]>();
  for (const arg of args) {
    if (!arg.startsWith('--')) {
      if (flags.size > 0) throw new Error(`argument ${arg} follows a flag; write flags as --name=value`);
      command.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    if (eq < 0) throw new Error(`flag ${arg} has no value; write flags as --name=value`);
    const name = arg.slice(2, eq);
    flags.set(name, [...(flags.get(name) ?? []), arg.slice(eq + 1)]);
  }
  return { command, flags };
}

/** The single value of a flag, or `undefined` when it is absent. */
export function flag(flags: ReadonlyMap<string, readonly string[]>, name: string): string | undefined {
  const values = flags.get(name);
  if (values !== undefined && values.length !== 1) throw new Error(`--${name} is given ${values.length} times`);
  return values?.[0];
}

/** The literal value of an env var of `container`, or `undefined`. */
export function envValue(container: IContainer, name: string): string | undefined {
  return container.env?.find((e) => e.name === name)?.value;
}

/** The volume named `name` in `pod`. @throws Error if there is none. */
export function volumeNamed(pod: IPodSpec, name: string): IVolume {
  const volume = pod.volumes?.find((v) => v.name === name);
  if (volume === undefined) throw new Error(`no volume ${name}`);
  return volume;
}

/** The container port `port` refers to: a number, or the name of one of the container's ports. */
export function resolvePort(container: IContainer, port: number | string | undefined): number | undefined {
  if (typeof port === 'number') return port;
  return container.ports?.find((p) => p.name === port)?.containerPort;
}
