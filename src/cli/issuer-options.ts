/**
 * The options of `svid-agent issuer`, the central issuer (docs/central-issuer.md), in one table
 * like `run`'s (`run-options.ts`): it drives the commander flags, the config-file keys and
 * {@link ISSUER_FLAGS}. Options shared with `run` keep its names, descriptions and defaults.
 */
import { RUN_OPTIONS, type RunOptionSpec } from './run-options.js';

/** The `run` options the issuer shares, by key. */
const SHARED_KEYS = [
  'trustDomain',
  'trustAnchors',
  'issuerDir',
  'jwtKey',
  'identityDomain',
  'svidTtl',
  'jwtTtl',
  'clockSkew',
  'kubeconfig',
  'tokenAudience',
  'shutdownTimeout',
  'healthAddr',
  'logLevel',
] as const;

const shared = (key: (typeof SHARED_KEYS)[number]): RunOptionSpec => {
  const spec = RUN_OPTIONS.find((o) => o.key === key) as RunOptionSpec;
  if (key === 'trustAnchors') return { ...spec, description: 'PEM bundle of roots (Linkerd: ca-bundle.crt); required' };
  if (key === 'issuerDir') return { ...spec, description: 'holds tls.crt+tls.key or crt.pem+key.pem; required' };
  if (key === 'jwtKey') return { ...spec, description: 'PEM private key for JWT-SVIDs (default: MintJWTSVID answers UNIMPLEMENTED)' };
  if (key === 'tokenAudience')
    return { ...spec, description: 'audience of workload tokens, reviewed by TokenReview (default identity.l5d.io)' };
  return spec;
};

/** Every option `svid-agent issuer` accepts, in `--help` order. */
export const ISSUER_OPTIONS: readonly RunOptionSpec[] = [
  { flag: 'config', key: 'config', kind: 'string', arg: 'FILE', description: 'YAML file with the options below in camelCase' },
  {
    flag: 'listen',
    key: 'listen',
    kind: 'string',
    arg: 'HOST:PORT',
    description: 'address of the node service (default 0.0.0.0:8080)',
  },
  { flag: 'plaintext', key: 'plaintext', kind: 'boolean', description: 'h2c without TLS; only on a loopback --listen address' },
  {
    flag: 'server-name',
    key: 'serverName',
    kind: 'string',
    arg: 'NAME',
    description:
      "the issuer's own TLS name, never signed for anyone else (default linkerd-identity.<cp-ns>.serviceaccount.<identity-domain>)",
  },
  ...SHARED_KEYS.map(shared),
  {
    flag: 'agent-audience',
    key: 'agentAudience',
    kind: 'string',
    arg: 'AUD',
    description: "audience of the agents' own tokens; must differ from --token-audience (default svid-agent)",
  },
  {
    flag: 'agent-service-account',
    key: 'agentServiceAccount',
    kind: 'string',
    arg: 'NS/NAME',
    description: 'the only service account that may act as a node agent (default svid-agent/svid-agent)',
  },
];

/** Every long flag of `svid-agent issuer`, without dashes. Manifest tests check the Deployment's args against it. */
export const ISSUER_FLAGS: readonly string[] = ISSUER_OPTIONS.map((o) => o.flag);

/** The raw flag values commander hands to the `issuer` action. */
export type IssuerFlags = Readonly<Record<string, string | boolean | undefined>>;
