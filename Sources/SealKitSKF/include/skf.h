/*
 * skf.h — libsealkit-skf: a SealKit seal token seen through the GM/T 0016-2012 ("SKF") smart-key
 * interface, for e-seal software written against SKF. docs/skf.md is the guide; this header is
 * the reference. Only the functions a seal application uses are offered (the list below); the
 * types, structure layouts, constants and error codes are GM/T 0016's.
 *
 * Link: cc $(pkg-config --cflags --libs sealkit-skf) ...
 *
 * THE MODEL
 *   device       a seal token: a PC/SC reader holding one, or a token registered with
 *                SKF_SealKit_AddTransportDevice() (the simulated token of libsealkit-sim, a vendor
 *                reader stack). SKF_ConnectDev authenticates the chip under the vendor roots
 *                (SKF_SealKit_SetVendorRoots(), or the PEM file named by SEALKIT_VENDOR_ROOTS).
 *   application  the seal applet, named "SEALKIT" (the only one).
 *   container    the seal key, named "SEAL" (the only one): SM2 or P-256, chosen at
 *                personalization. Its signing certificate is the signer certificate the installed
 *                GB/T 38540 SES_Seal lists for this key.
 *   USER PIN     the token's PIN; ADMIN PIN: the token's PUK (SKF_UnblockPIN, SKF_GetPINInfo).
 *
 * SIGNING: THE CHIP IS NEVER A SIGNING ORACLE
 *   A SealKit chip signs only a GB/T 38540 TBS_Sign it composes itself (STAMP-SES, SPEC §8.17):
 *   its data hash is the digest of this stamp, its seal the installed one, its one extension the
 *   chip's own receipt (counter, serial, expiration code, native signature). So SKF_ECCSignData
 *   cannot sign an arbitrary digest. A seal application stamps in three steps:
 *     1. build TBS_Sign as GB/T 38540 says (version 4, the installed seal, time, dataHash = SM3 of
 *        the signed data, propertyInfo; no extDatas) and pass its DER to
 *        SKF_SealKit_PrepareStamp(): the token stamps now (the counter advances) and the call
 *        returns the DER TBS_Sign the chip signed: the application's, plus the receipt extension;
 *     2. hash that TBS_Sign as for any SKF signature: e = SM3(Z_A || TBS_Sign), Z_A over the
 *        distinguishing ID 1234567812345678 and the container's public key;
 *     3. SKF_ECCSignData(hContainer, e, 32, &signature) returns the chip's signature for that
 *        digest, once. Any other digest — one no prepared stamp of this container has — is
 *        refused with SAR_NOTSUPPORTYETERR and nothing is sent to the token.
 *   The signature is SM2 with SM3 over TBS_Sign under the distinguishing ID: it verifies with
 *   `openssl pkeyutl -verify -rawin -digest sm3 -pkeyopt distid:1234567812345678`.
 *
 * CONVENTIONS (GM/T 0016)
 *   Every function returns SAR_OK or a SAR_* code. Name lists are multi-strings: names separated
 *   by '\0', ending with an extra '\0'. Functions that return a list, a blob or a certificate
 *   take the buffer and a pointer to its size: with a NULL buffer they write the size needed and
 *   return SAR_OK; with a buffer smaller than that they write the size needed and return
 *   SAR_BUFFER_TOO_SMALL. Handles are valid until closed; a closed or unknown handle is
 *   SAR_INVALIDHANDLEERR (never a crash). Every call blocks until the token has answered; call it
 *   from ordinary threads (not from a Swift task or a transport callback: SAR_FAIL). A handle may
 *   be used from several threads: its token runs one operation at a time. A C string argument
 *   that is not UTF-8, or a NULL where a value is needed, is SAR_INVALIDPARAMERR. Set the
 *   environment variable SEALKIT_SKF_DEBUG to have each failure explained on stderr.
 */
#ifndef SEALKIT_SKF_H
#define SEALKIT_SKF_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------------------------ */
/* GM/T 0016 base types                                                                         */
/* ------------------------------------------------------------------------------------------ */

