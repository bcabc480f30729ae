/**
 * Validates a parsed manifest against the Kubernetes OpenAPI schemas shipped (as compiled ajv
 * validators) in the `kubernetes-models` package, plus the unknown-field check of
 * `strict-fields.ts`. Only the kinds listed in {@link SCHEMAS} are known; anything else is an
 * error, so a new kind under daemonset/ must be added here on purpose.
 */
import type { Model, ModelConstructor } from '@kubernetes-models/base';
import { DaemonSet } from 'kubernetes-models/apps/v1/DaemonSet';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { ClusterRole } from 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRole';
import { ClusterRoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRoleBinding';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Namespace } from 'kubernetes-models/v1/Namespace';
import { Pod } from 'kubernetes-models/v1/Pod';
import { Secret } from 'kubernetes-models/v1/Secret';
import { Service } from 'kubernetes-models/v1/Service';
import { ServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import { unknownFields } from './strict-fields.js';

interface KindSchema {
  /** Builds the kubernetes-models object whose `validate()` runs the OpenAPI schema. */
  readonly create: (data: Record<string, unknown>) => Model<unknown>;
  /** The @kubernetes/client-node model with the same fields, for the unknown-field check. */
  readonly clientModel: string;
}

function kind<T>(ctor: ModelConstructor<T>, clientModel: string): KindSchema {
  // The data is untyped YAML; validate() is what decides whether it fits T.
  return { create: (data) => new ctor(data as ConstructorParameters<ModelConstructor<T>>[0]), clientModel };
}

/** Schemas by `apiVersion/kind`. */
export const SCHEMAS: Readonly<Record<string, KindSchema>> = {
  'v1/Namespace': kind(Namespace, 'V1Namespace'),
  'v1/ServiceAccount': kind(ServiceAccount, 'V1ServiceAccount'),
  'v1/ConfigMap': kind(ConfigMap, 'V1ConfigMap'),
  'v1/Secret': kind(Secret, 'V1Secret'),
  'v1/Service': kind(Service, 'V1Service'),
  'v1/Pod': kind(Pod, 'V1Pod'),
  'apps/v1/DaemonSet': kind(DaemonSet, 'V1DaemonSet'),
  'apps/v1/Deployment': kind(Deployment, 'V1Deployment'),
  'policy/v1/PodDisruptionBudget': kind(PodDisruptionBudget, 'V1PodDisruptionBudget'),
  'rbac.authorization.k8s.io/v1/ClusterRole': kind(ClusterRole, 'V1ClusterRole'),
  'rbac.authorization.k8s.io/v1/ClusterRoleBinding': kind(ClusterRoleBinding, 'V1ClusterRoleBinding'),
};

/**
 * Every problem with `manifest` as a Kubernetes object: unknown kind, schema violations
 * (types, required fields, enums, formats) and fields the API does not define. Empty when valid.
 */
export function validateManifest(manifest: Record<string, unknown>): string[] {
  const key = `${String(manifest.apiVersion)}/${String(manifest.kind)}`;
  const schema = SCHEMAS[key];
  if (schema === undefined) return [`no schema for ${key}; add it to test/daemonset/schema.ts`];
  const problems: string[] = [];
  try {
    schema.create(manifest).validate();
  } catch (err) {
    problems.push(err instanceof Error ? err.message : String(err));
  }
  for (const path of unknownFields(schema.clientModel, manifest)) problems.push(`unknown field ${path}`);
  return problems;
}
