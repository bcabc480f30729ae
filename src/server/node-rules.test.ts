import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import { status } from '@grpc/grpc-js';
import { AgentError } from '../errors.js';
import { workloadIdentityFor } from '../identity.js';
import type { RenewalTicket } from '../issuer/index.js';
import type { ValidatedToken } from '../token-validator.js';
import { NODE_REASONS, NodeServiceError, reasonOf } from './node-errors.js';
import {
  agentNodeOf,
  bearerToken,
  checkNotOwnName,
  checkTicketMatchesEvidence,
  checkTicketRenewal,
  checkWorkloadBinding,
  isApiUnreachable,
  type PresentedSvid,
} from './node-rules.js';
import { nodeServiceStatus } from './node-status.js';

const naming = { trustDomain: 'cluster.local', identityDomain: 'identity.linkerd.cluster.local' };
const AGENT = { namespace: 'svid-agent', name: 'svid-agent' };
const token = (o: Partial<ValidatedToken> = {}): ValidatedToken => ({
  account: { type: 'serviceaccount', namespace: 'emojivoto', name: 'web' },
  audiences: ['identity.l5d.io'],
  podUid: 'pod-1',
  nodeName: 'n1',
  ...o,
});

/** Runs `f`, expects a NodeServiceError with `reason`, and returns the status it maps to. */
function refusal(f: () => unknown, reason: string): status {
  try {
    f();
  } catch (err) {
    assert.ok(err instanceof NodeServiceError, String(err));
    assert.equal(err.reason, reason);
    return nodeServiceStatus(err).code;
  }
  assert.fail(`expected a refusal with reason ${reason}`);
}

describe('the agent token', () => {
  test('is one Bearer value, else UNAUTHENTICATED', () => {
    assert.equal(bearerToken(['Bearer abc']), 'abc');
    assert.equal(bearerToken(['bearer  abc']), 'abc');
    for (const values of [[], [''], ['abc'], ['Bearer '], ['Bearer a b'], ['Bearer a', 'Bearer b'], [Buffer.from('Bearer a')]]) {
      assert.equal(
        refusal(() => bearerToken(values), NODE_REASONS.noAgentToken),
        status.UNAUTHENTICATED,
      );
    }
  });

  test('speaks for its node only when it is the agent account’s, bound to a pod and a node', () => {
    const agent = token({ account: { type: 'serviceaccount', ...AGENT } });
    assert.equal(agentNodeOf(agent, AGENT), 'n1');
    assert.equal(
      refusal(() => agentNodeOf(token(), AGENT), NODE_REASONS.agentWrongAccount),
      status.PERMISSION_DENIED,
    );
    const user = { ...agent, account: { type: 'user', ...AGENT } };
    assert.equal(
      refusal(() => agentNodeOf(user, AGENT), NODE_REASONS.agentWrongAccount),
      status.PERMISSION_DENIED,
    );
    const { nodeName: _n, ...noNode } = agent;
    assert.equal(
      refusal(() => agentNodeOf(noNode, AGENT), NODE_REASONS.agentTokenNotBound),
      status.PERMISSION_DENIED,
    );
    const { podUid: _p, ...noPod } = agent;
    assert.equal(
      refusal(() => agentNodeOf(noPod, AGENT), NODE_REASONS.agentTokenNotBound),
      status.PERMISSION_DENIED,
    );
  });
});

test('a workload token binds to the agent’s node and the named pod, or is refused with PERMISSION_DENIED', () => {
  checkWorkloadBinding(token(), 'POD-1', 'n1');
  const cases: Array<[ValidatedToken, string, string, string]> = [
    [token({ account: { type: 'user', namespace: 'a', name: 'b' } }), 'pod-1', 'n1', NODE_REASONS.workloadNotServiceAccount],
    [{ ...token(), podUid: undefined }, 'pod-1', 'n1', NODE_REASONS.workloadNotBoundToPod],
    [token(), 'pod-2', 'n1', NODE_REASONS.workloadOtherPod],
    [{ ...token(), nodeName: undefined }, 'pod-1', 'n1', NODE_REASONS.workloadNotBoundToNode],
    [token({ nodeName: 'n2' }), 'pod-1', 'n1', NODE_REASONS.workloadOtherNode],
  ];
  for (const [t, pod, node, reason] of cases) {
    assert.equal(
      refusal(() => checkWorkloadBinding(t, pod, node), reason),
      status.PERMISSION_DENIED,
    );
  }
});

test('the issuer’s own names are refused in either form', () => {
  const own = {
    dnsName: 'linkerd-identity.linkerd.serviceaccount.identity.linkerd.cluster.local',
    spiffeId: 'spiffe://cluster.local/ns/linkerd/sa/linkerd-identity',
  };
  const identity = workloadIdentityFor({ type: 'serviceaccount', namespace: 'linkerd', name: 'linkerd-identity' }, naming);
  assert.equal(
    refusal(() => checkNotOwnName(identity, own), NODE_REASONS.ownName),
    status.PERMISSION_DENIED,
  );
  assert.equal(
    refusal(() => checkNotOwnName(identity, { ...own, dnsName: 'issuer.example' }), NODE_REASONS.ownName),
    status.PERMISSION_DENIED,
  );
  checkNotOwnName(workloadIdentityFor({ type: 'serviceaccount', namespace: 'emojivoto', name: 'web' }, naming), own);
});