typedef int8_t INT8;
typedef int16_t INT16;
typedef int32_t INT32;
typedef uint8_t UINT8;
typedef uint16_t UINT16;
typedef uint32_t UINT32;
typedef int32_t BOOL;
typedef uint8_t BYTE;
typedef char CHAR;
typedef int16_t SHORT;
typedef uint16_t USHORT;
typedef int32_t LONG;
typedef uint32_t ULONG;
typedef uint32_t UINT;
typedef uint16_t WORD;
typedef uint32_t DWORD;
typedef uint32_t FLAGS;
typedef char *LPSTR;
typedef void *HANDLE;
typedef HANDLE DEVHANDLE;
typedef HANDLE HAPPLICATION;
typedef HANDLE HCONTAINER;

#ifndef TRUE
#define TRUE 1
#endif
#ifndef FALSE
#define FALSE 0
#endif

#define DEVAPI

/* PIN types. */
#define ADMIN_TYPE 0
#define USER_TYPE 1

/* Algorithm identifiers (GM/T 0006) reported by SKF_GetDevInfo. */
#define SGD_SM3 0x00000001
#define SGD_SHA256 0x00000004
#define SGD_SM2_1 0x00020100       /* SM2 signature */

#define MAX_IV_LEN 32
#define ECC_MAX_XCOORDINATE_BITS_LEN 512
#define ECC_MAX_YCOORDINATE_BITS_LEN 512
#define ECC_MAX_MODULUS_BITS_LEN 512

/* The structures are byte-packed, as GM/T 0016's reference header declares them. */
#pragma pack(push, 1)

typedef struct Struct_Version {
    BYTE major;
    BYTE minor;
} VERSION;

/* Character fields are NUL-padded; a value as long as its field fills it without a NUL. */
typedef struct Struct_DEVINFO {
    VERSION Version;            /* of this interface: 1.0 */
    CHAR Manufacturer[64];      /* "SealKit" */
    CHAR Issuer[64];            /* the personalization's organization name, "" before it */
    CHAR Label[32];             /* the seal name, "" before personalization */
    CHAR SerialNumber[32];      /* the chip ID, 32 uppercase hex digits: the field is full, no NUL */
    VERSION HWVersion;          /* the protocol version of the chip (capabilities) */
    VERSION FirmwareVersion;    /* the same */
    ULONG AlgSymCap;            /* 0: no symmetric algorithm is offered */
    ULONG AlgAsymCap;           /* SGD_SM2_1 for an SM2 seal key, 0 for P-256 */
    ULONG AlgHashCap;           /* SGD_SM3 | SGD_SHA256 (what stamps hash with) */
    ULONG DevAuthAlgId;         /* 0: device authentication is not offered */
    ULONG TotalSpace;           /* 0: no file system */
    ULONG FreeSpace;            /* 0 */
    ULONG MaxECCBufferSize;     /* the most command data the chip takes */
    ULONG MaxBufferSize;        /* the same */
    BYTE Reserved[64];
} DEVINFO, *PDEVINFO;

typedef struct Struct_ECCPUBLICKEYBLOB {
    ULONG BitLen;                                             /* 256 */
    BYTE XCoordinate[ECC_MAX_XCOORDINATE_BITS_LEN / 8];      /* big-endian, right-aligned */
    BYTE YCoordinate[ECC_MAX_YCOORDINATE_BITS_LEN / 8];      /* big-endian, right-aligned */
} ECCPUBLICKEYBLOB, *PECCPUBLICKEYBLOB;

typedef struct Struct_ECCSIGNATUREBLOB {
    BYTE r[ECC_MAX_XCOORDINATE_BITS_LEN / 8];                 /* big-endian, right-aligned */
    BYTE s[ECC_MAX_XCOORDINATE_BITS_LEN / 8];                 /* big-endian, right-aligned */
} ECCSIGNATUREBLOB, *PECCSIGNATUREBLOB;

#pragma pack(pop)

