#pragma once
// A P-256 key and a self-signed certificate for CN=localhost, made at test time through
// OpenSSL's API, for tests of HTTPS (the http library's and `postern serve --tls-cert`).

#include <string>

namespace postern::test {

// Writes the certificate and the key as PEM files.
void make_self_signed(const std::string& cert_path, const std::string& key_path);

}  // namespace postern::test
