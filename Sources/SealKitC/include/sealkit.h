/*
 * sealkit.h — the SealKit C library (libsealkit): open a seal token, read its state, verify the
 * PIN, stamp a document digest, and verify stamp records offline, from C or any language with a
 * C FFI. docs/c-library.md is the guide; this header is the reference.
 *
 * Link: cc $(pkg-config --cflags --libs sealkit) ...
 *
 * CONVENTIONS
 *
 *   Errors. Every function that can fail takes `sealkit_error **error` as its last parameter and
 *   reports failure by its return value: NULL for functions returning a pointer, a nonzero
 *   SEALKIT_E_* code for functions returning int. On failure, when `error` is not NULL, *error
 *   receives a new error object (code, message, status word, PIN tries left) that the caller
 *   frees with sealkit_error_free(); on success *error is set to NULL. Pass NULL for `error` to
 *   ignore the details. There is no global or thread-local "last error": an error belongs to the
 *   call that produced it.
 *
 *   Memory. Every `char *` a function returns is a NUL-terminated UTF-8 string the caller owns and
 *   frees with sealkit_string_free(). A `const char *` result is owned by the library or by the
 *   object it came from (see each function). Input strings are NUL-terminated UTF-8 and are only
 *   read during the call. Handles are freed by their own function (sealkit_token_close,
 *   sealkit_error_free). Every free function accepts NULL.
 *
 *   Blocking. Every function runs to completion before it returns: the library runs the
 *   operation on its worker threads (the Swift concurrency pool) and blocks the calling thread
 *   until it is done. Call it from ordinary threads (pthreads, the main thread). A call made on
 *   one of the library's own worker threads — from inside a transport callback, or from Swift
 *   async code — would hold a thread the operation may need, so it is refused with
 *   SEALKIT_E_WRONG_THREAD instead of risking a deadlock.
 *
 * THREAD SAFETY
 *
 *   Every function may be called from any thread (but not from within a Swift task: see
 *   Blocking). A token handle may be shared by several
 *   threads at once: its operations run one at a time, first come first served, and a stamp's
 *   several commands never interleave with another call's. Distinct handles work in
 *   parallel. sealkit_token_close() must be the last call on a handle: no other call on it may be
 *   in progress or follow. Error objects and returned strings are plain data owned by the caller;
 *   they may be passed between threads but not freed twice.
 */
#ifndef SEALKIT_H
#define SEALKIT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The version of this C API: changes when a declaration in this header changes incompatibly. */
#define SEALKIT_API_VERSION 2  /* 2: the sealkit_token_open_* functions take the vendor roots */

/* ------------------------------------------------------------------------------------------ */
/* Error codes. Stable: a code keeps its number and meaning in every release.                  */
/* ------------------------------------------------------------------------------------------ */

#define SEALKIT_OK 0

/* 1–99: the call itself. */
#define SEALKIT_E_INVALID_ARGUMENT       1   /* NULL where a value is needed, text that is not UTF-8, a
                                                digest that is not 32 bytes, metadata out of range, a
                                                PIN that is not 4–12 digits; nothing was sent */
#define SEALKIT_E_INTERNAL               2   /* a failure the library did not expect; report it */
#define SEALKIT_E_WRONG_THREAD           3   /* called from a Swift concurrency task or from inside a
                                                transport callback, where blocking could deadlock
                                                (see Blocking); nothing was done */

/* 100–199: talking to the token (the driver's SealDriverError codes). */
#define SEALKIT_E_TRANSPORT            100   /* the reader, USB link or callback transport failed */
#define SEALKIT_E_CARD_REMOVED         101   /* the token was removed, or the reader is empty */
#define SEALKIT_E_NO_RESPONSE          102   /* the token did not answer (mute, lost power) */
#define SEALKIT_E_NOT_CONNECTED        103   /* no session with the token */
#define SEALKIT_E_MALFORMED_RESPONSE   104   /* the answer does not follow the seal protocol */
#define SEALKIT_E_RESPONSE_TOO_LONG    105   /* the answer exceeded the driver's size limit */
#define SEALKIT_E_RESPONSE_LOOP        106   /* the token kept asking for GET RESPONSE or a new length */
#define SEALKIT_E_COMMAND_TOO_LONG     107   /* the command data exceeds what the token accepts */
#define SEALKIT_E_NOT_SUPPORTED        108   /* the token or reader lacks a feature the operation needs */
#define SEALKIT_E_AUDIT_CHAIN_BROKEN   109   /* the token's audit log does not verify */
#define SEALKIT_E_CHIP_NOT_AUTHENTICATED 110 /* the chip's key-agreement certificate does not chain to
                                                the vendor roots given (or none were given): it may
                                                not be a genuine seal chip; nothing was sent to it */
