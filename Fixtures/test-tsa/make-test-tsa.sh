#!/bin/sh
# Makes the TEST-ONLY time-stamping authority of Fixtures/test-tsa: a P-256 root ("SealKit Test TSA
# Root") and a P-256 TSA certificate it signs (extended key usage timeStamping, critical, as RFC 3161
# §2.3 requires), plus tsa.cnf, the configuration `openssl ts -reply` needs to act as the TSA.
# The outputs are committed; run this only to replace them (the tests read the committed files).
set -eu
cd "$(dirname "$0")"
openssl ecparam -name prime256v1 -genkey -noout -out root-key.pem
openssl req -new -x509 -key root-key.pem -sha256 -days 36500 -subj "/O=SealKit/CN=SealKit Test TSA Root" \
    -addext "basicConstraints=critical,CA:true" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -set_serial 1 -not_before 20250101000000Z -out root-cert.pem 2>/dev/null \
  || openssl req -new -x509 -key root-key.pem -sha256 -days 36500 -subj "/O=SealKit/CN=SealKit Test TSA Root" \
    -addext "basicConstraints=critical,CA:true" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -set_serial 1 -out root-cert.pem
openssl ecparam -name prime256v1 -genkey -noout -out tsa-key.pem
openssl req -new -key tsa-key.pem -subj "/O=SealKit/CN=SealKit Test TSA" -out tsa.csr
cat > tsa-ext.cnf <<'EXT'
basicConstraints=critical,CA:false
keyUsage=critical,digitalSignature
extendedKeyUsage=critical,timeStamping
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid
EXT
openssl x509 -req -in tsa.csr -CA root-cert.pem -CAkey root-key.pem -set_serial 2 -sha256 -days 36500 \
    -extfile tsa-ext.cnf -out tsa-cert.pem
rm -f tsa.csr tsa-ext.cnf
cat > tsa.cnf <<'CNF'
# The TEST-ONLY TSA for `openssl ts -reply -config tsa.cnf`. Set SEALKIT_TEST_TSA_DIR to this
# directory and SEALKIT_TEST_TSA_SERIAL to a writable serial file (openssl counts serials in it).
[ tsa ]
default_tsa = test_tsa

[ test_tsa ]
dir = $ENV::SEALKIT_TEST_TSA_DIR
serial = $ENV::SEALKIT_TEST_TSA_SERIAL
signer_cert = $dir/tsa-cert.pem
certs = $dir/tsa-cert.pem
signer_key = $dir/tsa-key.pem
signer_digest = sha256
default_policy = 1.3.6.1.4.1.55555.1.1
digests = sha256
accuracy = secs:1
ordering = no
tsa_name = no
ess_cert_id_chain = no
ess_cert_id_alg = sha256
CNF
echo "made root-cert.pem, tsa-cert.pem, tsa-key.pem, tsa.cnf"
