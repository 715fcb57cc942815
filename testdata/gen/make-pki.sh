#!/bin/sh
# make-pki.sh OUTDIR — creates the RSA test PKI used by the corpus and by tests:
#   ca.key / ca.pem            self-signed test root CA (RSA-3072, 20 years)
#   signer.key / signer.pem    end-entity signing certificate issued by the CA (RSA-2048)
#   signer.p12                 signer key + cert + CA cert, password "test"
# Everything here is TEST MATERIAL ONLY: the private keys are public in the repository.
# Long validity keeps committed test files verifiable for years without regenerating them.
set -eu
out=${1:?usage: make-pki.sh OUTDIR}
mkdir -p "$out"
cd "$out"

cat > ca.cnf <<'CNF'
[req]
distinguished_name = dn
prompt = no
string_mask = utf8only
utf8 = yes
[dn]
C = VN
O = Vanban Test PKI
CN = Vanban Test Root CA
[ca_ext]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[signer_ext]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, nonRepudiation
extendedKeyUsage = emailProtection, 1.3.6.1.4.1.311.10.3.12
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
CNF

openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:3072 -out ca.key
openssl req -new -x509 -config ca.cnf -extensions ca_ext -key ca.key -sha256 \
	-days 7300 -set_serial 1 -out ca.pem

openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out signer.key
openssl req -new -key signer.key -utf8 \
	-subj "/C=VN/O=Vanban Test PKI/CN=Nguyễn Văn Thử" -out signer.csr
openssl x509 -req -in signer.csr -CA ca.pem -CAkey ca.key -set_serial 2 -days 7000 \
	-sha256 -extfile ca.cnf -extensions signer_ext -out signer.pem
rm signer.csr

# -legacy is not used: AES-256/PBKDF2 PKCS#12 is what current Java and Go read.
openssl pkcs12 -export -inkey signer.key -in signer.pem -certfile ca.pem \
	-name signer -passout pass:test -out signer.p12
