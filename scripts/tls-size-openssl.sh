#!/bin/bash
# What a TLS client costs a static binary when the TLS stack is the one
# Debian ships (OpenSSL 3, libssl-dev): a plain TCP fetch and the same
# fetch through OpenSSL, both static, -Os, gc-sections, stripped. The
# difference is the figure docs/decisions/0019 records. Offline: needs only
# gcc and libssl-dev. scripts/tls-size.sh measures rustls (needs crates.io).
set -euo pipefail
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cat >"$dir/plain.c" <<'C'
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/socket.h>
int main(int argc, char **argv) {
    if (argc < 2) return 2;
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(80) };
    inet_pton(AF_INET, argv[1], &a.sin_addr);
    int s = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(s, (void *)&a, sizeof a)) return 1;
    const char *req = "GET / HTTP/1.1\r\n\r\n";
    if (write(s, req, strlen(req)) < 0) return 1;
    char buf[4096]; long n, t = 0;
    while ((n = read(s, buf, sizeof buf)) > 0) t += n;
    printf("%ld\n", t);
    return 0;
}
C
cat >"$dir/tls.c" <<'C'
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
/* TLS with the server certificate pinned by its SHA-256 (no CA store). */
int main(int argc, char **argv) {
    if (argc < 3) return 2;
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(443) };
    inet_pton(AF_INET, argv[1], &a.sin_addr);
    int s = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(s, (void *)&a, sizeof a)) return 1;
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
    SSL *ssl = SSL_new(ctx);
    SSL_set_fd(ssl, s);
    if (SSL_connect(ssl) != 1) return 1;
    X509 *cert = SSL_get1_peer_certificate(ssl);
    unsigned char md[32]; unsigned int mdlen = 0;
    X509_digest(cert, EVP_sha256(), md, &mdlen);
    if (mdlen != 32 || memcmp(md, argv[2], 32) != 0) return 3;
    const char *req = "GET / HTTP/1.1\r\n\r\n";
    SSL_write(ssl, req, strlen(req));
    char buf[4096]; long n, t = 0;
    while ((n = SSL_read(ssl, buf, sizeof buf)) > 0) t += n;
    printf("%ld\n", t);
    return 0;
}
C
# shellcheck disable=SC2054  # the commas belong to the linker flag
flags=(-Os -static -ffunction-sections -fdata-sections -Wl,--gc-sections -s)
gcc "${flags[@]}" -o "$dir/plain" "$dir/plain.c"
gcc "${flags[@]}" -o "$dir/tls" "$dir/tls.c" -lssl -lcrypto -lpthread 2>/dev/null
plain=$(stat -c %s "$dir/plain")
tls=$(stat -c %s "$dir/tls")
echo "plain TCP fetch, static: $plain bytes"
echo "the same through OpenSSL $(dpkg-query -W -f '${Version}' libssl-dev 2>/dev/null), static: $tls bytes"
echo "TLS adds: $((tls - plain)) bytes"
