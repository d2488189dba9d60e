/*
 * skf_test.c — libsealkit-skf as an SKF application uses it, built by scripts/skf-test.sh with
 *   cc $(pkg-config --cflags --libs sealkit-skf sealkit-sim) -lcrypto
 * against the installed header and libraries. Every SKF function of skf.h is called through the
 * header, with its error paths: a wrong PIN (SAR_PIN_INCORRECT and the tries left), malformed
 * PINs that spend no try, bad and closed handles, size queries and buffers too small, a digest
 * that is no prepared stamp, and a P-256 token.
 *
 *   skf_test SM2_STATE SEAL.esl OUTDIR
 *
 * SM2_STATE is a simulated token's state file with an SM2 seal key and SEAL.esl installed (PIN
 * 123456, PUK 12345678, 3 and 10 tries). The program stamps once through SKF_SealKit_PrepareStamp
 * and SKF_ECCSignData, checks the signature in process with OpenSSL (SM2, distinguishing ID
 * 1234567812345678), and leaves OUTDIR/tbs.der, OUTDIR/signature.der and OUTDIR/public.der for
 * the openssl command line. Prints "[PASS]"/"[FAIL]" lines and "skf: N passed, N failed";
 * exits 0 when nothing failed, 1 otherwise, 64 for a usage error.
 */
#include <skf.h>
#include <sealkit-sim.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/x509.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

_Static_assert(sizeof(DEVINFO) == 294, "DEVINFO is GM/T 0016's packed 294 bytes");
_Static_assert(sizeof(ECCPUBLICKEYBLOB) == 132, "ECCPUBLICKEYBLOB is 4 + 64 + 64 bytes");
_Static_assert(sizeof(ECCSIGNATUREBLOB) == 128, "ECCSIGNATUREBLOB is 64 + 64 bytes");

static int passed, failed;

static void check(int ok, const char *what) {
    if (ok) {
        passed++;
        printf("[PASS] %s\n", what);
    } else {
        failed++;
        printf("[FAIL] %s\n", what);
    }
}

/* check(code == expected), naming both on failure. */
static void expect_code(ULONG code, ULONG expected, const char *what) {
    char line[512];
    if (code == expected) {
        snprintf(line, sizeof line, "%s", what);
    } else {
        snprintf(line, sizeof line, "%s (got 0x%08X, expected 0x%08X)", what, (unsigned)code, (unsigned)expected);
    }
    check(code == expected, line);
}

/* Whether the multi-string `list` (size bytes) holds `name`. */
static int list_contains(const char *list, ULONG size, const char *name) {
    ULONG at = 0;
    while (at < size && list[at] != '\0') {
        if (strcmp(list + at, name) == 0) return 1;
        at += (ULONG)strlen(list + at) + 1;
    }
    return 0;
}

static unsigned char *read_file(const char *path, size_t *length) {
    FILE *file = fopen(path, "rb");
    if (file == NULL) return NULL;
    fseek(file, 0, SEEK_END);
    long size = ftell(file);
    fseek(file, 0, SEEK_SET);
    unsigned char *bytes = malloc(size > 0 ? (size_t)size : 1);
    if (bytes == NULL || fread(bytes, 1, (size_t)size, file) != (size_t)size) {
        fclose(file);
        free(bytes);
        return NULL;
    }
    fclose(file);
    *length = (size_t)size;
    return bytes;
}

static int write_file(const char *directory, const char *name, const unsigned char *bytes, size_t length) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", directory, name);
    FILE *file = fopen(path, "wb");
    if (file == NULL) return 0;
    int ok = fwrite(bytes, 1, length, file) == length;
    return fclose(file) == 0 && ok;
}

/* ---- DER, as the application writes TBS_Sign (GB/T 38540-2020 §7.1) ---- */

typedef struct { unsigned char *bytes; size_t length, capacity; } buffer;

