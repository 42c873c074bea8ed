#!/bin/bash
# Measures what a TLS client costs a static musl binary built like /init
# (opt-level z, fat LTO, panic abort, stripped): one binary that fetches
# over plain TCP, one that does the same through rustls with ring. The
# difference is the figure docs/decisions/0019 asks for. Needs crates.io.
set -euo pipefail
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
mkdir -p "$dir/src/bin"
cat > "$dir/Cargo.toml" <<'TOML'
[package]
name = "tlssize"
version = "0.1.0"
edition = "2021"
[dependencies]
rustls = { version = "0.23", default-features = false, features = ["ring", "std", "tls12"] }
[profile.release]
opt-level = "z"
lto = "fat"
codegen-units = 1
panic = "abort"
strip = true
TOML
cat > "$dir/src/bin/plain.rs" <<'RS'
use std::io::{Read, Write};
fn main() {
    let a = std::env::args().nth(1).unwrap_or_default();
    let mut s = std::net::TcpStream::connect(a.as_str()).unwrap();
    s.write_all(b"GET / HTTP/1.1\r\n\r\n").unwrap();
    let mut b = Vec::new();
    s.read_to_end(&mut b).unwrap();
    println!("{}", b.len());
}
RS
cat > "$dir/src/bin/tls.rs" <<'RS'
use std::io::{Read, Write};
use std::sync::Arc;
fn main() {
    let a = std::env::args().nth(1).unwrap_or_default();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let cfg = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(rustls::RootCertStore::empty())
        .with_no_client_auth();
    let name = rustls::pki_types::ServerName::try_from("10.77.0.1").unwrap().to_owned();
    let mut c = rustls::ClientConnection::new(Arc::new(cfg), name).unwrap();
    let mut s = std::net::TcpStream::connect(a.as_str()).unwrap();
    let mut t = rustls::Stream::new(&mut c, &mut s);
    t.write_all(b"GET / HTTP/1.1\r\n\r\n").unwrap();
    let mut b = Vec::new();
    t.read_to_end(&mut b).unwrap();
    println!("{}", b.len());
}
RS
(cd "$dir" && nice -n 19 cargo build -q --release --target x86_64-unknown-linux-musl)
out="$dir/target/x86_64-unknown-linux-musl/release"
plain=$(stat -c %s "$out/plain")
tls=$(stat -c %s "$out/tls")
echo "plain TCP: $plain bytes; rustls+ring: $tls bytes; TLS adds $((tls - plain)) bytes"