#define SEALKIT_E_SECURE_CHANNEL       111   /* the secure channel failed (a MAC or receipt that does
                                                not match, a refused wrapped command): reopen the token */

/* 200–299: the token refused the command; sealkit_error_status_word() gives its status word. */
#define SEALKIT_E_CARD_REFUSED         200   /* any status word not listed below */
#define SEALKIT_E_PIN_INCORRECT        201   /* 63Cx: wrong PIN; sealkit_error_tries_remaining() */
#define SEALKIT_E_PIN_BLOCKED          202   /* 6983: the PIN (or PUK) is blocked */
#define SEALKIT_E_NOT_AUTHORIZED       203   /* 6982: verify the PIN first (or give a grant) */
#define SEALKIT_E_WRONG_LIFECYCLE      204   /* 6985: not allowed in the token's lifecycle state */
#define SEALKIT_E_DATA_NOT_FOUND       205   /* 6A88: the requested object is not on the token */

/* 300–399: finding and opening the target. */
#define SEALKIT_E_TARGET_INVALID       300   /* the reader name, VID:PID or USB/IP address is malformed */
#define SEALKIT_E_TARGET_NOT_FOUND     301   /* no such reader or device; the message lists what exists */
#define SEALKIT_E_TARGET_AMBIGUOUS     302   /* the reader name matches several readers */
#define SEALKIT_E_TARGET_BUSY          303   /* held exclusively by another program (pcscd, another client) */
#define SEALKIT_E_PERMISSION_DENIED    304   /* no permission to open the USB device */
#define SEALKIT_E_SERVICE_UNAVAILABLE  305   /* pcscd is not running, no USB access, the USB/IP server is unreachable */

/* 400–499: stamp records, trust anchors and documents. */
#define SEALKIT_E_RECORD_INVALID       400   /* the record JSON does not decode (the message names the field) */
#define SEALKIT_E_ROOTS_INVALID        401   /* the trusted roots hold no certificate, or one does not parse */
#define SEALKIT_E_FILE_UNREADABLE      402   /* the document file cannot be read */

/* ------------------------------------------------------------------------------------------ */
/* Version, errors and strings                                                                  */
/* ------------------------------------------------------------------------------------------ */

/* The SealKit release this library belongs to, "MAJOR.MINOR.PATCH" (what `pkg-config
   --modversion sealkit` prints). Static storage: do not free. */
const char *sealkit_version(void);

/* The details of a failed call. Opaque; free with sealkit_error_free(). */
typedef struct sealkit_error sealkit_error;

/* The SEALKIT_E_* code; SEALKIT_E_INVALID_ARGUMENT for a NULL error. */
int sealkit_error_code(const sealkit_error *error);

/* One line for people: what happened and what to do. Owned by `error`: valid until it is freed. */
const char *sealkit_error_message(const sealkit_error *error);

/* The ISO 7816 status word the token answered (e.g. 0x63C2), or -1 when the failure is not a
   card refusal. */
int sealkit_error_status_word(const sealkit_error *error);

/* For SEALKIT_E_PIN_INCORRECT, the tries left before the PIN blocks (0 or more); otherwise -1. */
int sealkit_error_tries_remaining(const sealkit_error *error);

/* Frees an error. NULL is ignored. */
void sealkit_error_free(sealkit_error *error);

/* The name of a code, e.g. "SEALKIT_E_PIN_INCORRECT"; "SEALKIT_E_UNKNOWN" for a number that is no
   code. Static storage: do not free. */
const char *sealkit_code_name(int code);

/* Frees a string returned by this library. NULL is ignored. */
void sealkit_string_free(char *string);

/* ------------------------------------------------------------------------------------------ */
/* Transports supplied by the caller                                                            */
/* ------------------------------------------------------------------------------------------ */

/* The largest response APDU the driver accepts: 65536 data bytes and the status word. */
#define SEALKIT_MAX_RESPONSE_LENGTH 65538
/* The largest Answer-to-Reset (ISO 7816-3). */
#define SEALKIT_MAX_ATR_LENGTH 33

/*
 * A token reached through the caller's own code: a vendor reader stack, a remote HSM bridge, or
 * the simulated token of libsealkit-sim. The driver calls the functions below; each returns
 * SEALKIT_OK, or SEALKIT_E_CARD_REMOVED, SEALKIT_E_NO_RESPONSE or SEALKIT_E_TRANSPORT (any other
 * nonzero value counts as SEALKIT_E_TRANSPORT).
 *
 * The driver calls them from its worker threads, never two at once for one token, and never after
 * `release`. They may block (I/O), holding one worker thread meanwhile. libsealkit's token and
 * verification functions called from inside them fail with SEALKIT_E_WRONG_THREAD.
 */