static void append(buffer *out, const void *bytes, size_t length) {
    if (out->length + length > out->capacity) {
        out->capacity = (out->length + length) * 2;
        out->bytes = realloc(out->bytes, out->capacity);
        if (out->bytes == NULL) { fprintf(stderr, "out of memory\n"); exit(1); }
    }
    memcpy(out->bytes + out->length, bytes, length);
    out->length += length;
}

static void append_tlv(buffer *out, unsigned char tag, const unsigned char *value, size_t length) {
    unsigned char header[6] = { tag };
    size_t used = 1;
    if (length < 0x80) {
        header[used++] = (unsigned char)length;
    } else if (length <= 0xFF) {
        header[used++] = 0x81; header[used++] = (unsigned char)length;
    } else if (length <= 0xFFFF) {
        header[used++] = 0x82; header[used++] = (unsigned char)(length >> 8); header[used++] = (unsigned char)length;
    } else {
        header[used++] = 0x83; header[used++] = (unsigned char)(length >> 16);
        header[used++] = (unsigned char)(length >> 8); header[used++] = (unsigned char)length;
    }
    append(out, header, used);
    append(out, value, length);
}

/* TBS_Sign { 4, eseal, timeInfo, dataHash, propertyInfo } in DER. */
static buffer tbs_sign(const unsigned char *seal, size_t seal_length, const char *time, const unsigned char hash[32],
                       const char *property) {
    buffer body = {0}, out = {0};
    const unsigned char version = 4;
    append_tlv(&body, 0x02, &version, 1);
    append(&body, seal, seal_length);
    append_tlv(&body, 0x18, (const unsigned char *)time, strlen(time));
    unsigned char bits[33] = {0};
    memcpy(bits + 1, hash, 32);
    append_tlv(&body, 0x03, bits, sizeof bits);
    append_tlv(&body, 0x16, (const unsigned char *)property, strlen(property));
    append_tlv(&out, 0x30, body.bytes, body.length);
    free(body.bytes);
    return out;
}

/* ---- SM2 with OpenSSL: what an SKF application does around SKF_ECCSignData ---- */

/* e = SM3(Z_A || message), Z_A = SM3(ENTL || ID || a || b || xG || yG || xA || yA) (GB/T 32918.2). */
static int sm2_digest(const ECCPUBLICKEYBLOB *key, const unsigned char *message, size_t length, unsigned char e[32]) {
    static const char id[] = "1234567812345678";
    unsigned char za_input[2 + 16 + 6 * 32];
    size_t at = 0;
    za_input[at++] = 0x00;
    za_input[at++] = 0x80; /* 16 bytes = 128 bits */
    memcpy(za_input + at, id, 16); at += 16;
    EC_GROUP *group = EC_GROUP_new_by_curve_name(NID_sm2);
    BIGNUM *p = BN_new(), *a = BN_new(), *b = BN_new();
    unsigned char generator[65];
    int ok = group != NULL && p != NULL && a != NULL && b != NULL && EC_GROUP_get_curve(group, p, a, b, NULL) == 1 &&
             BN_bn2binpad(a, za_input + at, 32) == 32 && BN_bn2binpad(b, za_input + at + 32, 32) == 32 &&
             EC_POINT_point2oct(group, EC_GROUP_get0_generator(group), POINT_CONVERSION_UNCOMPRESSED, generator, 65, NULL) == 65;
    BN_free(p); BN_free(a); BN_free(b);
    EC_GROUP_free(group);
    if (!ok) return 0;
    at += 64;
    memcpy(za_input + at, generator + 1, 64); at += 64;
    memcpy(za_input + at, key->XCoordinate + 32, 32); at += 32;
    memcpy(za_input + at, key->YCoordinate + 32, 32); at += 32;
    unsigned char za[32];
    unsigned int length_out = 0;
    if (EVP_Digest(za_input, at, za, &length_out, EVP_sm3(), NULL) != 1) return 0;
    unsigned char *joined = malloc(32 + length);
    if (joined == NULL) return 0;
    memcpy(joined, za, 32);
    memcpy(joined + 32, message, length);
    ok = EVP_Digest(joined, 32 + length, e, &length_out, EVP_sm3(), NULL) == 1;
    free(joined);
    return ok;
}

