#!/bin/sh
# A Helm post-renderer for Linkerd's control-plane chart while svid-agent issuer serves its
# identity (docs/linkerd-identity.md). `helm upgrade` would otherwise set the linkerd-identity
# Deployment back to controllerReplicas; this keeps it at 0 and changes nothing else:
#
#   helm upgrade linkerd-control-plane linkerd/linkerd-control-plane --reuse-values \
#     --post-renderer daemonset/linkerd-identity/helm-post-renderer.sh
#
# Reads the rendered manifests on stdin, writes them to stdout. Needs kubectl (its kustomize).
set -eu
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cat >"$dir/rendered.yaml"
cat >"$dir/kustomization.yaml" <<'KUSTOMIZATION'
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - rendered.yaml
patches:
  - target:
      group: apps
      kind: Deployment
      name: linkerd-identity
    patch: |-
      - op: add
        path: /spec/replicas
        value: 0
KUSTOMIZATION
kubectl kustomize "$dir"
