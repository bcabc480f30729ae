/**
 * Unknown-field check for manifests, like kubeconform's `-strict`: the JSON schemas in
 * kubernetes-models allow any extra property, so a typo such as `readOnlyRootFileSystem` would
 * pass them and be silently dropped (or rejected) by the API server. The field lists come from
 * the generated models of @kubernetes/client-node (`getAttributeTypeMap`), which the agent
 * already depends on.
 */
import * as k8s from '@kubernetes/client-node';

/** One field of a generated model: its JSON name and its TypeScript type as a string. */
interface AttributeType {
  readonly baseName: string;
  readonly type: string;
}

interface ModelClass {
  getAttributeTypeMap(): readonly AttributeType[];
}

const MODELS: Readonly<Record<string, unknown>> = { ...k8s };

const ARRAY_TYPE = /^Array<(.+)>$/;
const MAP_TYPE = /^\{ \[key: string\]: (.+); \}$/;

function isModelClass(value: unknown): value is ModelClass {
  return typeof value === 'function' && 'getAttributeTypeMap' in value && typeof value.getAttributeTypeMap === 'function';
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Paths (`spec.template.spec.containers[0].bogus`) of every property in `value` that the model
 * named `typeName` (e.g. `V1DaemonSet`) does not define, recursively. Type mismatches are the
 * schema validator's job and are ignored here.
 *
 * @throws TypeError when `typeName` is not a model of @kubernetes/client-node.
 */
export function unknownFields(typeName: string, value: unknown): string[] {
  if (!isModelClass(MODELS[typeName])) throw new TypeError(`no client-node model named ${typeName}`);
  const found: string[] = [];
  walk(typeName, value, '', found);
  return found;
}

function walk(type: string, value: unknown, path: string, found: string[]): void {
  const itemType = ARRAY_TYPE.exec(type)?.[1];
  if (itemType !== undefined) {
    if (Array.isArray(value)) {
      value.forEach((item, i) => {
        walk(itemType, item, `${path}[${i}]`, found);
      });
    }
    return;
  }
  const valueType = MAP_TYPE.exec(type)?.[1];
  if (valueType !== undefined) {
    if (isObject(value)) for (const [key, item] of Object.entries(value)) walk(valueType, item, `${path}[${key}]`, found);
    return;
  }
  const model = MODELS[type];
  if (!isModelClass(model) || !isObject(value)) return;
  const fields = new Map(model.getAttributeTypeMap().map((a) => [a.baseName, a.type]));
  for (const [key, item] of Object.entries(value)) {
    const childPath = path === '' ? key : `${path}.${key}`;
    const childType = fields.get(key);
    if (childType === undefined) found.push(childPath);
    else walk(childType, item, childPath, found);
  }
}
