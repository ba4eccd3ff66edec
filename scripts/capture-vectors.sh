#!/usr/bin/env bash
# Re-record the golden frames in protocol/tests/vectors/ from the official clients
# (Java rocketmq-client 5.3.3, Go rocketmq-client-go/v2 v2.1.2) and a real Apache
# RocketMQ 5.3.3 broker and name server. Developer tool; CI does not run it.
#
# Needs java 17, mvn, go and python3. Raw recordings stay in tests/compat/.cache/capture/.
# Set FERROMQ_VECTORS_DIR to write the curated set elsewhere (e.g. to diff against the
# committed one). Recorded frames contain client ids (IP@pid), timestamps and ports, so a
# re-capture differs from the committed files in those values.
set -euo pipefail
cd "$(dirname "$0")/.."
export FERROMQ_COMPAT_REQUIRED=1
cargo test -p ferromq-tests --test capture_vectors -- --ignored --nocapture
echo "vectors written to ${FERROMQ_VECTORS_DIR:-protocol/tests/vectors}"
