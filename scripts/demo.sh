#!/usr/bin/env bash
# The main job: a full enrollment against the built-in virtual card, on the embedded SQLite default.
#
# Sets everything up (packages, face models, build), creates a test country PKI and the enrollment
# CA, starts pcscd + vpcd with a virtual ID card (portrait from ../shared/faces/johns in DG2, EF.SOD
# signed by the test document signer) and enrolld, then enrolls: the card is read and proven
# genuine, another photo of the same person is matched as the live photo, and the account reaches
# the signing tier with an X.509 certificate. Prints the result and the certificate.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
scripts/setup.sh
swift build -q 2>&1 | grep -v "warning: prohibited flag" || true
swift build -q
bin=$root/.build/debug
johns=${ENROLLD_FACES:-$root/../shared/faces/johns}
[ -d "$johns" ] || { echo "demo: face photos not found at $johns (set ENROLLD_FACES)" >&2; exit 1; }
work=$(mktemp -d /tmp/enrolld-demo.XXXXXX)
export ENROLLD_BENCH_DIR=$work/bench
daemon_pid=
cleanup() {
    if [ -n "$daemon_pid" ]; then kill "$daemon_pid" 2>/dev/null || true; wait "$daemon_pid" 2>/dev/null || true; fi
    scripts/bench.sh stop >/dev/null || true
}
trap cleanup EXIT

echo "== test country PKI and enrollment CA (in $work)"
"$bin/enroll-vcard" pki init "$work/pki"
cat >"$work/enrolld.conf" <<CONF
[daemon]
state_directory = $work/state
[trust]
directory = $work/pki/trust
[tiers]
basic_name = Level 1
signing_name = Level 2
[readers]
pcsc_retry_seconds = 0.3
# The demo has no camera, only a still photo, which no liveness step may pass (the signing tier needs the liveness
# step by default). A kiosk keeps the default; the liveness step end to end is HILTests.LivenessFlowTests.
[liveness]
required_for = none
CONF
"$bin/enrolld" --config "$work/enrolld.conf" ca init --name "enrolld Demo Signing CA" >/dev/null
echo "CA: $work/state/ca/ca.pem"

portrait=$johns/John_Salley/000179_02159509.jpg
live=$johns/John_Salley/000194_02159572.jpg
mrz1='I<UTOD231458907<<<<<<<<<<<<<<<'
mrz2='9008124F3204153UTO<<<<<<<<<<<0'
mrz3='SALLEY<<JOHN<<<<<<<<<<<<<<<<<<'
cat >"$work/card.json" <<CARD
{ "kind": "emrtd",
  "mrz": ["$mrz1", "$mrz2", "$mrz3"],
  "portrait": "@$portrait",
  "dg11": { "fullName": "SALLEY JOHN", "personalNumber": "UTO-1990-0001" },
  "dg12": { "issuingAuthority": "UTOPIA IDENTITY OFFICE", "dateOfIssue": "20220415" },
  "documentSigner": { "certificate": "@$work/pki/dsc.pem", "key": "@$work/pki/dsc.key" } }
CARD

echo "== starting the bench (pcscd + vpcd + virtual ID card)"
scripts/bench.sh start "$work/card.json"
sock=$work/api.sock
"$bin/enrolld" --config "$work/enrolld.conf" --socket "$sock" 2>"$work/enrolld.log" &
daemon_pid=$!
for _ in $(seq 100); do "$bin/enrollctl" --socket "$sock" health >/dev/null 2>&1 && break; sleep 0.1; done
for _ in $(seq 100); do "$bin/enrollctl" --socket "$sock" readers | grep -q "card present" && break; sleep 0.1; done
"$bin/enrollctl" --socket "$sock" readers

echo "== the holder's key pair and CSR (on the holder's device in real life)"
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=holder device" \
    -keyout "$work/holder.key" -out "$work/holder.csr" 2>/dev/null

echo "== enrollment: tap the card, look at the camera (one photo: the demo runs without the liveness step)"
"$bin/enrollctl" --socket "$sock" enroll --reader "Virtual PCD 00 00" --mrz "$(printf '%s\n%s\n%s' "$mrz1" "$mrz2" "$mrz3")" \
    --photo "$live" --csr "$work/holder.csr" --cert-out "$work/certificate.pem" --json | tee "$work/outcome.json"
account=$(sed -n 's/.*"accountID" : "\([^"]*\)".*/\1/p' "$work/outcome.json")

echo "== the account"
"$bin/enrollctl" --socket "$sock" accounts show "$account" | sed 's/"pem":"[^"]*"/"pem":"…"/'
echo
echo "== the certificate"
openssl x509 -in "$work/certificate.pem" -noout -subject -issuer -serial -dates -ext keyUsage,basicConstraints
openssl verify -CAfile "$work/state/ca/ca.pem" "$work/certificate.pem"
cat "$work/certificate.pem"