typedef struct sealkit_transport {
    /* Passed unchanged to every function. */
    void *context;
    /* A name for messages, e.g. the reader's; copied when the token opens. May be NULL. */
    const char *name;
    /* Powers the token on and writes its Answer-to-Reset (at most atr_capacity bytes) to `atr`,
       its length to *atr_length. Called again on a connected token, it behaves like `reset`.
       Required. */
    int (*connect)(void *context, uint8_t *atr, size_t atr_capacity, size_t *atr_length);
    /* Warm-resets the token and writes its Answer-to-Reset. May be NULL: the driver then calls
       `disconnect` and `connect`. */
    int (*reset)(void *context, uint8_t *atr, size_t atr_capacity, size_t *atr_length);
    /* Sends one command APDU exactly as given and writes the complete response APDU (data and
       status word, at most response_capacity = SEALKIT_MAX_RESPONSE_LENGTH bytes) to `response`,
       its length to *response_length. Must not interpret status words. Required. */
    int (*transmit)(void *context, const uint8_t *command, size_t command_length,
                    uint8_t *response, size_t response_capacity, size_t *response_length);
    /* Powers the token off. May be NULL. */
    void (*disconnect)(void *context);
    /* Called exactly once when the driver no longer needs the transport: by sealkit_token_close(),
       or by sealkit_token_open_transport() when opening fails. Frees `context` if the caller wants
       that. May be NULL. */
    void (*release)(void *context);
} sealkit_transport;

/* ------------------------------------------------------------------------------------------ */
/* Tokens                                                                                       */
/* ------------------------------------------------------------------------------------------ */

/* A connected seal token. Opaque; see THREAD SAFETY. Close with sealkit_token_close(). */
typedef struct sealkit_token sealkit_token;

/*
 * Every sealkit_token_open_* function authenticates the chip before it sends it anything secret
 * (SPEC §14.2): the chip's key-agreement certificate must chain to one of `vendor_roots` — PEM
 * text with one or more CERTIFICATE blocks, or one DER certificate (`vendor_roots_length` bytes),
 * as sealkit_verify_record() takes them; the vendor of a SealKit test token is the test vendor
 * root, sealkit_sim_vendor_root_pem() of libsealkit-sim. A chip certified under another root —
 * or any chip, when `vendor_roots` is NULL (and 0) — is refused with
 * SEALKIT_E_CHIP_NOT_AUTHENTICATED; roots that hold no certificate are SEALKIT_E_ROOTS_INVALID.
 * The roots are only read during the call.
 */

/* Flags of sealkit_token_open_pcsc(). */
#define SEALKIT_PCSC_EXCLUSIVE 0x1u  /* connect with SCARD_SHARE_EXCLUSIVE instead of shared */

/* Opens the token in a PC/SC reader (through pcscd) and connects to it. `reader` is the exact
   reader name or a unique part of it, ignoring case ("00 01" finds "Virtual PCD 00 01"). */
sealkit_token *sealkit_token_open_pcsc(const char *reader, unsigned int flags,
                                       const void *vendor_roots, size_t vendor_roots_length, sealkit_error **error);

/* Opens a USB CCID token through libusb and connects to it. `device` is "VID:PID" in hex
   ("20a0:42d4"), or "any" or NULL for the first device with a CCID interface. */
sealkit_token *sealkit_token_open_usb(const char *device, const void *vendor_roots, size_t vendor_roots_length,
                                      sealkit_error **error);

/* Imports a USB CCID token from a USB/IP server and connects to it. `address` is
   "HOST[:PORT][/BUSID]" (default port 3240; without a bus id, the first exported CCID device). */
sealkit_token *sealkit_token_open_usbip(const char *address, const void *vendor_roots, size_t vendor_roots_length,
                                        sealkit_error **error);

/* Opens a token over the caller's transport and connects to it. The struct is copied; `release`
   is called exactly once, also when this fails. */
sealkit_token *sealkit_token_open_transport(const sealkit_transport *transport,
                                            const void *vendor_roots, size_t vendor_roots_length,
                                            sealkit_error **error);

/* Disconnects, releases the transport (PC/SC context, USB handle, USB/IP connection, or the
   caller's `release`) and frees the handle. NULL is ignored. */
void sealkit_token_close(sealkit_token *token);

/* The token's public state as a JSON object:
     {"transport": "...", "chipID": "HEX", "lifecycle": "ACTIVE", "counter": 3, "answerToReset": "HEX",
      "pinTriesRemaining": 3, "pinTryLimit": 3, "pukTriesRemaining": 10, "pukTryLimit": 10,
      "organizationName": "...", "sealName": "...", "featureHash": "HEX",
      "remoteAuthorizationRequired": false, "watermarkValiditySeconds": 31536000,
      "sealPublicKey": "HEX", "sealKeyID": "HEX", "specVersion": "1.0", "maxCommandData": 4096,
      "auditLogCapacity": 64, "features": ["commandChaining", "extendedLength"]}
   Keys whose value the token does not have in its lifecycle state are absent (the PIN keys in
   MANUFACTURED and TERMINATED, the personalization before it). Free with sealkit_string_free(). */
