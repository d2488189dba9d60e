// The most a durable STAMP can reach against sealbench's in-place fdatasync floor on a given disk,
// with no SealKit code at all (issue 13, docs/benchmarks.md "Durable STAMP: the bound on this disk").
//
// In interleaved rounds of 0.25 s, in one directory:
//   floor        pwrite of 200 bytes at offset 0 of a 4 KiB file, then fdatasync (what sealbench's
//                InPlaceSyncFloor does)
//   append       pwrite of a 318-byte record (a STAMP's commit record) at the next offset of a file
//                written with zeros beforehand, then fdatasync: the state file's commit alone
//   sign+append  one P-256 ECDSA signature over 300 bytes through OpenSSL's one-shot EVP_DigestSign,
//                its bytes copied into the record, then the same append: the least a STAMP must do
//                between two syncs (sign, then make the record durable)
//   precomputed  the same with the signature's nonce (k^-1 and r) computed ahead by a second
//                thread while the previous append syncs (OpenSSL's ECDSA_sign_setup, deprecated since
//                3.0; ECDSA_do_sign_ex then signs): what overlapping the signature with the sync
//                would give at best; a nonce not ready in time is computed inline
//   sign         the signature alone, for scale
// and prints each rate and the median per-round ratios to the floor.
// A STAMP also unwraps the channel, checks the request, hashes the audit chain and answers, so
// sealbench's "ratio durable STAMP/in-place fdatasync" cannot exceed the sign+append ratio.
//
//   scripts/bench/durable-bound.sh [DIRECTORY]    (default: the system temporary directory)
#define _GNU_SOURCE
#define OPENSSL_SUPPRESS_DEPRECATED  // ECDSA_sign_setup/ECDSA_do_sign_ex: the only API for a precomputed nonce
#include <fcntl.h>
#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum { rounds = 12, recordSize = 318, messageSize = 300 };
static const double sliceSeconds = 0.25;
static const off_t logBytes = 64 << 20;

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static int ascending(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *values) {
    qsort(values, rounds, sizeof(double), ascending);
    return values[rounds / 2];
}

static void fail(const char *what) {
    perror(what);
    exit(1);
}

struct bench {
    int floorFile, logFile;
    off_t logOffset;
    unsigned char record[recordSize], message[messageSize], zeros[4096];
    EVP_PKEY *key;
    EVP_MD_CTX *context;
};

static void floorOnce(struct bench *b) {
    if (pwrite(b->floorFile, b->zeros, 200, 0) != 200 || fdatasync(b->floorFile) != 0) fail("floor");
}

static void sign(struct bench *b) {
    unsigned char signature[80];
    size_t length = sizeof signature;
    if (EVP_DigestSignInit(b->context, NULL, EVP_sha256(), NULL, b->key) != 1 ||
        EVP_DigestSign(b->context, signature, &length, b->message, messageSize) != 1) fail("EVP_DigestSign");
    memcpy(b->record, signature, length < 72 ? length : 72);
}

static void appendOnce(struct bench *b) {
    if (pwrite(b->logFile, b->record, recordSize, b->logOffset) != recordSize || fdatasync(b->logFile) != 0) fail("append");
    b->logOffset += recordSize;
    if (b->logOffset > logBytes - recordSize) b->logOffset = 0;
}

// The nonce worker: computes one (k^-1, r) pair each time it is asked, and keeps the newest.
static EC_KEY *nonceKey;
static pthread_mutex_t nonceLock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t nonceWanted = PTHREAD_COND_INITIALIZER;
static int nonceRequested;
static BIGNUM *readyInverse, *readyR;
static long inlineNonces, precomputedNonces;

static void *nonceWorker(void *unused) {
    (void)unused;
    for (;;) {
        pthread_mutex_lock(&nonceLock);
        while (!nonceRequested) pthread_cond_wait(&nonceWanted, &nonceLock);
        nonceRequested = 0;
        pthread_mutex_unlock(&nonceLock);
        BIGNUM *inverse = NULL, *r = NULL;
        if (ECDSA_sign_setup(nonceKey, NULL, &inverse, &r) != 1) fail("ECDSA_sign_setup");
        pthread_mutex_lock(&nonceLock);
        BN_clear_free(readyInverse);
        BN_clear_free(readyR);
        readyInverse = inverse;
        readyR = r;
        pthread_mutex_unlock(&nonceLock);
    }
    return NULL;
}