/* ------------------------------------------------------------------------------------------ */
/* Error codes (GM/T 0016-2012 appendix A)                                                      */
/* ------------------------------------------------------------------------------------------ */

#define SAR_OK                        0x00000000
#define SAR_FAIL                      0x0A000001
#define SAR_UNKNOWNERR                0x0A000002
#define SAR_NOTSUPPORTYETERR          0x0A000003
#define SAR_FILEERR                   0x0A000004
#define SAR_INVALIDHANDLEERR          0x0A000005
#define SAR_INVALIDPARAMERR           0x0A000006
#define SAR_READFILEERR               0x0A000007
#define SAR_WRITEFILEERR              0x0A000008
#define SAR_NAMELENERR                0x0A000009
#define SAR_KEYUSAGEERR               0x0A00000A
#define SAR_MODULUSLENERR             0x0A00000B
#define SAR_NOTINITIALIZEERR          0x0A00000C
#define SAR_OBJERR                    0x0A00000D
#define SAR_MEMORYERR                 0x0A00000E
#define SAR_TIMEOUTERR                0x0A00000F
#define SAR_INDATALENERR              0x0A000010
#define SAR_INDATAERR                 0x0A000011
#define SAR_GENRANDERR                0x0A000012
#define SAR_HASHOBJERR                0x0A000013
#define SAR_HASHERR                   0x0A000014
#define SAR_GENRSAKEYERR              0x0A000015
#define SAR_RSAMODULUSLENERR          0x0A000016
#define SAR_CSPIMPRTPUBKEYERR         0x0A000017
#define SAR_RSAENCERR                 0x0A000018
#define SAR_RSADECERR                 0x0A000019
#define SAR_HASHNOTEQUALERR           0x0A00001A
#define SAR_KEYNOTFOUNTERR            0x0A00001B
#define SAR_CERTNOTFOUNTERR           0x0A00001C
#define SAR_NOTEXPORTERR              0x0A00001D
#define SAR_DECRYPTPADERR             0x0A00001E
#define SAR_MACLENERR                 0x0A00001F
#define SAR_BUFFER_TOO_SMALL          0x0A000020
#define SAR_KEYINFOTYPEERR            0x0A000021
#define SAR_NOT_EVENTERR              0x0A000022
#define SAR_DEVICE_REMOVED            0x0A000023
#define SAR_PIN_INCORRECT             0x0A000024
#define SAR_PIN_LOCKED                0x0A000025
#define SAR_PIN_INVALID               0x0A000026
#define SAR_PIN_LEN_RANGE             0x0A000027
#define SAR_USER_ALREADY_LOGGED_IN    0x0A000028
#define SAR_USER_PIN_NOT_INITIALIZED  0x0A000029
#define SAR_USER_TYPE_INVALID         0x0A00002A
#define SAR_APPLICATION_NAME_INVALID  0x0A00002B
#define SAR_APPLICATION_EXISTS        0x0A00002C
#define SAR_USER_NOT_LOGGED_IN        0x0A00002D
#define SAR_APPLICATION_NOT_EXISTS    0x0A00002E
#define SAR_FILE_ALREADY_EXIST        0x0A00002F
#define SAR_NO_ROOM                   0x0A000030
#define SAR_FILE_NOT_EXIST            0x0A000031

/* ------------------------------------------------------------------------------------------ */
/* Devices                                                                                      */
/* ------------------------------------------------------------------------------------------ */

/* The devices: tokens registered with SKF_SealKit_AddTransportDevice(), then the PC/SC readers
   (none when pcscd is not running). bPresent TRUE lists only readers holding a card. */
ULONG DEVAPI SKF_EnumDev(BOOL bPresent, LPSTR szNameList, ULONG *pulSize);

/* Opens and connects the device named szName (exactly as listed), authenticating the chip under
   the vendor roots: SAR_FAIL when it does not chain to them, SAR_DEVICE_REMOVED when the reader
   is empty or gone, SAR_INVALIDPARAMERR for a name that is no device. */
