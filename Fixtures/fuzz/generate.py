#!/usr/bin/env python3
"""Writes the seed corpus of every libFuzzer target (docs/fuzzing.md) into Fixtures/fuzz/<Target>/.

The seeds are small files made from the known-answer material in the repository: the APDU
transcript (Fixtures/transcripts/basic-session.txt), the stamp record example of
docs/stamp-record.md, and hand-built frames of the wire formats. Deterministic: re-running it
rewrites the same files. Run from anywhere: python3 Fixtures/fuzz/generate.py
"""
import json
import os
import re
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def write(target, name, data):
    folder = os.path.join(HERE, target)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, name), "wb") as f:
        f.write(bytes(data))


def transcript():
    """(commands, responses) of the transcript whose bytes are deterministic (lines without '*')."""
    commands, responses = [], []
    with open(os.path.join(ROOT, "Fixtures", "transcripts", "basic-session.txt")) as f:
        for line in f:
            if not line.startswith((">>", "<<")):
                continue
            hex_part = line[3:].split("  ")[0]
            if not re.fullmatch(r"([0-9A-F]{2} ?)+", hex_part.strip()):
                continue
            data = bytes.fromhex(hex_part)
            (commands if line.startswith(">>") else responses).append(data)
    return commands, responses


def tlv(tag, value):
    value = bytes(value)
    n = len(value)
    if n < 0x80:
        length = bytes([n])
    elif n < 0x100:
        length = bytes([0x81, n])
    else:
        length = bytes([0x82, n >> 8, n & 0xFF])
    tag_bytes = tag.to_bytes((tag.bit_length() + 7) // 8 or 1, "big")
    return tag_bytes + length + value


def apdu(cla, ins, p1, p2, data=b"", le=None):
    out = bytes([cla, ins, p1, p2])
    if data:
        out += bytes([len(data)]) + bytes(data)
    if le is not None:
        out += bytes([le & 0xFF])
    return out


commands, responses = transcript()
pin = b"123456"
select = apdu(0x00, 0xA4, 0x04, 0x00, bytes.fromhex("F05345414C4B495401"), 0)
verify = apdu(0x00, 0x20, 0x00, 0x81, pin)
stamps = [c for c in commands if c[:2] == b"\x80\x54"]

# FuzzAPDU: every command and response of the transcript, plus the extended and edge forms.
for i, c in enumerate(commands):
    write("FuzzAPDU", f"command-{i:02d}", c)
for i, r in enumerate(responses):
    write("FuzzAPDU", f"response-{i:02d}", r)
write("FuzzAPDU", "case2-extended", bytes.fromhex("00CA0101000000"))
write("FuzzAPDU", "case4-extended", bytes.fromhex("80580000000004AABBCCDD0000"))
write("FuzzAPDU", "case1", bytes.fromhex("00A40400"))

# FuzzBERTLV: the TLV-coded responses (FCI, capabilities, personalization info) and STAMP data.
tlv_seeds = [r[:-2] for r in responses if len(r) > 2 and r[0] in (0x6F, 0x80, 0x41, 0x9A)]
for i, s in enumerate(tlv_seeds):
    write("FuzzBERTLV", f"response-{i:02d}", s)
for i, s in enumerate(stamps):
    write("FuzzBERTLV", f"stamp-request-{i:02d}", s[7:-2])
write("FuzzBERTLV", "nested", tlv(0xA5, tlv(0x80, b"\x01\x00") + tlv(0x81, b"\x10\x00")))
write("FuzzBERTLV", "long-forms", tlv(0x5F20, bytes(200)) + tlv(0x04, bytes(300)))

# FuzzChipAPDU: sessions, each APDU preceded by its 2-byte big-endian length.
def session(*apdus):
    out = b""
    for a in apdus:
        out += struct.pack(">H", len(a)) + a
    return out

get_data = [apdu(0x00, 0xCA, 0x01, obj, le=0) for obj in range(0x01, 0x0B)]
write("FuzzChipAPDU", "identity", session(select, *get_data))
write("FuzzChipAPDU", "transcript", session(*commands))
write("FuzzChipAPDU", "stamp", session(select, verify, *stamps, apdu(0x00, 0xC0, 0, 0, le=0),
                                      apdu(0x80, 0x56, 0, 0, b"\x00\x00\x00\x00", 0)))
write("FuzzChipAPDU", "stamp-twice", session(select, verify, *(stamps * 2), apdu(0x00, 0xCA, 0x01, 0x09, le=0)))
write("FuzzChipAPDU", "wrong-pins", session(select, *[apdu(0x00, 0x20, 0x00, 0x81, b"000000")] * 4,
                                           apdu(0x00, 0x2C, 0x00, 0x81, tlv(0x83, b"87654321") + tlv(0x82, pin)), verify))
write("FuzzChipAPDU", "change-pin", session(select, verify,
                                           apdu(0x00, 0x24, 0x00, 0x81, tlv(0x81, pin) + tlv(0x82, b"654321")),
                                           apdu(0x00, 0x20, 0xFF, 0x81)))
stamp_data = stamps[0][7:-2]  # the transcript's STAMP is extended: 00 Lc1 Lc2 data 00 00
write("FuzzChipAPDU", "chaining", session(select, verify,
                                         apdu(0x90, 0x54, 0x00, 0x00, stamp_data[:40]),
                                         apdu(0x80, 0x54, 0x00, 0x00, stamp_data[40:], 0)))
write("FuzzChipAPDU", "attestation", session(select, apdu(0x80, 0x58, 0, 0, bytes(range(32)), 0), apdu(0x00, 0xC0, 0, 0, le=0)))
write("FuzzChipAPDU", "short-and-empty", session(b"", b"\x00", select, b"\x00\xA4", apdu(0x00, 0xCA, 0x01, 0x01, le=8)))

# FuzzVPCDFrame: read size byte, payload limit byte, then frames (control bytes and APDUs).
def frames(*payloads):
    return b"".join(struct.pack(">H", len(p)) + p for p in payloads)

write("FuzzVPCDFrame", "session", b"\x00\xff" + frames(b"\x01", b"\x04", *commands[:6], b"\x00"))
write("FuzzVPCDFrame", "split-reads", b"\x02\x10" + frames(b"\x02", select, b"", verify) + b"\x00")
write("FuzzVPCDFrame", "oversize", b"\xff\x01" + frames(b"\x01", bytes(40)) + b"\xff\xff")

# FuzzCCID: bulk-OUT and bulk-IN messages, an interrupt message, a CCID configuration descriptor.
def ccid(kind, data=b"", slot=0, seq=0, specific=b"\x00\x00\x00"):
    return bytes([kind]) + struct.pack("<I", len(data)) + bytes([slot, seq]) + specific + bytes(data)

write("FuzzCCID", "power-on", ccid(0x62, specific=b"\x01\x00\x00"))
write("FuzzCCID", "slot-status", ccid(0x65, seq=1))
write("FuzzCCID", "xfr-block-select", ccid(0x6F, select, seq=2))
write("FuzzCCID", "stream", b"".join(ccid(0x6F, c, seq=i) for i, c in enumerate(commands[:5])))
write("FuzzCCID", "data-block", ccid(0x80, responses[0], seq=2, specific=b"\x00\x00\x00"))
write("FuzzCCID", "atr", ccid(0x80, bytes.fromhex("3B8881010000000000000000"), specific=b"\x00\x00\x00"))
write("FuzzCCID", "slot-status-reply", ccid(0x81, specific=b"\x00\x00\x00"))
write("FuzzCCID", "parameters", ccid(0x82, bytes.fromhex("1100000A0000FE00"), specific=b"\x00\x00\x01"))
write("FuzzCCID", "set-parameters", ccid(0x61, bytes.fromhex("1100000A0000FE00"), specific=b"\x01\x00\x00"))
write("FuzzCCID", "notify-slot-change", b"\x50\x03")
write("FuzzCCID", "hardware-error", b"\x51\x00\x01\x02")
ccid_class = bytes.fromhex(
    "3621" "1001" "00" "07" "03000000" "A00F0000" "A00F0000" "00" "80250000" "00B00400" "00"
    "FE000000" "00000000" "00000000" "BA040400" "0F010000" "0000" "00" "01")
interface = bytes.fromhex("0904000003" "0B0000" "00")
endpoints = bytes.fromhex("0705010240000007058202400000070583030800" "0A")
body = interface + ccid_class + endpoints
config = bytes.fromhex("0902") + struct.pack("<H", 9 + len(body)) + bytes.fromhex("010100" "80" "32") + body
write("FuzzCCID", "configuration", config)
write("FuzzCCID", "device-descriptor", bytes.fromhex("12010002000000406b1d04010001010203" "01"))

# FuzzUSBIP: selector byte (0 op request, 1 op reply, 2 URB command, 3/4 URB return IN/OUT).
busid = b"1-1".ljust(32, b"\x00")
path = b"/sys/devices/platform/vhci_hcd.0/usb1/1-1".ljust(256, b"\x00")
device = path + busid + struct.pack(">IIIHHHBBBBBB", 1, 2, 2, 0x1D6B, 0x0104, 0x0100, 0, 0, 0, 1, 1, 1)
write("FuzzUSBIP", "request-devlist", b"\x00" + struct.pack(">HHI", 0x0111, 0x8005, 0))
write("FuzzUSBIP", "request-import", b"\x00" + struct.pack(">HHI", 0x0111, 0x8003, 0) + busid)
write("FuzzUSBIP", "reply-devlist", b"\x01" + struct.pack(">HHII", 0x0111, 0x0005, 0, 1) + device + bytes([0x0B, 0, 0, 0]))
write("FuzzUSBIP", "reply-import", b"\x01" + struct.pack(">HHI", 0x0111, 0x0003, 0) + device)
write("FuzzUSBIP", "reply-import-error", b"\x01" + struct.pack(">HHI", 0x0111, 0x0003, 1))
submit_header = lambda seq, direction, ep, length: struct.pack(">IIIII", 1, seq, 0x10002, direction, ep) + struct.pack(">IIIII", 0, length, 0, 0, 0)
write("FuzzUSBIP", "submit-control", b"\x02" + submit_header(1, 1, 0, 18) + bytes.fromhex("8006000100001200"))
write("FuzzUSBIP", "submit-bulk-out", b"\x02" + submit_header(2, 0, 1, 16) + bytes.fromhex("0000000000000000") + ccid(0x65, seq=3)[:16].ljust(16, b"\x00"))
write("FuzzUSBIP", "unlink", b"\x02" + struct.pack(">IIIII", 2, 3, 0x10002, 0, 0) + struct.pack(">I", 2) + bytes(24))
ret_header = lambda seq, length: struct.pack(">IIIII", 3, seq, 0, 0, 0) + struct.pack(">iIIII", 0, length, 0, 0, 0) + bytes(8)
write("FuzzUSBIP", "return-in", b"\x03" + ret_header(1, 12) + ccid(0x81)[:12])
write("FuzzUSBIP", "return-out", b"\x04" + ret_header(2, 16))
write("FuzzUSBIP", "return-unlink", b"\x03" + struct.pack(">IIIII", 4, 3, 0, 0, 0) + struct.pack(">i", -104) + bytes(24))
write("FuzzUSBIP", "setup", b"\x05" + bytes.fromhex("8006000100001200"))

# FuzzStampRecord: the example record of docs/stamp-record.md, and damaged variants.
with open(os.path.join(ROOT, "docs", "stamp-record.md")) as f:
    doc = f.read()
example = re.search(r"```json\n(.*?)```", doc, re.S).group(1)
write("FuzzStampRecord", "example.json", example.encode())
record = json.loads(example)
write("FuzzStampRecord", "compact.json", json.dumps(record, separators=(",", ":")).encode())
no_grant = dict(record)
no_grant.pop("grantSerial", None)
write("FuzzStampRecord", "no-grant.json", json.dumps(no_grant).encode())
write("FuzzStampRecord", "duplicate-key.json", example.replace('"counter" : 42,', '"counter" : 42,\n  "counter" : 43,').encode())

# FuzzSealEncodings: selector byte, then the encoding (see FuzzSealEncodings.swift for the order).
def by_prefix(prefix):
    return [r[:-2] for r in responses if r[:len(prefix)] == prefix]

write("FuzzSealEncodings", "0-metadata", b"\x00" + bytes.fromhex(record["metadataEncoding"]))
write("FuzzSealEncodings", "1-personalize", b"\x01" + tlv(0x41, b"ACME Notaries") + tlv(0x42, b"Seal of the Registrar")
      + tlv(0x43, bytes(32)) + tlv(0x44, pin) + tlv(0x45, b"\x03") + tlv(0x46, b"87654321") + tlv(0x47, b"\x05")
      + tlv(0x49, b"\x00") + tlv(0x4A, b"\x00\x01\x51\x80") + tlv(0x4B, bytes(range(32))))
for i, r in enumerate(by_prefix(b"\x41")):
    write("FuzzSealEncodings", f"2-personalization-info-{i}", b"\x02" + r)
write("FuzzSealEncodings", "3-pin-status", b"\x03\x03\x03\x05\x05")
write("FuzzSealEncodings", "4-audit-entry", b"\x04" + tlv(0x9A, b"\x00\x00\x00\x01") + tlv(0x91, bytes.fromhex("0000000069248100"))
      + tlv(0x90, bytes(32)) + tlv(0x98, bytes(32)) + tlv(0x9B, record["serial"].encode())
      + tlv(0x9C, struct.pack(">Q", record["expiry"])) + tlv(0x9D, record["expirationCode"].encode())
      + tlv(0xC1, b"\x00\x00\x00\x00") + tlv(0x99, bytes(32)) + tlv(0x9E, bytes.fromhex(record["signature"])))
write("FuzzSealEncodings", "5-audit-status", b"\x05" + bytes.fromhex("0000000100000001") + bytes(32))
write("FuzzSealEncodings", "6-attestation-statement", b"\x06" + bytes.fromhex(record["attestation"]["statement"]))
write("FuzzSealEncodings", "7-attestation-response", b"\x07" + tlv(0xB1, bytes.fromhex(record["attestation"]["statement"]))
      + tlv(0xB2, bytes.fromhex(record["attestation"]["signature"])))
write("FuzzSealEncodings", "8-grant", b"\x08" + tlv(0xC1, b"\x00\x00\x00\x07") + tlv(0xC2, b"\x01") + tlv(0xC3, b"\x00\x00\x00\x01")
      + tlv(0xC4, b"\x00\x00\x00\x05") + tlv(0xC5, bytes(32)) + tlv(0xC6, bytes.fromhex(record["signature"])))
for i, r in enumerate(by_prefix(b"\x80\x02")):
    write("FuzzSealEncodings", f"9-capabilities-{i}", b"\x09" + r)