char *sealkit_token_info(sealkit_token *token, sealkit_error **error);

/* Verifies the PIN (4–12 digits). It stays verified until the token is reset or closed.
   Returns SEALKIT_OK, or the error code: SEALKIT_E_PIN_INCORRECT with the tries left,
   SEALKIT_E_PIN_BLOCKED, SEALKIT_E_INVALID_ARGUMENT (no try is spent). */
int sealkit_token_verify_pin(sealkit_token *token, const char *pin, sealkit_error **error);

/* Stamp metadata given as fields (SPEC §9.2). Zero-initialise it, then set what you need. */
typedef struct sealkit_metadata {
    /* The stamp time, seconds since 1970-01-01T00:00:00Z; 0 for the current time. */
    uint64_t time;
    /* Nonzero when latitude and longitude are given. */
    int has_location;
    int32_t latitude_microdegrees;   /* -90 000 000 … 90 000 000 */
    int32_t longitude_microdegrees;  /* -180 000 000 … 180 000 000 */
    /* Optional texts, 1–64 UTF-8 bytes each; NULL when absent. */
    const char *operator_id;
    const char *organization_unit;
    const char *approval_node;
    /* Optional device fingerprint, 1–64 bytes; NULL (and 0) when absent. */
    const uint8_t *device_fingerprint;
    size_t device_fingerprint_length;
} sealkit_metadata;

/* Stamps a document by its SHA-256 digest (32 bytes) and returns the stamp record as JSON (the
   file format of docs/stamp-record.md). The PIN must be verified and the token ACTIVE.
   `metadata_json` is an object with the record's metadata keys, all optional:
     {"time": 1767225600, "latitudeMicrodegrees": 48856600, "longitudeMicrodegrees": 2352200,
      "operatorID": "...", "organizationUnit": "...", "approvalNode": "...",
      "deviceFingerprint": "HEX"}
   A missing "time" (or NULL metadata_json) means now; an unknown key is an error.
   Free the result with sealkit_string_free(). */
char *sealkit_token_stamp_digest(sealkit_token *token, const uint8_t *digest, size_t digest_length,
                                 const char *metadata_json, sealkit_error **error);

/* As sealkit_token_stamp_digest(), with the metadata as fields; NULL metadata means the current
   time and nothing else. */
char *sealkit_token_stamp_digest_fields(sealkit_token *token, const uint8_t *digest, size_t digest_length,
                                        const sealkit_metadata *metadata, sealkit_error **error);

/* ------------------------------------------------------------------------------------------ */
/* Documents and verification (offline; need no token)                                         */
/* ------------------------------------------------------------------------------------------ */

/* Writes the SHA-256 of the file at `path` — the document digest to stamp or to verify against —
   to digest[0..31], reading the file in constant memory. Returns SEALKIT_OK, or
   SEALKIT_E_FILE_UNREADABLE (nothing is written to `digest`) or SEALKIT_E_INVALID_ARGUMENT. */
int sealkit_digest_file(const char *path, uint8_t digest[32], sealkit_error **error);

/*
 * Verifies a stamp record (JSON) against the trusted vendor root certificates and returns the
 * report as JSON:
 *   {"valid": true, "chipID": "HEX", "counter": 3, "serial": "...",
 *    "checks": [{"id": "stamp-signature", "outcome": "passed", "detail": "..."}, ...]}
 * with every check of docs/stamp-record.md; "outcome" is "passed", "failed" or "skipped".
 *
 * - trusted_roots: PEM text with one or more CERTIFICATE blocks, or one DER certificate.
 * - document_digest: SHA-256 of the document (document_digest_length 32), checked against the
 *   record; NULL (and 0) to skip that check ("document-digest" is then "skipped").
 * - options_json: NULL, or an object with optional keys
 *     {"now": 1767225600, "watermarkKey": "HEX (32 bytes)", "lastSeenCounter": 2}
 *   (verification time, default now; the issuer's watermark key to check the expiration code;
 *   the highest counter already seen from this chip).
 * - valid: when not NULL, receives 1 when no check failed, else 0.
 *
 * An invalid record is a result, not an error: the report says which checks failed. Errors are
 * for input that cannot be verified at all: SEALKIT_E_RECORD_INVALID, SEALKIT_E_ROOTS_INVALID,
 * SEALKIT_E_INVALID_ARGUMENT. Free the result with sealkit_string_free().
 */
char *sealkit_verify_record(const char *record_json,
                            const void *trusted_roots, size_t trusted_roots_length,
                            const uint8_t *document_digest, size_t document_digest_length,
                            const char *options_json, int *valid, sealkit_error **error);

#ifdef __cplusplus
}
#endif

#endif /* SEALKIT_H */
