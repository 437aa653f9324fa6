#!/usr/bin/env bash
# The TLS certificate of the sandbox's ACME CA (pebble) for the addresses where it is reached: the
# Docker bridge's gateway (the instances) and 127.0.0.1, signed by a CA of its own made once per sandbox.
#   acme_listener_cert.sh DIR PUBLIC_DIR GATEWAY
# DIR gets the keys and listener.pem; PUBLIC_DIR the CA's certificate, listener-ca.pem (what a client
# of the ACME API trusts). Does nothing when listener.pem already names GATEWAY; prints "changed" otherwise.
set -euo pipefail
dir=$1 public=$2 gateway=$3
umask 077
mkdir -p "$dir" "$public"
chmod 0755 "$public"
if [ -f "$dir/listener.pem" ] && openssl x509 -in "$dir/listener.pem" -noout -checkip "$gateway" | grep -q 'does match'; then
  exit 0
fi
if [ ! -f "$dir/ca-key.pem" ]; then
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 \
    -subj "/CN=spotkit sandbox ACME listener CA" -keyout "$dir/ca-key.pem" -out "$public/listener-ca.pem" 2>/dev/null
  chmod 0644 "$public/listener-ca.pem"
fi
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$gateway" \
  -keyout "$dir/listener-key.pem" -out "$dir/listener.csr" 2>/dev/null
openssl x509 -req -in "$dir/listener.csr" -CA "$public/listener-ca.pem" -CAkey "$dir/ca-key.pem" -CAserial "$dir/ca.srl" -CAcreateserial \
  -days 825 -out "$dir/listener.pem" 2>/dev/null \
  -extfile <(printf 'subjectAltName=IP:%s,IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\nbasicConstraints=critical,CA:FALSE\n' "$gateway")
rm -f "$dir/listener.csr"
echo changed
