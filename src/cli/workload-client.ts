/**
 * A small SPIFFE Workload API client over a unix socket, for the `api` commands and for tests.
 * Built from the one proto loader (`src/protos.ts`, no generated code); every call carries the
 * security header `workload.spiffe.io: true` exactly once (docs/workload-api.md) and a deadline.
 */
import * as grpc from '@grpc/grpc-js';
import { AgentError, type AgentErrorCode } from '../errors.js';
import { workloadApiDefinition } from '../protos.js';

/** The security header every Workload API call must carry (SPIFFE Workload Endpoint §3). */
export const SECURITY_HEADER_KEY = 'workload.spiffe.io';
export const SECURITY_HEADER_VALUE = 'true';

/** `X509SVID` as protos.ts decodes it (`keepCase`, `defaults`): proto field names, DER bytes. */
export interface X509SVID {
  readonly spiffe_id: string;
  /** DER certificates concatenated, leaf first. */
  readonly x509_svid: Buffer;
  /** Unencrypted PKCS#8 DER. Never print or log it. */
  readonly x509_svid_key: Buffer;
  /** DER CA certificates of the trust domain, concatenated. */
  readonly bundle: Buffer;
  readonly hint: string;
}

/** `X509SVIDResponse` as protos.ts decodes it. */
export interface X509SVIDResponse {
  readonly svids: readonly X509SVID[];
  readonly crl: readonly Buffer[];
  readonly federated_bundles: Readonly<Record<string, Buffer>>;
}

/** `JWTSVIDResponse` as protos.ts decodes it. `svid` is a bearer token: never log it. */
export interface JWTSVIDResponse {
  readonly svids: readonly { readonly spiffe_id: string; readonly svid: string; readonly hint: string }[];
}

/** `JWTBundlesResponse` as protos.ts decodes it: JWK Set JSON bytes keyed `spiffe://<td>`. */
export interface JWTBundlesResponse {
  readonly bundles: Readonly<Record<string, Buffer>>;
}

/** `google.protobuf.Value` as protos.ts decodes it (`oneofs`: `kind` names the field set). */
export interface ProtoValue {
  readonly kind?: string;
  readonly nullValue?: number | string;
  readonly numberValue?: number;
  readonly stringValue?: string;
  readonly boolValue?: boolean;
  readonly structValue?: ProtoStruct;
  readonly listValue?: { readonly values?: readonly ProtoValue[] };
}

/** `google.protobuf.Struct` as protos.ts decodes it. */
export interface ProtoStruct {
  readonly fields?: Readonly<Record<string, ProtoValue>>;
}

/** `ValidateJWTSVIDResponse` as protos.ts decodes it. */
export interface ValidateJWTSVIDResponse {
  readonly spiffe_id: string;
  readonly claims: ProtoStruct | null;
}

/**
 * A Workload API call that failed with a gRPC status. `status` is the gRPC code; the message is
 * `<STATUS_NAME>: <details>`. Its code is `NO_IDENTITY` for PERMISSION_DENIED, `INVALID_REQUEST`
 * for INVALID_ARGUMENT, `AGENT_UNAVAILABLE` for UNAVAILABLE and DEADLINE_EXCEEDED, else
 * `INTERNAL`; `call-errors.ts` turns it into a message for users.
 */
export class WorkloadApiError extends AgentError {
  readonly status: grpc.status;

  constructor(status: grpc.status, details: string, options?: { cause?: unknown }) {
    super(agentCodeFor(status), `${statusName(status)}: ${details}`, options);
    this.status = status;
  }
}

/** The name of a gRPC status code, e.g. `PERMISSION_DENIED`. */
export function statusName(status: grpc.status): string {
  return grpc.status[status] ?? `status ${status}`;
}

function agentCodeFor(status: grpc.status): AgentErrorCode {
  if (status === grpc.status.PERMISSION_DENIED) return 'NO_IDENTITY';
  if (status === grpc.status.INVALID_ARGUMENT) return 'INVALID_REQUEST';
  if (status === grpc.status.UNAVAILABLE || status === grpc.status.DEADLINE_EXCEEDED) return 'AGENT_UNAVAILABLE';
  return 'INTERNAL';
}

/** Sets the security header on every outgoing call; `set` replaces, so it is sent exactly once. */
const securityHeaderInterceptor: grpc.Interceptor = (options, nextCall) =>
  new grpc.InterceptingCall(nextCall(options), {
    start(metadata, listener, next) {
      metadata.set(SECURITY_HEADER_KEY, SECURITY_HEADER_VALUE);
      next(metadata, listener);
    },
  });

/** Options of one streaming call. */
export interface CallOptions {
  /** Absolute deadline, ms since the epoch; the call fails with DEADLINE_EXCEEDED after it. */
  readonly deadline: number;
}

