#!/usr/bin/env python3
"""Independent reference implementation of SPEC §9.2.1, §9.3, §10.1 and §10.2 (protocol v2) in Python
(hashlib/hmac only).

It writes watermark.json, stamp-tbs.json and commitments.json, the known-answer vectors the Swift tests
check the SealProtocol implementation against. Two implementations written from the spec text agreeing is the
point; rerun it only when the spec changes: python3 Fixtures/vectors/generate.py
"""
import hashlib, hmac, json, os, struct

B32 = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CHECK = B32 + "*~$=U"

def serial(chip_id: bytes, counter: int) -> str:
    # SPEC §10.1 v2: the first 90 bits of the hash, 18 base-32 digits; value = prefix * 2^35 + counter.
    prefix = int.from_bytes(hashlib.sha256(b"SEALKIT-SERIAL-V2" + chip_id).digest()[:12], "big") >> 6
    def b32(v, n):
        return "".join(B32[(v >> (5 * (n - 1 - i))) & 31] for i in range(n))
    p = b32(prefix, 18)
    c = b32(counter, 7)
    k = CHECK[((prefix << 35) + counter) % 37]
    return f"{p[:6]}-{p[6:12]}-{p[12:]}-{c}-{k}"

def expiration_code(key: bytes, serial_text: str, expiry: int) -> str:
    mac = hmac.new(key, b"SEALKIT-EXPIRY-V1" + serial_text.encode() + struct.pack(">Q", expiry), hashlib.sha256).digest()
    off = mac[31] & 0x0F
    binary = int.from_bytes(mac[off:off + 4], "big") & 0x7FFFFFFF
    return f"{binary % 10**8:08d}"

def tbs(v):
    s = v["serial"].encode()
    org = v["organizationName"].encode()
    name = v["sealName"].encode()
    image = bytes.fromhex(v["sealImageHash"]) if v["sealImageHash"] else bytes(32)
    return (b"SEALKIT-STAMP-V2" + bytes.fromhex(v["chipID"]) + struct.pack(">I", v["counter"]) + bytes([len(s)]) + s
            + struct.pack(">Q", v["expiry"]) + v["expirationCode"].encode() + bytes.fromhex(v["documentDigest"])
            + bytes.fromhex(v["metadataDigest"])
            + bytes([len(org)]) + org + bytes([len(name)]) + name + bytes.fromhex(v["featureHash"]) + image
            + bytes.fromhex(v["keyID"]) + struct.pack(">I", v["grantSerial"]))

# SPEC §9.2.1: commitment = SHA-256("SEALKIT-COMMIT-V1" || tag || salt(16) || plaintext).
COMMIT_TAGS = {"location": 0x92, "operatorBiometricReference": 0x93, "operatorID": 0x94, "deviceFingerprint": 0x95}

def commitment(field: str, salt: bytes, plaintext: bytes) -> bytes:
    return hashlib.sha256(b"SEALKIT-COMMIT-V1" + bytes([COMMIT_TAGS[field]]) + salt + plaintext).digest()

def tlv(tag: int, value: bytes) -> bytes:
    t = tag.to_bytes(2, "big") if tag > 0xFF else bytes([tag])
    n = len(value)
    length = bytes([n]) if n < 0x80 else (bytes([0x81, n]) if n < 0x100 else bytes([0x82]) + n.to_bytes(2, "big"))
    return t + length + value

def metadata_v2(m):
    """The canonical A1 value of SPEC §9.2 v2: 91, 92..95 commitments, 96, 97, 9F20, ascending."""
    out = tlv(0x91, struct.pack(">Q", m["time"]))
    for field, tag in sorted(COMMIT_TAGS.items(), key=lambda kv: kv[1]):
        if field in m["commitments"]:
            out += tlv(tag, bytes.fromhex(m["commitments"][field]))
    if "organizationUnit" in m:
        out += tlv(0x96, m["organizationUnit"].encode())
    if "approvalNode" in m:
        out += tlv(0x97, m["approvalNode"].encode())
    if "documentName" in m:
        out += tlv(0x9F20, m["documentName"].encode())
    return out

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
             "organizationName": ["Example Registry", "Ministère des Sceaux", "A", "x" * 64][i % 4],
             "sealName": ["Official Seal", "Sceau officiel", "B" * 64, "Z"][i % 4],
             "sealImageHash": hashlib.sha256(b"image %d" % i).hexdigest().upper() if i % 2 == 0 else None,
             "keyID": hashlib.sha256(b"key %d" % i).hexdigest().upper(), "grantSerial": i * 7}
        v["tbs"] = tbs(v).hex().upper()
        vectors.append(v)
    commitments = []
    for i in range(6):
        salt = hashlib.sha256(b"salt %d" % i).digest()[:16]
        lat, lon = [(48858370, 2294481), (-33868820, 151209296), (0, 0), (90000000, -180000000), (1, -1), (31230400, 121473700)][i]
        openings = {
            "location": {"latitudeMicrodegrees": lat, "longitudeMicrodegrees": lon, "salt": salt.hex().upper(),
                         "plaintext": struct.pack(">ii", lat, lon).hex().upper()},
            "operatorID": {"value": ["op-17", "алиса", "x" * 64, "1", "operator 5", "alice"][i], "salt": salt[::-1].hex().upper()},
            "operatorBiometricReference": {"value": hashlib.sha256(b"template %d" % i).hexdigest().upper(),
                                           "salt": hashlib.sha256(b"bio salt %d" % i).digest()[:16].hex().upper()},
            "deviceFingerprint": {"value": hashlib.sha256(b"device %d" % i).digest()[:1 + i * 12].hex().upper(),
                                  "salt": hashlib.sha256(b"fp salt %d" % i).digest()[:16].hex().upper()},
        }
        shown = {}
        for field, o in openings.items():
            if field == "location":
                plaintext = bytes.fromhex(o["plaintext"])
            elif field == "operatorID":
                plaintext = o["value"].encode()
            else:
                plaintext = bytes.fromhex(o["value"])
            if (i + COMMIT_TAGS[field]) % 3 != 0:  # not every field in every vector
                shown[field] = commitment(field, bytes.fromhex(o["salt"]), plaintext).hex().upper()
        m = {"time": 1_800_000_000 + i, "commitments": shown}
        if i % 2 == 0:
            m["organizationUnit"] = "Registry"
        if i % 3 != 2:
            m["approvalNode"] = "node-%d" % i
        if i != 1:
            m["documentName"] = ["Contract no. 42.pdf", "unused", "Vertrag §7.pdf", "x" * 128, "a", "Lease.pdf"][i]
        m["openings"] = {f: o for f, o in openings.items() if f in shown}
        encoding = metadata_v2(m)
        m["encoding"] = encoding.hex().upper()
        m["digest"] = hashlib.sha256(encoding).hexdigest().upper()
        commitments.append(m)
    with open(os.path.join(here, "commitments.json"), "w") as f:
        json.dump({"source": "Fixtures/vectors/generate.py (independent Python implementation of SPEC §9.2, §9.2.1)",
                   "vectors": commitments}, f, indent=1, ensure_ascii=False)
    with open(os.path.join(here, "watermark.json"), "w") as f:
        json.dump({"source": "Fixtures/vectors/generate.py (independent Python implementation of SPEC §10)", "vectors": watermark}, f, indent=1)
    with open(os.path.join(here, "stamp-tbs.json"), "w") as f:
        json.dump({"source": "Fixtures/vectors/generate.py (independent Python implementation of SPEC §9.3)", "vectors": vectors}, f, indent=1)

if __name__ == "__main__":
    main()
