// Debian's OpenSSL 3 libcrypto, imported as it is, for SM2 and SM3 (docs/gbt38540.md).
// swift-crypto's BoringSSL prefixes its symbols (CCryptoBoringSSL_*), so both link side by side.
#include <openssl/evp.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>

// OPENSSL_free is a macro (it passes __FILE__ and __LINE__), which Swift cannot call.
static inline void sealkit_openssl_free(void *pointer) { OPENSSL_free(pointer); }

// XN_FLAG_ONELINE is a macro of macros, which Swift does not import; UTF-8 kept unescaped
// (without ASN1_STRFLGS_ESC_MSB), so Chinese names print as text.
static const unsigned long sealkit_name_print_flags = XN_FLAG_ONELINE & ~ASN1_STRFLGS_ESC_MSB;
