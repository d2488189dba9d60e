/*
 * stamp_verify.c — the SealKit C library end to end: open a token through the driver, read its
 * state, verify a wrong and then the right PIN, stamp a document digest, and verify the record
 * offline (valid against the stamped document, invalid against another). Exits 0 when every
 * result is the expected one, 1 otherwise, 64 for bad arguments.
 *
 *   cc -o stamp_verify stamp_verify.c $(pkg-config --cflags --libs sealkit sealkit-sim)
 *   ./stamp_verify                     the simulated token of libsealkit-sim, in memory
 *   ./stamp_verify --state FILE        the simulated token, its memory in FILE (made on first use)
 *   ./stamp_verify --pcsc READER       a token in a PC/SC reader
 *   ./stamp_verify --usbip ADDRESS     a USB token exported over USB/IP (HOST[:PORT][/BUSID])
 *   ./stamp_verify --usb VID:PID|any   a USB token through libusb
 *
 * The token must be a SealKit test token (PIN 123456, certified by the test vendor root), such
 * as the ones `sealsim serve` puts behind PC/SC and USB/IP.
 *
 * See Examples/c/README.md and docs/c-library.md.
 */
#define _POSIX_C_SOURCE 200809L /* mkstemp, fdopen */
#include <sealkit.h>
#include <sealkit-sim.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* The document being stamped, and its SHA-256 as computed elsewhere (sha256sum). */
static const char document[] = "Hello, SealKit!\n";
static const uint8_t expected_digest[32] = {
    0x34, 0x70, 0x1e, 0x82, 0x16, 0x5e, 0x15, 0x25, 0xb3, 0x1b, 0xa5, 0x8f, 0x92, 0xf0, 0x90, 0xe4,
    0x06, 0x01, 0xda, 0xa4, 0xaf, 0x4a, 0xef, 0xe1, 0x5d, 0x4f, 0x20, 0x29, 0x94, 0x01, 0x1d, 0x4b,
};

static int failed = 0;

/* Records an unexpected result; the program goes on to free everything, then exits 1. */
static void expect(int condition, const char *what) {
    if (!condition) {
        fprintf(stderr, "stamp_verify: UNEXPECTED: %s\n", what);
        failed = 1;
    } else {
        printf("ok: %s\n", what);
    }
}

/* Prints and frees an unexpected error. */
static void report_error(const char *call, sealkit_error *error) {
    fprintf(stderr, "stamp_verify: %s failed: %s (%s)\n", call,
            sealkit_error_message(error), sealkit_code_name(sealkit_error_code(error)));
    sealkit_error_free(error);
    failed = 1;
}

/* The outcome ("passed", "failed", "skipped") of check `id` in a report, or NULL. Scans the
   report's text, which is enough here; a real program would use its JSON parser. */
static const char *outcome(const char *report, const char *id) {
    char key[64];
    snprintf(key, sizeof key, "\"%s\"", id);
    const char *found = strstr(report, key);
    const char *field = found ? strstr(found, "\"outcome\"") : NULL;
    if (field == NULL) return NULL;
    field = strchr(field + strlen("\"outcome\""), '"');
    if (field == NULL) return NULL;
    if (strncmp(field, "\"passed\"", 8) == 0) return "passed";
    if (strncmp(field, "\"failed\"", 8) == 0) return "failed";
    if (strncmp(field, "\"skipped\"", 9) == 0) return "skipped";
    return NULL;
}

static int same(const char *a, const char *b) { return a != NULL && b != NULL && strcmp(a, b) == 0; }

/* Verifies `record` against `digest` and returns the report's "valid" flag, or -1 on error. */
static int verify(const char *record, const uint8_t *digest, const char *options, char **report_out) {
    const char *root = sealkit_sim_vendor_root_pem();
    sealkit_error *error = NULL;
    int valid = 0;
    char *report = sealkit_verify_record(record, root, strlen(root), digest, digest ? 32 : 0, options,
                                         &valid, &error);
    if (report == NULL) {
        report_error("sealkit_verify_record", error);
        return -1;
    }
    *report_out = report;
    return valid;
}

static int usage(void) {
    fprintf(stderr, "usage: stamp_verify [--state FILE | --pcsc READER | --usbip ADDRESS | --usb VID:PID|any]\n");
    return 64;
}