/** A connection to one agent socket. */
export interface WorkloadClient {
  /** Opens `FetchX509SVID`; the caller consumes the stream and cancels it when done. */
  fetchX509SVID(options: CallOptions): grpc.ClientReadableStream<X509SVIDResponse>;
  /**
   * Calls `FetchJWTSVID`.
   * @throws WorkloadApiError with the gRPC status when the call fails
   */
  fetchJWTSVID(request: { audience: readonly string[]; spiffe_id?: string }, options: CallOptions): Promise<JWTSVIDResponse>;
  /** Opens `FetchJWTBundles`; the caller consumes the stream and cancels it when done. */
  fetchJWTBundles(options: CallOptions): grpc.ClientReadableStream<JWTBundlesResponse>;
  /**
   * Calls `ValidateJWTSVID`.
   * @throws WorkloadApiError with the gRPC status (INVALID_ARGUMENT when the token is not valid)
   */
  validateJWTSVID(request: { audience: string; svid: string }, options: CallOptions): Promise<ValidateJWTSVIDResponse>;
  /** Closes the channel; open calls are cancelled. */
  close(): void;
}

/** Options of {@link createWorkloadClient}. */
export interface WorkloadClientOptions {
  /** Absolute path of the agent's socket. */
  readonly socketPath: string;
}

/** Creates a client for the agent listening on `socketPath`. Connecting is lazy. */
export function createWorkloadClient(options: WorkloadClientOptions): WorkloadClient {
  const service = workloadApiDefinition();
  const client = new grpc.Client(`unix:${options.socketPath}`, grpc.credentials.createInsecure(), {
    interceptors: [securityHeaderInterceptor],
  });
  return {
    fetchX509SVID(call) {
      const method = service.FetchX509SVID;
      if (!method) throw new AgentError('INTERNAL', 'FetchX509SVID missing from workload.proto');
      return client.makeServerStreamRequest(
        method.path,
        method.requestSerialize,
        // grpc-js types decoded messages as `object`; the shape is fixed by workload.proto.
        (bytes: Buffer) => method.responseDeserialize(bytes) as X509SVIDResponse,
        {},
        new grpc.Metadata(),
        { deadline: call.deadline },
      );
    },
    fetchJWTSVID: (request, call) => unary<JWTSVIDResponse>('FetchJWTSVID', request, call),
    fetchJWTBundles(call) {
      const method = methodOf('FetchJWTBundles');
      const decode = (bytes: Buffer) => method.responseDeserialize(bytes) as JWTBundlesResponse;
      return client.makeServerStreamRequest(method.path, method.requestSerialize, decode, {}, new grpc.Metadata(), {
        deadline: call.deadline,
      });
    },
    validateJWTSVID: (request, call) => unary<ValidateJWTSVIDResponse>('ValidateJWTSVID', request, call),
    close: () => client.close(),
  };

  function methodOf(name: string) {
    const method = service[name];
    if (!method) throw new AgentError('INTERNAL', `${name} missing from workload.proto`);
    return method;
  }

  function unary<T>(name: string, request: object, call: CallOptions): Promise<T> {
    const method = methodOf(name);
    // grpc-js types decoded messages as `object`; the shape is fixed by workload.proto.
    const decode = (bytes: Buffer) => method.responseDeserialize(bytes) as T;
    return new Promise<T>((resolve, reject) => {
      client.makeUnaryRequest(
        method.path,
        method.requestSerialize,
        decode,
        request,
        new grpc.Metadata(),
        { deadline: call.deadline },
        (err, value) => {
          if (err) reject(new WorkloadApiError(err.code, err.details || err.message, { cause: err }));
          else if (value === undefined) reject(new WorkloadApiError(grpc.status.INTERNAL, 'empty response'));
          else resolve(value);
        },
      );
    });
  }
}

/** Options of {@link fetchX509Once}. */
export interface FetchX509OnceOptions {
  /** Absolute path of the agent's socket. */
  readonly socketPath: string;
  /** How long to wait for the first message, in ms. */
  readonly timeoutMs: number;
}

/**
 * Opens `FetchX509SVID`, returns the first message and cancels the stream (like
 * `spire-agent api fetch x509`).
 * @throws WorkloadApiError with the gRPC status when the call fails (UNAVAILABLE when nothing
 *   listens on the socket, PERMISSION_DENIED "no identity issued", DEADLINE_EXCEEDED on timeout),
 *   or when the stream ends without a message
 */
export async function fetchX509Once(options: FetchX509OnceOptions): Promise<X509SVIDResponse> {
  const client = createWorkloadClient({ socketPath: options.socketPath });
  try {
    return await firstMessage(client.fetchX509SVID({ deadline: Date.now() + options.timeoutMs }));
  } finally {
    client.close();
  }
}

/**
 * The first message of a server stream, which is then cancelled (what `api fetch` reads).
 * @throws WorkloadApiError with the gRPC status when the call fails, or when the stream ends
 *   without a message
 */
export function firstMessage<T>(stream: grpc.ClientReadableStream<T>): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    stream.on('data', (message: T) => {
      if (settled) return;
      settled = true;
      resolve(message);
      stream.cancel();
    });
    stream.on('error', (err: grpc.ServiceError) => {
      if (settled) return; // our own cancel() after the first message
      settled = true;
      reject(new WorkloadApiError(err.code, err.details || err.message, { cause: err }));
    });
    // A failed call emits 'error' before 'status'; an OK status first means a stream that just ended.
    stream.on('status', (status: grpc.StatusObject) => {
      if (settled) return;
      settled = true;
      reject(new WorkloadApiError(status.code, status.details || 'the stream ended without a message'));
    });
  });
}