/* SubjectPublicKeyInfo (id-ecPublicKey, curve SM2) DER of a public key blob. */
static size_t spki_der(const ECCPUBLICKEYBLOB *key, unsigned char out[91]) {
    static const unsigned char prefix[26] = {
        0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x02, 0x01,
        0x06, 0x08, 0x2A, 0x81, 0x1C, 0xCF, 0x55, 0x01, 0x82, 0x2D, 0x03, 0x42, 0x00,
    };
    memcpy(out, prefix, 26);
    out[26] = 0x04;
    memcpy(out + 27, key->XCoordinate + 32, 32);
    memcpy(out + 59, key->YCoordinate + 32, 32);
    return 91;
}

/* DER SEQUENCE { r INTEGER, s INTEGER } of a signature blob. */
static size_t signature_der(const ECCSIGNATUREBLOB *signature, unsigned char result[80]) {
    buffer body = {0};
    const unsigned char *parts[2] = { signature->r + 32, signature->s + 32 };
    for (int i = 0; i < 2; i++) {
        const unsigned char *value = parts[i];
        size_t length = 32;
        while (length > 1 && value[0] == 0 && value[1] < 0x80) { value++; length--; }
        unsigned char integer[33];
        size_t used = 0;
        if (value[0] >= 0x80) integer[used++] = 0;
        memcpy(integer + used, value, length);
        append_tlv(&body, 0x02, integer, used + length);
    }
    buffer out = {0};
    append_tlv(&out, 0x30, body.bytes, body.length);
    size_t length = out.length <= 80 ? out.length : 0;
    memcpy(result, out.bytes, length);
    free(body.bytes);
    free(out.bytes);
    return length;
}

/* Verifies `der` as the SM2 signature of `message` under `key` with OpenSSL (EVP_DigestVerify,
   distinguishing ID 1234567812345678): what a relying party does. */
