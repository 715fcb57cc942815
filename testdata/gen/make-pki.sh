#!/bin/sh
# make-pki.sh OUTDIR — creates the RSA test PKI used by the corpus and by tests. Files that
# already exist are kept (so signed corpus files stay valid); delete OUTDIR to start over.
#   ca.key / ca.pem            self-signed test root CA (RSA-3072, 20 years)
#   signer.key / signer.pem    end-entity signing certificate issued by the CA (RSA-2048)
#   signer.p12                 signer key + cert + CA cert, password "test"
#   tsa.key / tsa.pem          time-stamping unit (critical EKU timeStamping), for RFC 3161 tests
#   ocsp.key / ocsp.pem        delegated OCSP responder (EKU OCSPSigning, id-pkix-ocsp-nocheck)
#   ca.crl                     CRL of the CA revoking nothing, valid for about 19 years
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
[tsa_ext]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, nonRepudiation
extendedKeyUsage = critical, timeStamping
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[ocsp_ext]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = OCSPSigning
noCheck = ignored
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[ca]
default_ca = testca
[testca]
database = crl-index.txt
crlnumber = crl-number.txt
default_md = sha256
default_crl_days = 7000
CNF

if [ ! -f ca.key ]; then
	openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:3072 -out ca.key
	openssl req -new -x509 -config ca.cnf -extensions ca_ext -key ca.key -sha256 \
		-days 7300 -set_serial 1 -out ca.pem
fi

# issue NAME SERIAL EXTENSION SUBJECT: an RSA-2048 certificate issued by the CA.
issue() {
	[ -f "$1.pem" ] && return 0
	openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$1.key"
	openssl req -new -key "$1.key" -utf8 -subj "$4" -out "$1.csr"
	openssl x509 -req -in "$1.csr" -CA ca.pem -CAkey ca.key -set_serial "$2" -days 7000 \
		-sha256 -extfile ca.cnf -extensions "$3" -out "$1.pem"
	rm "$1.csr"
}
issue signer 2 signer_ext "/C=VN/O=Vanban Test PKI/CN=Nguyễn Văn Thử"
issue tsa 3 tsa_ext "/C=VN/O=Vanban Test PKI/CN=Vanban Test TSA"
issue ocsp 4 ocsp_ext "/C=VN/O=Vanban Test PKI/CN=Vanban Test OCSP Responder"

if [ ! -f signer.p12 ]; then
	# AES-256/PBKDF2 PKCS#12 (OpenSSL 3 default) is what current Java and Go read.
	openssl pkcs12 -export -inkey signer.key -in signer.pem -certfile ca.pem \
		-name signer -passout pass:test -out signer.p12
fi

if [ ! -f ca.crl ]; then
	: > crl-index.txt
	echo 01 > crl-number.txt
	openssl ca -config ca.cnf -gencrl -keyfile ca.key -cert ca.pem -out ca.crl
	rm -f crl-index.txt crl-index.txt.attr crl-index.txt.old crl-number.txt crl-number.txt.old
fi