int main(int argc, char **argv) {
    const char *target = NULL, *address = NULL;
    if (argc == 3 && (strcmp(argv[1], "--state") == 0 || strcmp(argv[1], "--pcsc") == 0 ||
                      strcmp(argv[1], "--usbip") == 0 || strcmp(argv[1], "--usb") == 0)) {
        target = argv[1] + 2;
        address = argv[2];
    } else if (argc != 1) {
        return usage();
    }
    int simulated = target == NULL || strcmp(target, "state") == 0;
    sealkit_error *error = NULL;
    sealkit_token *token = NULL;
    char *info = NULL, *record = NULL, *second_record = NULL, *report = NULL;
    char message[256];
    uint8_t watermark_key[32];
    int have_watermark_key = 0;

    printf("libsealkit %s\n", sealkit_version());

    /* 0. The document's digest, as libsealkit computes it from the file (in constant memory). */
    uint8_t document_digest[32] = {0};
    char document_path[] = "/tmp/stamp_verify-XXXXXX";
    int fd = mkstemp(document_path);
    FILE *file = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (file == NULL || fputs(document, file) == EOF || fclose(file) != 0) {
        fprintf(stderr, "stamp_verify: cannot write the document to %s\n", document_path);
        return 1;
    }
    int code = sealkit_digest_file(document_path, document_digest, &error);
    remove(document_path);
    if (code != SEALKIT_OK) {
        report_error("sealkit_digest_file", error);
        return 1;
    }
    expect(memcmp(document_digest, expected_digest, 32) == 0, "sealkit_digest_file computes the document's SHA-256");
    code = sealkit_digest_file(document_path, document_digest, &error);
    expect(code == SEALKIT_E_FILE_UNREADABLE && sealkit_error_code(error) == code,
           "a file that is gone is SEALKIT_E_FILE_UNREADABLE");
    sealkit_error_free(error);
    error = NULL;

    /* 1. Open the token, authenticating the chip under its vendor's root (here the test vendor's:
          every SealKit test token is certified by it). The simulated one reaches the driver as a
          caller-supplied transport. */
    const char *vendor_root = sealkit_sim_vendor_root_pem();
    if (simulated) {
        char *sim_error = NULL;
        sealkit_sim *sim = sealkit_sim_create(address, &sim_error);
        if (sim == NULL) {
            fprintf(stderr, "stamp_verify: sealkit_sim_create: %s\n", sim_error ? sim_error : "?");
            sealkit_sim_string_free(sim_error);
            return 1;
        }
        have_watermark_key = sealkit_sim_watermark_key(sim, watermark_key) == 0;
        sealkit_transport transport;
        expect(sealkit_sim_transport(sim, &transport) == 0, "sealkit_sim_transport fills the transport");
        sealkit_sim_free(sim); /* the transport holds the token until sealkit_token_close() */
        token = sealkit_token_open_transport(&transport, vendor_root, strlen(vendor_root), &error);
    } else if (strcmp(target, "pcsc") == 0) {
        token = sealkit_token_open_pcsc(address, 0, vendor_root, strlen(vendor_root), &error);
    } else if (strcmp(target, "usbip") == 0) {
        token = sealkit_token_open_usbip(address, vendor_root, strlen(vendor_root), &error);
    } else {
        token = sealkit_token_open_usb(address, vendor_root, strlen(vendor_root), &error);
    }
    if (token == NULL) {
        report_error("opening the token", error);
        return 1;
    }

    /* 2. Info. */
    info = sealkit_token_info(token, &error);
    if (info == NULL) {
        report_error("sealkit_token_info", error);
        goto done;
    }
    printf("info: %s\n", info);
    expect(strstr(info, "\"ACTIVE\"") != NULL, "the token is ACTIVE");

    /* 3. A wrong PIN: SEALKIT_E_PIN_INCORRECT, status word 63Cx, tries left in the error. */
    code = sealkit_token_verify_pin(token, "000000", &error);
    expect(code == SEALKIT_E_PIN_INCORRECT, "a wrong PIN returns SEALKIT_E_PIN_INCORRECT");
    if (error != NULL) {
        int tries = sealkit_error_tries_remaining(error);
        int status_word = sealkit_error_status_word(error);
        printf("wrong PIN: %s (%s, status word %04X, %d tries left)\n", sealkit_error_message(error),
               sealkit_code_name(sealkit_error_code(error)), (unsigned)status_word, tries);
        expect(sealkit_error_code(error) == code, "the error object carries the returned code");
        expect(tries >= 0 && status_word == (0x63C0 | tries), "the status word is 63Cx with the tries left");
        snprintf(message, sizeof message, "%d tries left", tries);
        expect(strstr(sealkit_error_message(error), message) != NULL, "the message says how many tries are left");
        sealkit_error_free(error);
        error = NULL;
    } else {
        expect(0, "a wrong PIN sets the error object");
    }

    /* 4. The right PIN. */
    code = sealkit_token_verify_pin(token, sealkit_sim_pin(), &error);
    expect(code == SEALKIT_OK && error == NULL, "the right PIN is accepted");
    if (error != NULL) {
        report_error("sealkit_token_verify_pin", error);
        error = NULL;
        goto done;
    }

    /* 5. Stamp the digest, metadata as JSON. */
    snprintf(message, sizeof message, "{\"time\": %lld, \"operatorID\": \"c-example\", \"approvalNode\": \"desk 4\"}",
             (long long)time(NULL));
    record = sealkit_token_stamp_digest(token, document_digest, sizeof document_digest, message, &error);
    if (record == NULL) {
        report_error("sealkit_token_stamp_digest", error);
        goto done;
    }
    printf("record: %.160s...\n", record);
    expect(strstr(record, "\"operatorID\"") != NULL, "the record carries the metadata");

    /* 6. And again with the metadata as fields. Protocol v2 tokens are "PIN always" by default:
          every stamp needs its own VERIFY. */
    code = sealkit_token_verify_pin(token, sealkit_sim_pin(), &error);
    if (error != NULL) {
        report_error("sealkit_token_verify_pin", error);
        error = NULL;
        goto done;
    }
    sealkit_metadata fields = {0};
    fields.has_location = 1;
    fields.latitude_microdegrees = 48856600;
    fields.longitude_microdegrees = 2352200;
    fields.organization_unit = "Legal";
    second_record = sealkit_token_stamp_digest_fields(token, document_digest, sizeof document_digest, &fields, &error);
    if (second_record == NULL) {
        report_error("sealkit_token_stamp_digest_fields", error);
        goto done;
    }
    expect(strstr(second_record, "48856600") != NULL, "the second record carries the location");

    /* 7. Verify against the vendor root and the stamped document: valid. With the watermark key
          the expiration code is checked too. */
    char options[160] = "{}";
    if (have_watermark_key) {
        char *cursor = options + snprintf(options, sizeof options, "{\"watermarkKey\": \"");
        for (int i = 0; i < 32; i++) cursor += sprintf(cursor, "%02X", watermark_key[i]);
        strcpy(cursor, "\"}");
    }
    int valid = verify(record, document_digest, options, &report);
    expect(valid == 1, "the record verifies against the stamped document");
    if (report != NULL) {
        expect(same(outcome(report, "stamp-signature"), "passed"), "the stamp signature check passed");
        expect(same(outcome(report, "device-certificate-chain"), "passed"), "the device certificate chains to the vendor root");
        expect(same(outcome(report, "expiration-code"), have_watermark_key ? "passed" : "skipped"),
               have_watermark_key ? "the expiration code matches the watermark key" : "the expiration code check is skipped without the key");
        sealkit_string_free(report);
        report = NULL;
    }
    valid = verify(second_record, document_digest, NULL, &report);
    expect(valid == 1, "the second record verifies");
    sealkit_string_free(report);
    report = NULL;

    /* 8. Against another document: invalid, and the report says which check failed. */
    uint8_t other_digest[32];
    memcpy(other_digest, document_digest, sizeof other_digest);
    other_digest[0] ^= 0x01;
    valid = verify(record, other_digest, NULL, &report);
    expect(valid == 0, "the record does not verify against another document");
    if (report != NULL) {
        expect(same(outcome(report, "document-digest"), "failed"), "the report names the failed document-digest check");
        expect(same(outcome(report, "stamp-signature"), "passed"), "and only that: the signature still verifies");
        sealkit_string_free(report);
        report = NULL;
    }

    /* 9. Roots that hold no certificate are an error, not "trust nothing". */
    report = sealkit_verify_record(record, "garbage", 7, document_digest, 32, NULL, &valid, &error);
    expect(report == NULL && sealkit_error_code(error) == SEALKIT_E_ROOTS_INVALID,
           "roots without a certificate are refused with SEALKIT_E_ROOTS_INVALID");
    sealkit_error_free(error);
    error = NULL;

done:
    sealkit_string_free(info);
    sealkit_string_free(record);
    sealkit_string_free(second_record);
    sealkit_string_free(report);
    sealkit_token_close(token);
    if (failed) {
        fprintf(stderr, "stamp_verify: FAILED\n");
        return 1;
    }
    printf("stamp_verify: every result as expected\n");
    return 0;
}