static int openssl_verifies(const ECCPUBLICKEYBLOB *key, const unsigned char *message, size_t length,
                            const unsigned char *der, size_t der_length) {
    unsigned char spki[91];
    const unsigned char *cursor = spki;
    spki_der(key, spki);
    EVP_PKEY *pkey = d2i_PUBKEY(NULL, &cursor, sizeof spki);
    if (pkey == NULL) return 0;
    EVP_PKEY_CTX *key_context = EVP_PKEY_CTX_new(pkey, NULL);
    EVP_MD_CTX *context = EVP_MD_CTX_new();
    int ok = key_context != NULL && context != NULL &&
             EVP_PKEY_CTX_set1_id(key_context, "1234567812345678", 16) == 1;
    if (ok) {
        EVP_MD_CTX_set_pkey_ctx(context, key_context);
        ok = EVP_DigestVerifyInit(context, NULL, EVP_sm3(), NULL, pkey) == 1 &&
             EVP_DigestVerify(context, der, der_length, message, length) == 1;
    }
    EVP_MD_CTX_free(context);
    EVP_PKEY_CTX_free(key_context);
    EVP_PKEY_free(pkey);
    return ok;
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: skf_test SM2_STATE SEAL.esl OUTDIR\n");
        return 64;
    }
    const char *state = argv[1], *seal_path = argv[2], *outdir = argv[3];
    size_t seal_length = 0;
    unsigned char *seal = read_file(seal_path, &seal_length);
    if (seal == NULL) {
        fprintf(stderr, "skf_test: cannot read %s\n", seal_path);
        return 1;
    }
    ULONG rc, size, retry, max, remain;
    BOOL is_default;

    /* ---- Vendor roots and devices ---- */
    const char *root = sealkit_sim_vendor_root_pem();
    expect_code(SKF_SealKit_SetVendorRoots((const BYTE *)"no certificate", 14), SAR_INVALIDPARAMERR,
                "SKF_SealKit_SetVendorRoots refuses bytes without a certificate");
    expect_code(SKF_SealKit_SetVendorRoots((const BYTE *)root, (ULONG)strlen(root)), SAR_OK,
                "SKF_SealKit_SetVendorRoots takes the test vendor root (PEM)");

    char *message = NULL;
    sealkit_sim *sm2_sim = sealkit_sim_create(state, &message);
    sealkit_sim *p256_sim = sealkit_sim_create(NULL, &message);
    if (sm2_sim == NULL || p256_sim == NULL) {
        fprintf(stderr, "skf_test: sealkit_sim_create: %s\n", message ? message : "?");
        return 1;
    }
    sealkit_transport transport, duplicate, p256_transport;
    sealkit_sim_transport(sm2_sim, &transport);
    sealkit_sim_transport(sm2_sim, &duplicate);
    sealkit_sim_transport(p256_sim, &p256_transport);
    sealkit_sim_free(sm2_sim);
    sealkit_sim_free(p256_sim);
    char sm2_name[] = "SealKit SM2 test token", p256_name[] = "SealKit P-256 test token";
    expect_code(SKF_SealKit_AddTransportDevice(sm2_name, &transport), SAR_OK, "SKF_SealKit_AddTransportDevice registers the SM2 token");
    expect_code(SKF_SealKit_AddTransportDevice(sm2_name, &duplicate), SAR_INVALIDPARAMERR,
                "SKF_SealKit_AddTransportDevice refuses a name already registered");
    expect_code(SKF_SealKit_AddTransportDevice(p256_name, &p256_transport), SAR_OK, "SKF_SealKit_AddTransportDevice registers the P-256 token");

    rc = SKF_EnumDev(TRUE, NULL, &size);
    expect_code(rc, SAR_OK, "SKF_EnumDev with a NULL list gives the size");
    ULONG needed = size;
    char *devices = calloc(needed + 1, 1);
    size = needed - 1;
    expect_code(SKF_EnumDev(TRUE, devices, &size), SAR_BUFFER_TOO_SMALL, "SKF_EnumDev into a buffer one byte short: SAR_BUFFER_TOO_SMALL");
    check(size == needed, "... and the size needed");
    size = needed;
    expect_code(SKF_EnumDev(TRUE, devices, &size), SAR_OK, "SKF_EnumDev lists the devices");
    check(list_contains(devices, size, sm2_name) && list_contains(devices, size, p256_name) &&
          devices[size - 1] == '\0' && devices[size - 2] == '\0', "... both registered tokens, as a multi-string ending in two NULs");
    free(devices);

    DEVHANDLE device = NULL, other = NULL;
    char missing[] = "No Such Reader 99";
    expect_code(SKF_ConnectDev(missing, &other), SAR_INVALIDPARAMERR, "SKF_ConnectDev to a device that does not exist");
    expect_code(SKF_ConnectDev(sm2_name, &device), SAR_OK, "SKF_ConnectDev to the SM2 token (chip authenticated under the root)");
    expect_code(SKF_ConnectDev(sm2_name, &other), SAR_FAIL, "a second SKF_ConnectDev to a connected transport device is refused");

    DEVINFO info;
    memset(&info, 0, sizeof info);
    expect_code(SKF_GetDevInfo(device, &info), SAR_OK, "SKF_GetDevInfo");
    check(strcmp(info.Manufacturer, "SealKit") == 0 && memchr(info.SerialNumber, '\0', 32) == NULL &&
          info.AlgAsymCap == SGD_SM2_1 && (info.AlgHashCap & SGD_SM3) && info.MaxECCBufferSize >= 512 &&
          info.Version.major == 1, "... SealKit, a 32-digit chip ID, SM2, SM3, the command size");
    printf("    device %.32s, issuer \"%s\", label \"%s\", protocol %u.%u\n", info.SerialNumber, info.Issuer, info.Label,
           info.HWVersion.major, info.HWVersion.minor);
    expect_code(SKF_GetDevInfo((DEVHANDLE)(uintptr_t)0x1234, &info), SAR_INVALIDHANDLEERR, "SKF_GetDevInfo with a forged handle");
    expect_code(SKF_GetDevInfo(NULL, &info), SAR_INVALIDHANDLEERR, "SKF_GetDevInfo with a NULL handle");

    /* ---- The application and PINs ---- */
    char applications[32];
    size = 0;
    expect_code(SKF_EnumApplication(device, NULL, &size), SAR_OK, "SKF_EnumApplication size query");
    check(size == 9, "... 9 bytes: \"SEALKIT\\0\\0\"");
    size = sizeof applications;
    expect_code(SKF_EnumApplication(device, applications, &size), SAR_OK, "SKF_EnumApplication");
    check(list_contains(applications, size, "SEALKIT"), "... lists SEALKIT");
    HAPPLICATION application = NULL;
    char wrong_app[] = "EnterSafe";
    char app_name[] = "SEALKIT";
    expect_code(SKF_OpenApplication(device, wrong_app, &application), SAR_APPLICATION_NOT_EXISTS, "SKF_OpenApplication of another name");
    expect_code(SKF_OpenApplication(device, app_name, &application), SAR_OK, "SKF_OpenApplication SEALKIT");

    expect_code(SKF_GetPINInfo(application, USER_TYPE, &max, &remain, &is_default), SAR_OK, "SKF_GetPINInfo USER_TYPE");
    check(max == 3 && remain == 3 && is_default == FALSE, "... 3 of 3 tries");
    expect_code(SKF_GetPINInfo(application, ADMIN_TYPE, &max, &remain, &is_default), SAR_OK, "SKF_GetPINInfo ADMIN_TYPE (the PUK)");
    check(max == 10 && remain == 10, "... 10 of 10 tries");
    expect_code(SKF_GetPINInfo(application, 7, &max, &remain, &is_default), SAR_USER_TYPE_INVALID, "SKF_GetPINInfo of PIN type 7");

    char wrong_pin[] = "000000", short_pin[] = "12", letters[] = "12345a", pin[] = "123456", new_pin[] = "654321";
    char wrong_puk[] = "87654321", puk[] = "12345678";
    retry = 99;
    expect_code(SKF_VerifyPIN(application, USER_TYPE, wrong_pin, &retry), SAR_PIN_INCORRECT, "SKF_VerifyPIN with a wrong PIN");
    check(retry == 2, "... 2 tries left in *pulRetryCount");
    expect_code(SKF_VerifyPIN(application, USER_TYPE, short_pin, &retry), SAR_PIN_LEN_RANGE, "SKF_VerifyPIN with a 2-digit PIN");
    expect_code(SKF_VerifyPIN(application, USER_TYPE, letters, &retry), SAR_PIN_INVALID, "SKF_VerifyPIN with a letter in the PIN");
    SKF_GetPINInfo(application, USER_TYPE, &max, &remain, &is_default);
    check(remain == 2, "malformed PINs spent no try (2 left)");
    expect_code(SKF_VerifyPIN(application, ADMIN_TYPE, puk, &retry), SAR_NOTSUPPORTYETERR, "SKF_VerifyPIN ADMIN_TYPE is not offered");
    expect_code(SKF_VerifyPIN((HAPPLICATION)device, USER_TYPE, pin, &retry), SAR_INVALIDHANDLEERR,
                "SKF_VerifyPIN with a device handle where an application handle belongs");

    retry = 99;
    expect_code(SKF_ChangePIN(application, USER_TYPE, wrong_pin, new_pin, &retry), SAR_PIN_INCORRECT, "SKF_ChangePIN with a wrong old PIN");
    check(retry == 1, "... 1 try left");
    expect_code(SKF_ChangePIN(application, ADMIN_TYPE, puk, puk, &retry), SAR_NOTSUPPORTYETERR, "SKF_ChangePIN ADMIN_TYPE is not offered");
    retry = 99;
    expect_code(SKF_UnblockPIN(application, wrong_puk, pin, &retry), SAR_PIN_INCORRECT, "SKF_UnblockPIN with a wrong PUK");
    check(retry == 9, "... 9 PUK tries left");
    expect_code(SKF_UnblockPIN(application, puk, pin, &retry), SAR_OK, "SKF_UnblockPIN with the PUK");
    SKF_GetPINInfo(application, USER_TYPE, &max, &remain, &is_default);
    check(remain == 3, "... PIN tries back to 3");
    SKF_GetPINInfo(application, ADMIN_TYPE, &max, &remain, &is_default);
    check(remain == 10, "... PUK tries back to 10");
    expect_code(SKF_ChangePIN(application, USER_TYPE, pin, new_pin, &retry), SAR_OK, "SKF_ChangePIN 123456 -> 654321");
    expect_code(SKF_ChangePIN(application, USER_TYPE, new_pin, pin, &retry), SAR_OK, "SKF_ChangePIN back to 123456");

    /* ---- The container ---- */
    char containers[32];
    size = sizeof containers;
    expect_code(SKF_EnumContainer(application, containers, &size), SAR_OK, "SKF_EnumContainer");
    check(size == 6 && list_contains(containers, size, "SEAL"), "... lists SEAL");
    HCONTAINER container = NULL, none = NULL;
    char wrong_container[] = "SM2 key 2", container_name[] = "SEAL";
    expect_code(SKF_OpenContainer(application, wrong_container, &none), SAR_FILE_NOT_EXIST, "SKF_OpenContainer of another name");
    expect_code(SKF_OpenContainer(application, container_name, &container), SAR_OK, "SKF_OpenContainer SEAL");

    ECCPUBLICKEYBLOB key;
    size = 0;
    expect_code(SKF_ExportPublicKey(container, TRUE, NULL, &size), SAR_OK, "SKF_ExportPublicKey size query");
    check(size == sizeof key, "... sizeof(ECCPUBLICKEYBLOB)");
    size = sizeof key;
    expect_code(SKF_ExportPublicKey(container, TRUE, (BYTE *)&key, &size), SAR_OK, "SKF_ExportPublicKey");
    check(key.BitLen == 256, "... BitLen 256");
    expect_code(SKF_ExportPublicKey(container, FALSE, (BYTE *)&key, &size), SAR_KEYNOTFOUNTERR, "SKF_ExportPublicKey of the encryption key");

    size = 0;
    expect_code(SKF_ExportCertificate(container, TRUE, NULL, &size), SAR_OK, "SKF_ExportCertificate size query");
    ULONG certificate_length = size;
    BYTE *certificate = malloc(certificate_length);
    size = 10;
    expect_code(SKF_ExportCertificate(container, TRUE, certificate, &size), SAR_BUFFER_TOO_SMALL, "SKF_ExportCertificate into 10 bytes");
    check(size == certificate_length, "... and the size needed");
    expect_code(SKF_ExportCertificate(container, TRUE, certificate, &size), SAR_OK, "SKF_ExportCertificate");
    const unsigned char *cursor = certificate;
    X509 *x509 = d2i_X509(NULL, &cursor, (long)size);
    unsigned char certified[65] = {0};
    size_t certified_length = 0;
    check(x509 != NULL && EVP_PKEY_get_octet_string_param(X509_get0_pubkey(x509), "pub", certified, sizeof certified, &certified_length) == 1 &&
          certified_length == 65 && memcmp(certified + 1, key.XCoordinate + 32, 32) == 0 && memcmp(certified + 33, key.YCoordinate + 32, 32) == 0,
          "... an X.509 certificate of the container's public key");
    X509_free(x509);
    write_file(outdir, "signer.der", certificate, size);
    free(certificate);
    expect_code(SKF_ExportCertificate(container, FALSE, NULL, &size), SAR_CERTNOTFOUNTERR, "SKF_ExportCertificate of an encryption certificate");

    /* ---- Stamping: the application's TBS_Sign, the chip's signature ---- */
    const char document[] = "<ofd:Signature>a document stamped through SKF</ofd:Signature>";
    unsigned char data_hash[32];
    unsigned int hash_length = 0;
    EVP_Digest(document, strlen(document), data_hash, &hash_length, EVP_sm3(), NULL);
    buffer tbs = tbs_sign(seal, seal_length, "20261206120000Z", data_hash, "/Doc_0/Signs/Sign_0/Signature.xml");
    ULONG bound = 0;

    ECCSIGNATUREBLOB signature;
    unsigned char random_digest[32];
    memset(random_digest, 0x5A, sizeof random_digest);
    expect_code(SKF_ECCSignData(container, random_digest, 32, &signature), SAR_NOTSUPPORTYETERR,
                "SKF_ECCSignData of a digest that is no prepared stamp: refused (no signing oracle)");
    expect_code(SKF_ECCSignData(container, random_digest, 31, &signature), SAR_INDATALENERR, "SKF_ECCSignData of 31 bytes");

    expect_code(SKF_SealKit_PrepareStamp(container, tbs.bytes, (ULONG)tbs.length, NULL, &bound), SAR_OK,
                "SKF_SealKit_PrepareStamp size query");
    check(bound > tbs.length, "... more than the application's TBS_Sign (the receipt extension)");
    BYTE *signed_tbs = malloc(bound);
    ULONG signed_length = bound;
    expect_code(SKF_VerifyPIN(application, USER_TYPE, pin, &retry), SAR_OK, "SKF_VerifyPIN with the right PIN");
    signed_length = bound - 1;
    expect_code(SKF_SealKit_PrepareStamp(container, tbs.bytes, (ULONG)tbs.length, signed_tbs, &signed_length), SAR_BUFFER_TOO_SMALL,
                "SKF_SealKit_PrepareStamp into a buffer one byte short of the bound");
    buffer altered = tbs_sign(seal, seal_length, "20261206120000Z", data_hash, "/Doc_0/Signs/Sign_0/Signature.xml");
    altered.bytes[40] ^= 0x01; /* inside the seal */
    signed_length = bound;
    expect_code(SKF_SealKit_PrepareStamp(container, altered.bytes, (ULONG)altered.length, signed_tbs, &signed_length), SAR_INDATAERR,
                "SKF_SealKit_PrepareStamp of a TBS_Sign whose seal is not the installed one");
    buffer fractional = tbs_sign(seal, seal_length, "20261206120000.5Z", data_hash, "/Doc_0/Signs/Sign_0/Signature.xml");
    expect_code(SKF_SealKit_PrepareStamp(container, fractional.bytes, (ULONG)fractional.length, signed_tbs, &signed_length), SAR_INDATAERR,
                "SKF_SealKit_PrepareStamp of a TBS_Sign with fractional seconds");
    expect_code(SKF_SealKit_PrepareStamp(container, tbs.bytes, (ULONG)tbs.length, signed_tbs, &signed_length), SAR_OK,
                "SKF_SealKit_PrepareStamp stamps (STAMP-SES)");
    check(signed_length > tbs.length && signed_length <= bound &&
          memcmp(signed_tbs + (signed_tbs[1] == 0x82 ? 4 : 3), tbs.bytes + (tbs.bytes[1] == 0x82 ? 4 : 3),
                 tbs.length - (tbs.bytes[1] == 0x82 ? 4 : 3)) == 0,
          "... the signed TBS_Sign is the application's fields plus the receipt extension");

    unsigned char e[32];
    check(sm2_digest(&key, signed_tbs, signed_length, e), "the application computes e = SM3(Z_A || TBS_Sign) with OpenSSL");
    expect_code(SKF_ECCSignData(container, e, 32, &signature), SAR_OK, "SKF_ECCSignData of the prepared stamp's digest");
    unsigned char der[80];
    size_t der_length = signature_der(&signature, der);
    check(der_length > 0 && openssl_verifies(&key, signed_tbs, signed_length, der, der_length),
          "... the signature verifies under OpenSSL (SM2, SM3, ID 1234567812345678) over the TBS_Sign");
    check(!openssl_verifies(&key, tbs.bytes, tbs.length, der, der_length), "... and not over the application's TBS_Sign without the receipt");
    expect_code(SKF_ECCSignData(container, e, 32, &signature), SAR_NOTSUPPORTYETERR, "the same digest a second time: handed out once only");
    unsigned char spki[91];
    check(write_file(outdir, "tbs.der", signed_tbs, signed_length) && write_file(outdir, "signature.der", der, der_length) &&
          write_file(outdir, "public.der", spki, spki_der(&key, spki)), "TBS_Sign, signature and public key written for openssl");
    free(signed_tbs);
    free(altered.bytes);
    free(fractional.bytes);

    /* ---- Closing ---- */
    expect_code(SKF_CloseContainer(container), SAR_OK, "SKF_CloseContainer");
    expect_code(SKF_CloseContainer(container), SAR_INVALIDHANDLEERR, "SKF_CloseContainer again: a closed handle");
    HCONTAINER reopened = NULL;
    expect_code(SKF_OpenContainer(application, container_name, &reopened), SAR_OK, "SKF_OpenContainer again");
    expect_code(SKF_CloseApplication(application), SAR_OK, "SKF_CloseApplication");
    expect_code(SKF_ExportPublicKey(reopened, TRUE, NULL, &size), SAR_INVALIDHANDLEERR, "its container closed with it");
    expect_code(SKF_OpenApplication(device, app_name, &application), SAR_OK, "SKF_OpenApplication again");
    HCONTAINER after = NULL;
    SKF_OpenContainer(application, container_name, &after);
    static BYTE scratch[65536];
    signed_length = sizeof scratch;
    expect_code(SKF_SealKit_PrepareStamp(after, tbs.bytes, (ULONG)tbs.length, scratch, &signed_length), SAR_USER_NOT_LOGGED_IN,
                "SKF_CloseApplication logged the PIN out");
    expect_code(SKF_DisConnectDev(device), SAR_OK, "SKF_DisConnectDev");
    expect_code(SKF_DisConnectDev(device), SAR_INVALIDHANDLEERR, "SKF_DisConnectDev again: a closed handle");
    expect_code(SKF_CloseApplication(application), SAR_INVALIDHANDLEERR, "its application closed with it");
    expect_code(SKF_ConnectDev(sm2_name, &device), SAR_OK, "SKF_ConnectDev to the same device again");
    expect_code(SKF_DisConnectDev(device), SAR_OK, "SKF_DisConnectDev");

    /* ---- A P-256 token: no GB/T 38540 signatures ---- */
    DEVHANDLE p256 = NULL;
    expect_code(SKF_ConnectDev(p256_name, &p256), SAR_OK, "SKF_ConnectDev to the P-256 token");
    SKF_GetDevInfo(p256, &info);
    check(info.AlgAsymCap == 0, "... reports no SM2 (AlgAsymCap 0)");
    HAPPLICATION p256_application = NULL;
    HCONTAINER p256_container = NULL;
    SKF_OpenApplication(p256, app_name, &p256_application);
    expect_code(SKF_OpenContainer(p256_application, container_name, &p256_container), SAR_OK, "SKF_OpenContainer on the P-256 token");
    expect_code(SKF_ExportCertificate(p256_container, TRUE, NULL, &size), SAR_CERTNOTFOUNTERR, "... has no certificate");
    signed_length = sizeof scratch;
    expect_code(SKF_SealKit_PrepareStamp(p256_container, tbs.bytes, (ULONG)tbs.length, scratch, &signed_length), SAR_NOTSUPPORTYETERR,
                "... cannot make GB/T 38540 signatures");
    expect_code(SKF_DisConnectDev(p256), SAR_OK, "SKF_DisConnectDev of the P-256 token");

    free(tbs.bytes);
    free(seal);
    printf("skf: %d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
