#!/bin/sh
# Makes a TEST qualified trust service provider and eIDAS QWACs (RSA 2048) in ./certs:
#   bank      organizationIdentifier PSDGB-FCA-900000, PSD2 role PSP_AS, DNS bank.example
#   tpp-ai    PSDGB-FCA-111111, PSP_AI (account information)   — also as tpp-ai.p12
#   tpp-pi    PSDGB-FCA-222222, PSP_PI (payment initiation) only
#   as        the authorization server's HTTPS certificate (DNS localhost)
# Each leaf carries QCStatements: QcCompliance, QcType web, and the ETSI TS 119 495 PSD2
# statement (roles, NCA name, NCA id). Never use these outside a test.
set -eu
cd "$(dirname "$0")"
mkdir -p certs
cd certs

openssl req -x509 -newkey rsa:2048 -nodes -keyout qtsp.key -out qtsp.pem -days 30 \
  -subj "/C=EU/O=Example QTSP/CN=Example QTSP Root" \
  -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null

# leaf NAME CN ORG_ID ROLE DNS
leaf() {
  name=$1 cn=$2 org=$3 role=$4 dns=$5
  {
    echo "[leaf]"
    echo "basicConstraints = critical,CA:FALSE"
    echo "keyUsage = critical,digitalSignature,keyEncipherment"
    echo "extendedKeyUsage = serverAuth,clientAuth"
    echo "subjectAltName = DNS:$dns"
    echo "1.3.6.1.5.5.7.1.3 = ASN1:SEQUENCE:qcs"
    echo "[qcs]"
    echo "compliance = SEQUENCE:qcCompliance"
    echo "type = SEQUENCE:qcType"
    if [ -n "$role" ]; then echo "psd2 = SEQUENCE:psd2"; fi
    echo "[qcCompliance]"
    echo "id = OID:0.4.0.1862.1.1"
    echo "[qcType]"
    echo "id = OID:0.4.0.1862.1.6"
    echo "types = SEQUENCE:qcTypes"
    echo "[qcTypes]"
    echo "web = OID:0.4.0.1862.1.6.3"
    echo "[psd2]"
    echo "id = OID:0.4.0.19495.2"
    echo "info = SEQUENCE:psd2Info"
    echo "[psd2Info]"
    echo "roles = SEQUENCE:roles"
    echo "ncaName = UTF8:Financial Conduct Authority"
    echo "ncaId = UTF8:GB-FCA"
    echo "[roles]"
    echo "r1 = SEQUENCE:role"
    echo "[role]"
    case "$role" in
      PSP_AS) echo "oid = OID:0.4.0.19495.1.1" ;;
      PSP_PI) echo "oid = OID:0.4.0.19495.1.2" ;;
      PSP_AI) echo "oid = OID:0.4.0.19495.1.3" ;;
      *) echo "oid = OID:0.4.0.19495.1.4" ;;
    esac
    echo "name = UTF8:${role:-PSP_IC}"
  } > "$name.ext"
  subj="/C=GB/O=$cn Ltd/CN=$cn"
  if [ -n "$org" ]; then subj="/C=GB/O=$cn Ltd/organizationIdentifier=$org/CN=$cn"; fi
  openssl req -new -newkey rsa:2048 -nodes -keyout "$name.key" -out "$name.csr" -subj "$subj" 2>/dev/null
  openssl x509 -req -in "$name.csr" -CA qtsp.pem -CAkey qtsp.key -CAcreateserial -days 30 -sha256 \
    -extfile "$name.ext" -extensions leaf -out "$name.pem" 2>/dev/null
  rm -f "$name.csr" "$name.ext"
  chmod 600 "$name.key"
}

leaf bank bank.example PSDGB-FCA-900000 PSP_AS bank.example
leaf tpp-ai tpp-ai.example PSDGB-FCA-111111 PSP_AI tpp-ai.example
leaf tpp-pi tpp-pi.example PSDGB-FCA-222222 PSP_PI tpp-pi.example
leaf as localhost "" "" localhost

printf 'change-me\n' > tpp-ai.pass
chmod 600 tpp-ai.pass
openssl pkcs12 -export -inkey tpp-ai.key -in tpp-ai.pem -certfile qtsp.pem -out tpp-ai.p12 -passout pass:change-me
chmod 600 tpp-ai.p12

for n in tpp-ai tpp-pi; do
  printf '%s=' "$n" >> subjects.txt.tmp
  openssl x509 -in "$n.pem" -noout -subject -nameopt RFC2253 | sed 's/^subject=//' >> subjects.txt.tmp
done
mv subjects.txt.tmp subjects.txt
echo "certificates in $(pwd)"
