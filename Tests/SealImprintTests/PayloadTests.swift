import Foundation
import SealHostDriver
import SealImprint
import SealLedger
import Testing

@Suite("The trace payload (docs/imprint.md)")
struct PayloadTests {
    @Test func roundTripsAndFitsAVersion8CodeAtLevelM() throws {
        let record = try exampleRecord()
        let payload = try payload(for: record, index: 123_456)
        let text = payload.text
        #expect(text.hasPrefix("http://127.0.0.1:8079#st=1&o=sealkit.local/ledger&i=123456&h="))
        #expect(text.hasSuffix("&s=\(record.serial)&e=\(record.expirationCode)"))
        #expect(try TracePayload(text: text) == payload)
        #expect(try TracePayload(text: text + "\n") == payload)
        // The figure docs/imprint.md gives: 148 bytes, version 8 (49 × 49) at level M.
        #expect(text.utf8.count == 148)
        let qr = try QRCode(text: text, errorCorrection: .medium)
        #expect(qr.version == 8 && qr.width == 49)
    }

    @Test func carriesSerialsWhoseCheckSymbolIsNotALetterOrDigit() throws {
        // SPEC §10.1's check symbol is one of 37: the digits and capitals, and `*~$=U`. A serial
        // ending in `~` was refused as "not well formed" before (the end-to-end test hit one).
        let record = try exampleRecord()
        let prefix = Watermark.chipPrefix(chipID: record.chipID)
        var seen: Set<Character> = []
        var counter: UInt32 = 1
        while seen.count < 5 && counter < 10_000 {
            let serial = Watermark.serial(chipPrefix: prefix, counter: counter)
            counter += 1
            guard let check = serial.last, "*~$=U".contains(check), !seen.contains(check) else { continue }
            seen.insert(check)
            let payload = try TracePayload(ledgerURL: "http://127.0.0.1:8079", origin: "sealkit.local/ledger", index: 7,
                                           recordHash: LedgerLeaf.recordHash(record.canonicalBytes), serial: serial,
                                           expirationCode: record.expirationCode)
            #expect(try TracePayload(text: payload.text) == payload, "\(serial)")
        }
        #expect(seen.count == 5)
    }

    @Test func escapesAnOriginWithFieldSeparators() throws {
        let record = try exampleRecord()
        let payload = try payload(for: record, origin: "example.org/log&x=1#2%")
        #expect(payload.text.contains("&o=example.org/log%26x%3D1%232%25&i="))
        #expect(try TracePayload(text: payload.text).origin == "example.org/log&x=1#2%")
    }

    @Test func refusesWhatIsNotAVersion1Payload() throws {
        let good = try payload(for: try exampleRecord()).text
        let version2 = good.replacingOccurrences(of: "#st=1&", with: "#st=2&")
        #expect(throws: ImprintError(code: .unsupportedPayloadVersion, reason: "")) { try TracePayload(text: version2) }
        let malformed = [
            good.replacingOccurrences(of: "#", with: "?"),                      // no fragment
            good.replacingOccurrences(of: "&i=0&", with: "&i=00&"),              // not canonical
            good.replacingOccurrences(of: "&i=0&", with: "&i=-1&"),
            good.replacingOccurrences(of: "http://127.0.0.1:8079#", with: "http://127.0.0.1:8079/#"),
            good.replacingOccurrences(of: "http://", with: "ftp://"),
            good.replacingOccurrences(of: "&e=", with: "&e=1"),                  // nine digits
            good + "&x=1",                                                        // unknown field
            good.replacingOccurrences(of: "&h=", with: "&h=A"),                  // 44 characters
            String(good.dropLast(40)),
        ]
        for text in malformed {
            #expect(throws: ImprintError(code: .malformedPayload, reason: "")) { try TracePayload(text: text) }
        }
        #expect(throws: ImprintError(code: .malformedPayload, reason: "")) {
            try TracePayload(ledgerURL: "http://h", origin: "o", index: 0, recordHash: [1, 2], serial: "x", expirationCode: "1")
        }
    }

    @Test func readsTheCanonicalBytesOfTheExampleRecord() throws {
        let record = try exampleRecord()
        let entry = try LedgerStampEntry(canonicalBytes: record.canonicalBytes)
        #expect(entry.tbs == record.tbs)
        #expect(entry.signature == record.signature && entry.sealPublicKey == record.sealPublicKey)
        #expect(entry.signatureIsValid)
        var forged = record
        forged.expiry += 1
        // The bytes of a record whose expiry moved: it parses, but the seal never signed it.
        #expect(!(try LedgerStampEntry(canonicalBytes: forged.canonicalBytes)).signatureIsValid)
        #expect(throws: ImprintError(code: .malformedEntry, reason: "")) {
            try LedgerStampEntry(canonicalBytes: Array(record.canonicalBytes.prefix(150)))
        }
        #expect(throws: ImprintError(code: .malformedEntry, reason: "")) { try LedgerStampEntry(canonicalBytes: Array("{\"evidence\":1}".utf8)) }
    }
}