ULONG DEVAPI SKF_ConnectDev(LPSTR szName, DEVHANDLE *phDev);

/* Disconnects and frees the device and every application and container opened on it. */
ULONG DEVAPI SKF_DisConnectDev(DEVHANDLE hDev);

ULONG DEVAPI SKF_GetDevInfo(DEVHANDLE hDev, DEVINFO *pDevInfo);

/* ------------------------------------------------------------------------------------------ */
/* Applications and PINs                                                                        */
/* ------------------------------------------------------------------------------------------ */

/* "SEALKIT\0\0". */
ULONG DEVAPI SKF_EnumApplication(DEVHANDLE hDev, LPSTR szAppName, ULONG *pulSize);
/* Any name but "SEALKIT" is SAR_APPLICATION_NOT_EXISTS. */
ULONG DEVAPI SKF_OpenApplication(DEVHANDLE hDev, LPSTR szAppName, HAPPLICATION *phApplication);
/* Logs the PIN out (VERIFY reset) and frees the application and its containers. */
ULONG DEVAPI SKF_CloseApplication(HAPPLICATION hApplication);

/* USER_TYPE: verifies the token's PIN (6–12 digits; other lengths SAR_PIN_LEN_RANGE, other
   characters SAR_PIN_INVALID, no try spent). A wrong PIN is SAR_PIN_INCORRECT with the tries
   left in *pulRetryCount; a blocked one SAR_PIN_LOCKED (*pulRetryCount 0). ADMIN_TYPE: the PUK
   cannot be verified on its own (SAR_NOTSUPPORTYETERR); use SKF_UnblockPIN. */
ULONG DEVAPI SKF_VerifyPIN(HAPPLICATION hApplication, ULONG ulPINType, LPSTR szPIN, ULONG *pulRetryCount);

/* USER_TYPE: changes the PIN (the new PIN is then verified). ADMIN_TYPE: SAR_NOTSUPPORTYETERR
   (the PUK is fixed at personalization). Errors as SKF_VerifyPIN. */
ULONG DEVAPI SKF_ChangePIN(HAPPLICATION hApplication, ULONG ulPINType, LPSTR szOldPin, LPSTR szNewPin,
                           ULONG *pulRetryCount);

/* The try limit and the tries left of the PIN (USER_TYPE) or the PUK (ADMIN_TYPE).
   *pbDefaultPin is FALSE: the token does not know whether a PIN is its issuer's initial one. */
ULONG DEVAPI SKF_GetPINInfo(HAPPLICATION hApplication, ULONG ulPINType, ULONG *pulMaxRetryCount,
                            ULONG *pulRemainRetryCount, BOOL *pbDefaultPin);

/* Sets a new PIN with the PUK (szAdminPIN, 8–16 digits) and resets both counters. A wrong PUK is
   SAR_PIN_INCORRECT with the PUK tries left in *pulRetryCount. */
ULONG DEVAPI SKF_UnblockPIN(HAPPLICATION hApplication, LPSTR szAdminPIN, LPSTR szNewUserPIN, ULONG *pulRetryCount);

/* ------------------------------------------------------------------------------------------ */
/* Containers and keys                                                                          */
/* ------------------------------------------------------------------------------------------ */

/* "SEAL\0\0" once the token is personalized (it has a seal key), "\0" before. */
ULONG DEVAPI SKF_EnumContainer(HAPPLICATION hApplication, LPSTR szContainerName, ULONG *pulSize);
/* Any name but "SEAL", or "SEAL" on a token without a seal key, is SAR_FILE_NOT_EXIST. */
ULONG DEVAPI SKF_OpenContainer(HAPPLICATION hApplication, LPSTR szContainerName, HCONTAINER *phContainer);
ULONG DEVAPI SKF_CloseContainer(HCONTAINER hContainer);

/* bSignFlag TRUE: the seal key as an ECCPUBLICKEYBLOB (*pulBlobLen = sizeof(ECCPUBLICKEYBLOB)).
   FALSE: there is no encryption key (SAR_KEYNOTFOUNTERR). */