describe('renewal on a ticket alone', () => {
  const NOW = 1_000_000;
  const fingerprint = randomBytes(32);
  const ticket: RenewalTicket = {
    spiffeId: 'spiffe://cluster.local/ns/emojivoto/sa/web',
    node: 'n1',
    keyFingerprint: fingerprint,
    attestedAtMs: NOW - 1000,
    expiresAtMs: NOW + 1000,
  };
  const presented: PresentedSvid = {
    keyFingerprint: fingerprint,
    spiffeIds: [ticket.spiffeId],
    signedByKnownIssuer: true,
    proofValid: true,
  };
  const check = (o: {
    verified?: Parameters<typeof checkTicketRenewal>[0];
    now?: number;
    agentNode?: string;
    presented?: Partial<PresentedSvid>;
  }) =>
    checkTicketRenewal(o.verified ?? { ticket, keyIndex: 0 }, {
      now: o.now ?? NOW,
      agentNode: o.agentNode,
      presented: { ...presented, ...o.presented },
    });

  test('renews the ticket’s identity while the ticket lasts, from any node when no agent could be reviewed', () => {
    assert.equal(check({}), ticket);
    assert.equal(check({ agentNode: 'n1' }), ticket);
  });

  test('refuses, in order: ticket malformed, unknown, expired, of another node, another certificate, no proof', () => {
    const cases: Array<[Parameters<typeof check>[0], string]> = [
      [{ verified: 'malformed' }, NODE_REASONS.ticketMalformed],
      [{ verified: 'unknown_key' }, NODE_REASONS.ticketUnknownKey],
      [{ now: NOW + 1000 }, NODE_REASONS.ticketExpired],
      [{ agentNode: 'n2' }, NODE_REASONS.ticketOtherNode],
      [{ presented: { keyFingerprint: randomBytes(32) } }, NODE_REASONS.certificateMismatch],
      [{ presented: { signedByKnownIssuer: false } }, NODE_REASONS.certificateMismatch],
      [{ presented: { spiffeIds: ['spiffe://cluster.local/ns/emojivoto/sa/other'] } }, NODE_REASONS.certificateMismatch],
      [{ presented: { spiffeIds: [ticket.spiffeId, ticket.spiffeId] } }, NODE_REASONS.certificateMismatch],
      [{ presented: { proofValid: false } }, NODE_REASONS.proofInvalid],
    ];
    for (const [input, reason] of cases)
      assert.equal(
        refusal(() => check(input), reason),
        status.PERMISSION_DENIED,
      );
  });

  test('with fresh evidence a verified ticket must be this node’s and identity’s; an unverifiable one is ignored', () => {
    const web = workloadIdentityFor({ type: 'serviceaccount', namespace: 'emojivoto', name: 'web' }, naming);
    checkTicketMatchesEvidence({ ticket, keyIndex: 0 }, 'n1', web);
    checkTicketMatchesEvidence('unknown_key', 'n2', web);
    assert.equal(
      refusal(() => checkTicketMatchesEvidence({ ticket, keyIndex: 0 }, 'n2', web), NODE_REASONS.ticketOtherNode),
      status.PERMISSION_DENIED,
    );
    const other = workloadIdentityFor({ type: 'serviceaccount', namespace: 'emojivoto', name: 'db' }, naming);
    assert.equal(
      refusal(() => checkTicketMatchesEvidence({ ticket, keyIndex: 0 }, 'n1', other), NODE_REASONS.ticketOtherIdentity),
      status.PERMISSION_DENIED,
    );
  });
});

test('only network failures, timeouts, 5xx and 429 count as the API being unreachable', () => {
  const failed = (httpStatus: number | undefined) => Object.assign(new AgentError('TOKEN_REVIEW_FAILED', 'x'), { httpStatus });
  assert.equal(isApiUnreachable(failed(undefined)), true);
  assert.equal(isApiUnreachable(failed(503)), true);
  assert.equal(isApiUnreachable(failed(429)), true);
  assert.equal(isApiUnreachable(failed(403)), false, "the issuer's own request refused");
  assert.equal(isApiUnreachable(new AgentError('TOKEN_REVIEW_FAILED', 'no status in the answer')), false);
  assert.equal(isApiUnreachable(new AgentError('TOKEN_INVALID', 'x')), false);
});

test('one status mapping: every code the node service throws', () => {
  const cases: Array<[unknown, status, string]> = [
    [new NodeServiceError('AGENT_NOT_AUTHENTICATED', NODE_REASONS.noAgentToken, 'm'), status.UNAUTHENTICATED, 'no_agent_token'],
    [new NodeServiceError('NOT_PERMITTED', NODE_REASONS.ownName, 'm'), status.PERMISSION_DENIED, 'own_name'],
    [new NodeServiceError('RATE_LIMITED', NODE_REASONS.rateLimited, 'm'), status.RESOURCE_EXHAUSTED, 'rate_limited'],
    [new AgentError('INVALID_REQUEST', 'm'), status.INVALID_ARGUMENT, 'invalid_request'],
    [new AgentError('TOKEN_REVIEW_FAILED', 'm'), status.UNAVAILABLE, 'api_unavailable'],
    [new AgentError('ISSUER_NOT_READY', 'm'), status.UNAVAILABLE, 'issuer_not_ready'],
    [new AgentError('NOT_IMPLEMENTED', 'm'), status.UNIMPLEMENTED, 'not_implemented'],
    [new AgentError('CANCELLED', 'm'), status.CANCELLED, 'cancelled'],
    [new AgentError('SIGNING_FAILED', 'm'), status.INTERNAL, 'internal'],
    [new Error('boom'), status.INTERNAL, 'internal'],
  ];
  for (const [err, code, reason] of cases) {
    assert.equal(nodeServiceStatus(err).code, code, String(err));
    assert.equal(reasonOf(err), reason);
  }
  assert.equal(nodeServiceStatus(new Error('secret detail')).details, 'internal error');
});
