#!/usr/bin/python3
"""Interop client for tether.ca.v1.CertificateAuthority built on gRPC C-core (python3-grpcio).

Run it with Debian's /usr/bin/python3 (python3-grpcio, python3-protobuf, python3-cryptography).
It compiles nothing: --stubs names a directory holding tether/ca/v1/ca_pb2{,_grpc}.py generated
with `python3 -m grpc_tools.protoc`.

It makes its own EC P-256 key and a CSR without SANs (the CA decides the identity), redeems a join
token with SignCertificate over TLS, reads the first WatchTrustBundle message, writes
OUT/chain.pem (leaf first) and OUT/key.pem, and prints one JSON line.

Exit codes: 0 success, 3 gRPC error (status name and details on stderr), 1 anything else.
"""

import argparse
import json
import os
import sys

EXIT_GRPC_ERROR = 3
TIMEOUT_SECONDS = 10


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--address", required=True, help="host:port of the CA's gRPC endpoint")
    p.add_argument("--bundle", required=True, help="PEM trust bundle used to verify the CA's TLS certificate")
    p.add_argument("--join-token-file", required=True, help="file whose first line is the join token")
    p.add_argument("--out-dir", required=True, help="directory for chain.pem and key.pem")
    p.add_argument("--stubs", required=True, help="directory holding the generated tether/ca/v1 stubs")
    p.add_argument("--server-name", default="localhost", help="name checked against the CA's certificate")
    return p.parse_args()


def main():
    args = parse_args()
    sys.path.insert(0, os.path.abspath(args.stubs))

    import grpc
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from tether.ca.v1 import ca_pb2, ca_pb2_grpc

    with open(args.bundle, "rb") as f:
        bundle_pem = f.read()
    with open(args.join_token_file, "r", encoding="utf-8") as f:
        lines = f.read().splitlines()
    token = lines[0].strip() if lines else ""

    key = ec.generate_private_key(ec.SECP256R1())
    csr = x509.CertificateSigningRequestBuilder().subject_name(x509.Name([])).sign(key, hashes.SHA256())
    csr_der = csr.public_bytes(serialization.Encoding.DER)

    credentials = grpc.ssl_channel_credentials(root_certificates=bundle_pem)
    options = [
        ("grpc.ssl_target_name_override", args.server_name),
        # The CA is on loopback: never route it through an http(s)_proxy from the environment.
        ("grpc.enable_http_proxy", 0),
    ]
    with grpc.secure_channel(args.address, credentials, options=options) as channel:
        stub = ca_pb2_grpc.CertificateAuthorityStub(channel)
        try:
            resp = stub.SignCertificate(
                ca_pb2.SignCertificateRequest(csr=csr_der, join_token=token),
                timeout=TIMEOUT_SECONDS,
                wait_for_ready=False,
            )
            watch = stub.WatchTrustBundle(ca_pb2.WatchTrustBundleRequest(), timeout=TIMEOUT_SECONDS)
            try:
                first = next(watch, None)
            finally:
                watch.cancel()
        except grpc.RpcError as err:
            code = err.code()
            print(f"gRPC error: {code.name if code else 'UNKNOWN'}: {err.details()}", file=sys.stderr)
            for k, v in err.trailing_metadata() or ():
                if k.startswith("tether-"):
                    print(f"{k}: {v}", file=sys.stderr)
            return EXIT_GRPC_ERROR

    if first is None:
        print("WatchTrustBundle ended without sending a bundle", file=sys.stderr)
        return 1
    chain = [x509.load_der_x509_certificate(bytes(der)) for der in resp.cert_chain]
    if not chain:
        print("SignCertificate returned an empty cert_chain", file=sys.stderr)
        return 1
    leaf_key = chain[0].public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    own_key = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)

    os.makedirs(args.out_dir, exist_ok=True)
    with open(os.path.join(args.out_dir, "chain.pem"), "wb") as f:
        for cert in chain:
            f.write(cert.public_bytes(serialization.Encoding.PEM))
    key_path = os.path.join(args.out_dir, "key.pem")
    with open(os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as f:
        f.write(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )

    print(
        json.dumps(
            {
                "spiffe_id": resp.spiffe_id,
                "expires_at_unix": resp.expires_at_unix,
                "chain_len": len(chain),
                "response_bundle_roots": len(resp.trust_bundle),
                "leaf_key_matches_csr": leaf_key == own_key,
                "bundle_sequence": first.sequence,
                "bundle_roots": len(first.roots),
            }
        ),
        flush=True,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