ULONG DEVAPI SKF_ExportPublicKey(HCONTAINER hContainer, BOOL bSignFlag, BYTE *pbBlob, ULONG *pulBlobLen);

/* bSignFlag TRUE: the DER certificate of the seal key, taken from the installed SES_Seal's
   signer-certificate list (the one whose key is the container's). SAR_CERTNOTFOUNTERR when no
   SES_Seal is installed (a P-256 token never has one) or none of its certificates is for this
   key, and for bSignFlag FALSE. */
ULONG DEVAPI SKF_ExportCertificate(HCONTAINER hContainer, BOOL bSignFlag, BYTE *pbCert, ULONG *pulCertLen);

/* The signature of a prepared stamp (see SIGNING above): pbData is the 32-byte SM3 digest
   e = SM3(Z_A || TBS_Sign) of a TBS_Sign that SKF_SealKit_PrepareStamp() returned for this
   container. A digest of anything else is SAR_NOTSUPPORTYETERR (the chip signs only stamps);
   a length other than 32 SAR_INDATALENERR. Each prepared signature is handed out once. */
ULONG DEVAPI SKF_ECCSignData(HCONTAINER hContainer, BYTE *pbData, ULONG ulDataLen, PECCSIGNATUREBLOB pSignature);

/* ------------------------------------------------------------------------------------------ */
/* SealKit extensions                                                                           */
/* ------------------------------------------------------------------------------------------ */

struct sealkit_transport;  /* sealkit.h */

/* The vendor root certificates (PEM with one or more CERTIFICATE blocks, or one DER
   certificate) that SKF_ConnectDev authenticates chips under, replacing earlier ones; copied.
   Without a call, the PEM file named by the environment variable SEALKIT_VENDOR_ROOTS is read at
   each connect; with neither, every chip is refused (SAR_FAIL). SAR_INVALIDPARAMERR when the
   bytes hold no certificate. */
ULONG DEVAPI SKF_SealKit_SetVendorRoots(const BYTE *pbRoots, ULONG ulRootsLen);

/* Registers a device named szName reached through the caller's transport (sealkit.h; e.g.
   sealkit_sim_transport() of libsealkit-sim). The struct is copied and the library owns the
   transport from now on, also when this fails: its `release` is called once, when the device
   is removed at process exit or when registering fails. SAR_INVALIDPARAMERR for an empty name,
   a name already registered, or a transport without connect/transmit. */
ULONG DEVAPI SKF_SealKit_AddTransportDevice(LPSTR szName, const struct sealkit_transport *pTransport);

/* Stamps with the container's seal key (STAMP-SES): pbTBSSign is the DER GB/T 38540 v4 TBS_Sign
   the application built (version 4, the installed seal byte for byte, timeInfo as
   GeneralizedTime, dataHash = the 32-byte SM3 of the signed data, propertyInfo, no extDatas).
   The user PIN must be verified (SAR_USER_NOT_LOGGED_IN). The token composes the same TBS_Sign
   with its receipt as the one extension and signs it; the library checks the signature under
   the seal key, keeps it for SKF_ECCSignData, and writes the DER of the TBS_Sign the chip signed
   to pbSignedTBS, its length to *pulSignedTBSLen. Its length depends on the chip's answer, so the
   size query (pbSignedTBS NULL) gives the most it can be, and a buffer smaller than that is
   SAR_BUFFER_TOO_SMALL; neither stamps.
   SAR_INDATAERR for a TBS_Sign that is not such, whose seal is not the installed one, or that
   has extensions; SAR_NOTSUPPORTYETERR for a P-256 container or a token without an SES_Seal.
   Every successful call advances the token's counter by one. */
ULONG DEVAPI SKF_SealKit_PrepareStamp(HCONTAINER hContainer, const BYTE *pbTBSSign, ULONG ulTBSSignLen,
                                      BYTE *pbSignedTBS, ULONG *pulSignedTBSLen);

#ifdef __cplusplus
}
#endif

#endif /* SEALKIT_SKF_H */
