#!/usr/bin/env python3
"""Independent reference implementation of SPEC §9.3, §10.1 and §10.2 in Python (hashlib/hmac only).

It writes watermark.json and stamp-tbs.json, the known-answer vectors the Swift tests check the
SealProtocol implementation against. Two implementations written from the spec text agreeing is the
point; rerun it only when the spec changes: python3 Fixtures/vectors/generate.py
"""
import hashlib, hmac, json, os, struct

B32 = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CHECK = B32 + "*~$=U"

def serial(chip_id: bytes, counter: int) -> str:
    prefix = int.from_bytes(hashlib.sha256(b"SEALKIT-SERIAL-V1" + chip_id).digest()[:5], "big")
    def b32(v, n):
        return "".join(B32[(v >> (5 * (n - 1 - i))) & 31] for i in range(n))
    p = b32(prefix, 8)
    c = b32(counter, 7)
    k = CHECK[((prefix << 35) + counter) % 37]
    return f"{p[:4]}-{p[4:]}-{c}-{k}"

def expiration_code(key: bytes, serial_text: str, expiry: int) -> str:
    mac = hmac.new(key, b"SEALKIT-EXPIRY-V1" + serial_text.encode() + struct.pack(">Q", expiry), hashlib.sha256).digest()
    off = mac[31] & 0x0F
    binary = int.from_bytes(mac[off:off + 4], "big") & 0x7FFFFFFF
    return f"{binary % 10**8:08d}"

def tbs(v):
    s = v["serial"].encode()
    return (b"SEALKIT-STAMP-V1" + bytes.fromhex(v["chipID"]) + struct.pack(">I", v["counter"]) + bytes([len(s)]) + s
            + struct.pack(">Q", v["expiry"]) + v["expirationCode"].encode() + bytes.fromhex(v["documentDigest"])
            + bytes.fromhex(v["metadataDigest"]) + bytes.fromhex(v["featureHash"]) + bytes.fromhex(v["keyID"])
            + struct.pack(">I", v["grantSerial"]))

def main():
    here = os.path.dirname(os.path.abspath(__file__))
    chips = [bytes(16), bytes(range(16)), bytes.fromhex("5EA1C0DE000000000000000000000001"), b"\xff" * 16]
    keys = [bytes(32), bytes(range(32)), hashlib.sha256(b"watermark").digest()]
    counters = [0, 1, 2, 9, 10, 31, 32, 1000, 65535, 65536, 2**31, 2**32 - 1]
    watermark = []
    for ci, chip in enumerate(chips):
        for counter in counters:
            s = serial(chip, counter)
            key = keys[(ci + counter) % len(keys)]
            expiry = 1_700_000_000 + counter * 86_400 % (2**32)
            watermark.append({"chipID": chip.hex().upper(), "counter": counter, "serial": s,
                              "watermarkKey": key.hex().upper(), "expiry": expiry,
                              "expirationCode": expiration_code(key, s, expiry)})
    vectors = []
    for i, w in enumerate(watermark[::5]):
        v = {"chipID": w["chipID"], "counter": w["counter"], "serial": w["serial"], "expiry": w["expiry"],
             "expirationCode": w["expirationCode"],
             "documentDigest": hashlib.sha256(b"document %d" % i).hexdigest().upper(),
             "metadataDigest": hashlib.sha256(b"metadata %d" % i).hexdigest().upper(),
             "featureHash": hashlib.sha256(b"feature %d" % i).hexdigest().upper(),
             "keyID": hashlib.sha256(b"key %d" % i).hexdigest().upper(), "grantSerial": i * 7}
        v["tbs"] = tbs(v).hex().upper()
        vectors.append(v)
    with open(os.path.join(here, "watermark.json"), "w") as f:
        json.dump({"source": "Fixtures/vectors/generate.py (independent Python implementation of SPEC §10)", "vectors": watermark}, f, indent=1)
    with open(os.path.join(here, "stamp-tbs.json"), "w") as f:
        json.dump({"source": "Fixtures/vectors/generate.py (independent Python implementation of SPEC §9.3)", "vectors": vectors}, f, indent=1)

if __name__ == "__main__":
    main()