static void precomputedSignAndAppend(struct bench *b) {
    unsigned char digest[SHA256_DIGEST_LENGTH];
    SHA256(b->message, messageSize, digest);
    pthread_mutex_lock(&nonceLock);
    BIGNUM *inverse = readyInverse, *r = readyR;
    readyInverse = readyR = NULL;
    pthread_mutex_unlock(&nonceLock);
    ECDSA_SIG *signature;
    if (inverse) {
        signature = ECDSA_do_sign_ex(digest, sizeof digest, inverse, r, nonceKey);
        precomputedNonces++;
    } else {
        signature = ECDSA_do_sign(digest, sizeof digest, nonceKey);
        inlineNonces++;
    }
    BN_clear_free(inverse);
    BN_clear_free(r);
    if (!signature) fail("ECDSA_do_sign");
    unsigned char *cursor = b->record;
    if (i2d_ECDSA_SIG(signature, &cursor) <= 0) fail("i2d_ECDSA_SIG");
    ECDSA_SIG_free(signature);
    if (pwrite(b->logFile, b->record, recordSize, b->logOffset) != recordSize) fail("append");
    pthread_mutex_lock(&nonceLock);
    nonceRequested = 1;
    pthread_cond_signal(&nonceWanted);
    pthread_mutex_unlock(&nonceLock);
    if (fdatasync(b->logFile) != 0) fail("append");
    b->logOffset += recordSize;
    if (b->logOffset > logBytes - recordSize) b->logOffset = 0;
}

static double rate(struct bench *b, void (*step)(struct bench *), void (*then)(struct bench *)) {
    long count = 0;
    double start = now(), elapsed;
    do {
        step(b);
        if (then) then(b);
        count++;
    } while ((elapsed = now() - start) < sliceSeconds);
    return count / elapsed;
}

int main(int argc, char **argv) {
    const char *directory = argc > 1 ? argv[1] : (getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    char floorPath[4096], logPath[4096];
    snprintf(floorPath, sizeof floorPath, "%s/durable-bound-floor.%d", directory, (int)getpid());
    snprintf(logPath, sizeof logPath, "%s/durable-bound-log.%d", directory, (int)getpid());

    struct bench b = {0};
    memset(b.message, 0x5A, sizeof b.message);
    memset(b.record, 0x01, sizeof b.record);
    b.floorFile = open(floorPath, O_RDWR | O_CREAT | O_TRUNC, 0600);
    b.logFile = open(logPath, O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (b.floorFile < 0 || b.logFile < 0) fail("open");
    if (write(b.floorFile, b.zeros, sizeof b.zeros) != (ssize_t)sizeof b.zeros || fsync(b.floorFile) != 0) fail("floor file");
    // The log is written with zeros first, as the state file's log area is, so an append writes
    // inside allocated blocks and its sync flushes data and no metadata.
    static unsigned char megabyte[1 << 20];
    for (off_t written = 0; written < logBytes; written += sizeof megabyte)
        if (write(b.logFile, megabyte, sizeof megabyte) != (ssize_t)sizeof megabyte) fail("log file");
    if (fsync(b.logFile) != 0) fail("fsync");
    b.key = EVP_EC_gen("P-256");
    b.context = EVP_MD_CTX_new();
    if (!b.key || !b.context) fail("OpenSSL");
    nonceKey = EC_KEY_new_by_curve_name(NID_X9_62_prime256v1);
    if (!nonceKey || EC_KEY_generate_key(nonceKey) != 1) fail("EC_KEY_generate_key");
    pthread_t worker;
    if (pthread_create(&worker, NULL, nonceWorker, NULL) != 0) fail("pthread_create");

    for (int i = 0; i < 50; i++) { floorOnce(&b); sign(&b); appendOnce(&b); }
    double floorRates[rounds], appendRates[rounds], signedRates[rounds], signRates[rounds], precomputedRates[rounds];
    double appendRatios[rounds], signedRatios[rounds], precomputedRatios[rounds];
    for (int r = 0; r < rounds; r++) {
        floorRates[r] = rate(&b, floorOnce, NULL);
        appendRates[r] = rate(&b, appendOnce, NULL);
        signedRates[r] = rate(&b, sign, appendOnce);
        precomputedRates[r] = rate(&b, precomputedSignAndAppend, NULL);
        signRates[r] = rate(&b, sign, NULL);
        precomputedRatios[r] = precomputedRates[r] / floorRates[r];
        appendRatios[r] = appendRates[r] / floorRates[r];
        signedRatios[r] = signedRates[r] / floorRates[r];
    }
    double floorRate = median(floorRates), appendRate = median(appendRates);
    double signedRate = median(signedRates), signRate = median(signRates), precomputedRate = median(precomputedRates);
    printf("in-place 200-byte write + fdatasync (floor): %8.0f/s  %6.1f us\n", floorRate, 1e6 / floorRate);
    printf("318-byte append + fdatasync:                 %8.0f/s  %6.1f us   ratio to floor %.2f (median of %d rounds)\n",
           appendRate, 1e6 / appendRate, median(appendRatios), rounds);
    printf("P-256 sign, then the append:                 %8.0f/s  %6.1f us   ratio to floor %.2f (median of %d rounds)\n",
           signedRate, 1e6 / signedRate, median(signedRatios), rounds);
    printf("the same, nonce computed during the last sync: %6.0f/s  %6.1f us   ratio to floor %.2f (median of %d rounds; %ld of %ld nonces inline)\n",
           precomputedRate, 1e6 / precomputedRate, median(precomputedRatios), rounds, inlineNonces, inlineNonces + precomputedNonces);
    printf("P-256 sign alone (OpenSSL):                  %8.0f/s  %6.1f us\n", signRate, 1e6 / signRate);

    unlink(floorPath);
    unlink(logPath);
    return 0;
}
