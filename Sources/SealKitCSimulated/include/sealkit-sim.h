/*
 * sealkit-sim.h — libsealkit-sim: the SealKit simulated seal token, in process, for testing code
 * that uses libsealkit without hardware. TEST ONLY: the token is manufactured under the public
 * test vendor CA of Fixtures/, so nothing it signs proves anything about a real seal.
 *
 * The simulated token is handed to libsealkit as a caller-supplied transport:
 *
 *     char *message = NULL;
 *     sealkit_sim *sim = sealkit_sim_create(NULL, &message);        // in memory
 *     sealkit_transport transport;
 *     sealkit_sim_transport(sim, &transport);
 *     const char *root = sealkit_sim_vendor_root_pem();   // the chip is authenticated under it
 *     sealkit_token *token = sealkit_token_open_transport(&transport, root, strlen(root), &error);
 *     sealkit_sim_free(sim);              // the transport keeps the token alive until closed
 *     ...
 *     sealkit_token_close(token);
 *
 * The two libraries share nothing but the C types of sealkit.h: each carries its own copy of the
 * Swift code it is built from and exports only its sealkit_* functions.
 *
 * Link: cc $(pkg-config --cflags --libs sealkit sealkit-sim) ...
 *
 * Thread safety: every function may be called from any thread; the token serializes its
 * commands as a chip does. Error messages are returned in `*error_message` (when not NULL) as a
 * string the caller frees with sealkit_sim_string_free().
 */
#ifndef SEALKIT_SIM_H
#define SEALKIT_SIM_H

#include "sealkit.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A simulated token. Opaque; free with sealkit_sim_free(). */
typedef struct sealkit_sim sealkit_sim;

/*
 * Makes a ready-to-use test token: manufactured under the test vendor CA, personalized
 * ("SealKit Demo Co." / "Demo Contract Seal", PIN sealkit_sim_pin(), 3 tries, PUK 12345678) and
 * ACTIVE.
 *
 * state_path NULL: the token lives in memory and is gone when freed.
 * state_path set: the token's non-volatile memory is that file, made on first use (with its
 * watermark key beside it in "<state_path>.watermark-key") and reopened as it is afterwards, so
 * counters, PIN tries and the audit log persist across runs.
 *
 * Returns NULL on failure, with a message in *error_message when error_message is not NULL.
 */
sealkit_sim *sealkit_sim_create(const char *state_path, char **error_message);

/*
 * Fills *transport with the functions that reach the simulated token, for
 * sealkit_token_open_transport(). The transport holds a reference to the token, dropped by its
 * `release` (which libsealkit calls when the token is closed, or when opening fails), so `sim` may
 * be freed as soon as the transport is handed over. A filled transport that is never handed to
 * libsealkit must be released by calling transport->release(transport->context).
 * Returns 0, or -1 when an argument is NULL.
 */
int sealkit_sim_transport(sealkit_sim *sim, sealkit_transport *transport);

/* The token's 32-byte watermark key (the issuer's secret for the expiration code), for the
   "watermarkKey" option of sealkit_verify_record(). Returns 0, or -1 when the key is not known
   (a state file made elsewhere) or an argument is NULL. */
int sealkit_sim_watermark_key(const sealkit_sim *sim, uint8_t key[32]);

/* The PEM certificate of the test vendor root CA that certifies the simulated tokens; pass it
   as the trusted roots of sealkit_verify_record(). Static storage: do not free. */
const char *sealkit_sim_vendor_root_pem(void);

/* The PIN of the simulated tokens, "123456". Static storage: do not free. */
const char *sealkit_sim_pin(void);

/* Drops the caller's reference to the token. NULL is ignored. */
void sealkit_sim_free(sealkit_sim *sim);

/* Frees an error message of this library. NULL is ignored. */
void sealkit_sim_string_free(char *string);

#ifdef __cplusplus
}
#endif

#endif /* SEALKIT_SIM_H */
