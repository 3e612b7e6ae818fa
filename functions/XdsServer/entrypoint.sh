#!/bin/sh
# ECS hands the TLS files over as secrets (ADS_TLS_*); the server reads files, so each is written first, readable by
# the server alone, and named in its configuration.
set -eu
dir=/tmp/ads-tls
mkdir -p "$dir" && chmod 700 "$dir"
write() {
  if [ -n "$(printenv "$1" || true)" ]; then
    printenv "$1" > "$dir/$2" && chmod 600 "$dir/$2"
    export "$3=$dir/$2"
  fi
}
write ADS_TLS_CERTIFICATE_CHAIN cert.pem Ads__Tls__CertificateChain
write ADS_TLS_PRIVATE_KEY key.pem Ads__Tls__PrivateKey
write ADS_TLS_CLIENT_CA ca.pem Ads__Tls__ClientCa
exec dotnet /app/Mesh.XdsServer.dll "$@"
