#!/bin/sh
# Lotse's init step on a Temporal cluster: waits until the frontend answers, creates the
# namespace if it is missing and registers the search attributes of DESIGN.md, then exits 0.
# Idempotent: it runs on every `docker compose up` and may run on every deploy. Run with the
# `temporal` CLI of temporalio/admin-tools; it reads the CLI's own TEMPORAL_ADDRESS and
# TEMPORAL_NAMESPACE (which must be Lotse's LOTSE_TEMPORAL_ADDRESS and LOTSE_TEMPORAL_NAMESPACE).
set -eu

: "${TEMPORAL_ADDRESS:?TEMPORAL_ADDRESS must name the Temporal frontend, e.g. temporal:7233}"
: "${TEMPORAL_NAMESPACE:=default}"
export TEMPORAL_ADDRESS TEMPORAL_NAMESPACE

# retry N CMD...: run CMD until it succeeds, at most N times, 2 s apart. A fresh cluster answers
# health checks before it serves every call, and a new namespace takes a few seconds to appear.
retry() {
  attempts=$1
  shift
  n=1
  until "$@"; do
    if [ "$n" -ge "$attempts" ]; then
      echo "failed after $attempts attempts: $*" >&2
      return 1
    fi
    n=$((n + 1))
    sleep 2
  done
}

echo "waiting for Temporal at $TEMPORAL_ADDRESS"
retry 90 temporal operator cluster health

if ! temporal operator namespace describe --namespace "$TEMPORAL_NAMESPACE" >/dev/null 2>&1; then
  echo "creating namespace $TEMPORAL_NAMESPACE"
  retry 10 temporal operator namespace create --namespace "$TEMPORAL_NAMESPACE" \
    --retention "${TEMPORAL_NAMESPACE_RETENTION:-30d}"
fi

# The case search attributes (worker/devserver.py SEARCH_ATTRIBUTES; tests/system/test_deploy.py checks
# that this list is exactly that one). Re-registering one with the same type is a no-op.
retry 30 temporal operator search-attribute create --namespace "$TEMPORAL_NAMESPACE" --name CaseStage --type Keyword
retry 30 temporal operator search-attribute create --namespace "$TEMPORAL_NAMESPACE" --name MunicipalityId --type Keyword
retry 30 temporal operator search-attribute create --namespace "$TEMPORAL_NAMESPACE" --name CentreId --type Keyword
retry 30 temporal operator search-attribute create --namespace "$TEMPORAL_NAMESPACE" --name CounsellorId --type Keyword
retry 30 temporal operator search-attribute create --namespace "$TEMPORAL_NAMESPACE" --name NextReviewDue --type Datetime
retry 30 temporal operator search-attribute create --namespace "$TEMPORAL_NAMESPACE" --name ReviewOverdue --type Bool

echo "Temporal namespace $TEMPORAL_NAMESPACE is ready for Lotse"
