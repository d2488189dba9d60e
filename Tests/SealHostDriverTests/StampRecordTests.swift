import Foundation
import SealHostDriver
import SealProtocol
import Testing

@Suite("StampRecord JSON")
struct StampRecordTests {
    @Test func jsonRoundTripIsLossless() throws {
        let record = try StampFixture().record()
        let json = try record.jsonData()
        let decoded = try StampRecord(jsonData: json)
        #expect(decoded == record)
        #expect(try decoded.jsonData() == json)  // stable bytes
    }

    @Test func roundTripWithMinimalMetadata() throws {
        var parameters = StampFixture.Parameters()
        parameters.metadata = StampMetadata(time: StampFixture.stampTime)
        let record = try StampFixture().record(parameters)
        #expect(try StampRecord(jsonData: try record.jsonData()) == record)
        let text = String(decoding: try record.jsonData(), as: UTF8.self)
        #expect(!text.contains("operatorID"))  // absent optional fields are omitted, not null
    }

    @Test func jsonHasSortedKeysHexAndBase64() throws {
        let record = try StampFixture().record()
        let object = try #require(try JSONSerialization.jsonObject(with: try record.jsonData()) as? [String: Any])
        #expect(Set(object.keys) == [
            "attestation", "chipID", "counter", "deviceCertificate", "documentDigest", "expirationCode", "expiry",
            "featureHash", "formatVersion", "grantSerial", "keyID", "metadata", "metadataDigest", "metadataEncoding",
            "organizationName", "personalData", "sealImageHash", "sealName", "sealPublicKey", "serial", "signature",
        ])
        #expect(object["chipID"] as? String == hexString(record.chipID))
        #expect(object["metadataEncoding"] as? String == hexString(record.metadataEncoding))
        #expect(object["deviceCertificate"] as? String == Data(record.deviceCertificate).base64EncodedString())
        let metadata = try #require(object["metadata"] as? [String: Any])
        // v2: the signed metadata shows commitments, never the personal plaintexts …
        #expect(metadata["deviceFingerprint"] == nil && metadata["operatorID"] == nil)
        #expect(metadata["deviceFingerprintCommitment"] as? String == hexString(try #require(record.metadata.commitment(for: .deviceFingerprint))))
        #expect(metadata["documentName"] as? String == "Contract no. 42.pdf")
        // … which travel beside it, with their salts.
        let personal = try #require(object["personalData"] as? [String: Any])
        let fingerprint = try #require(personal["deviceFingerprint"] as? [String: Any])
        #expect(fingerprint["value"] as? String == "DEADBEEF")
        #expect(fingerprint["salt"] as? String == hexString(try #require(record.metadata.salts[.deviceFingerprint])))
        let location = try #require(personal["location"] as? [String: Any])
        #expect(location["latitudeMicrodegrees"] as? Int == 48_858_370)
        let attestation = try #require(object["attestation"] as? [String: Any])
        #expect(Set(attestation.keys) == ["signature", "statement"])

        // Keys appear in sorted order in the text, and slashes of base64 are not escaped.
        let text = String(decoding: try record.jsonData(), as: UTF8.self)
        let topLevel = object.keys.sorted()
        let positions = topLevel.compactMap { text.range(of: "\n  \"\($0)\"")?.lowerBound }
        #expect(positions.count == topLevel.count)
        #expect(positions == positions.sorted())
        #expect(!text.contains("\\/"))
        #expect(text.contains("\n  \"chipID\""))  // pretty-printed
    }

    /// The canonical record-v2 bytes (docs/stamp-record.md): their layout, and that they ignore
    /// the personal data and the JSON form but not anything signed.
    @Test func canonicalBytes() throws {
        let record = try StampFixture().record()
        let bytes = record.canonicalBytes
        let tbs = record.tbs.encoded()
        var expected = Array("SEALKIT-RECORD-V2".utf8)
        expected += [UInt8(tbs.count >> 8), UInt8(tbs.count & 0xFF)] + tbs
        expected += [UInt8(record.signature.count)] + record.signature + record.sealPublicKey
        expected += [UInt8(record.metadataEncoding.count >> 8), UInt8(record.metadataEncoding.count & 0xFF)] + record.metadataEncoding
        expected += [UInt8(record.attestationStatement.count >> 8), UInt8(record.attestationStatement.count & 0xFF)] + record.attestationStatement
        expected += [UInt8(record.attestationSignature.count)] + record.attestationSignature
        expected += [UInt8(record.deviceCertificate.count >> 8), UInt8(record.deviceCertificate.count & 0xFF)] + record.deviceCertificate
        #expect(bytes == expected)
        #expect(record.withoutPersonalData().canonicalBytes == bytes)
        #expect(try StampRecord(jsonData: try record.jsonData()).canonicalBytes == bytes)
        var renamed = record
        renamed.sealName = "Another seal"
        #expect(renamed.canonicalBytes != bytes)
    }

    @Test func lowercaseHexIsAccepted() throws {
        let record = try StampFixture().record()
        var text = String(decoding: try record.jsonData(), as: UTF8.self)
        text = text.replacingOccurrences(of: hexString(record.documentDigest), with: hexString(record.documentDigest).lowercased())
        #expect(try StampRecord(jsonData: Data(text.utf8)).documentDigest == record.documentDigest)
    }

    /// Decodes `object` as a record, expecting a `malformedRecord` error, and returns it.
    private func decodingError(_ object: [String: Any], _ comment: Comment? = nil,
                               sourceLocation: SourceLocation = #_sourceLocation) throws -> SealDriverError? {
        let data = try JSONSerialization.data(withJSONObject: object)
        return #expect(throws: SealDriverError(code: .malformedRecord, reason: ""), comment, sourceLocation: sourceLocation) {
            try StampRecord(jsonData: data)
        }
    }

    @Test(arguments: ["chipID", "documentDigest", "keyID", "sealPublicKey"])
    func wrongByteLengthsAreRejected(key: String) throws {
        let record = try StampFixture().record()
        var object = try #require(try JSONSerialization.jsonObject(with: try record.jsonData()) as? [String: Any])
        object[key] = "00AA"
        let error = try decodingError(object)
        #expect(error?.field == key)
        #expect(error?.message.contains("must be") == true, "\(String(describing: error))")
    }

    @Test func malformedValuesAreRejectedNamingTheField() throws {
        let record = try StampFixture().record()
        let base = try #require(try JSONSerialization.jsonObject(with: try record.jsonData()) as? [String: Any])
        for (key, value) in [("formatVersion", 1 as Any), ("signature", "XYZ" as Any), ("deviceCertificate", "%%%" as Any),
                             ("counter", -1 as Any), ("serial", 7 as Any)] {
            var object = base
            object[key] = value
            let error = try decodingError(object, "\(key)")
            #expect(error?.field == key, "\(String(describing: error))")
            #expect(error?.message.contains("\"\(key)\"") == true, "\(String(describing: error))")
        }
        var missing = base
        missing["serial"] = nil
        let error = try decodingError(missing)
        #expect(error?.field == "serial")
        #expect(error?.reason == "serial is missing")
    }

    @Test func nestedFieldsAreNamedByTheirPath() throws {
        let record = try StampFixture().record()
        let base = try #require(try JSONSerialization.jsonObject(with: try record.jsonData()) as? [String: Any])
        var personal = try #require(base["personalData"] as? [String: Any])
        var location = try #require(personal["location"] as? [String: Any])
        location["latitudeMicrodegrees"] = "north"
        personal["location"] = location
        var object = base
        object["personalData"] = personal
        let latitude = try decodingError(object)
        #expect(latitude?.field == "personalData.location.latitudeMicrodegrees")
        #expect(latitude?.reason == "latitudeMicrodegrees is not an integer")

        location["latitudeMicrodegrees"] = 5_000_000_000  // beyond Int32
        personal["location"] = location
        object["personalData"] = personal
        let outOfRange = try decodingError(object)
        #expect(outOfRange?.field == "personalData.location.latitudeMicrodegrees")
        // Issue 8, defect 6: a number out of range is valid JSON; the message names the field and
        // the range instead of calling the text "not valid JSON".
        #expect(outOfRange?.message.contains("invalid at \"personalData.location.latitudeMicrodegrees\"") == true,
                "\(String(describing: outOfRange?.message))")
        #expect(outOfRange?.message.contains("-2147483648...2147483647") == true)
        #expect(outOfRange?.message.contains("JSON") == false)

        var metadata = try #require(base["metadata"] as? [String: Any])
        metadata["operatorIDCommitment"] = "00AA"
        object = base
        object["metadata"] = metadata
        #expect(try decodingError(object)?.field == "metadata.operatorIDCommitment")

        var attestation = try #require(base["attestation"] as? [String: Any])
        attestation["signature"] = nil
        object = base
        object["attestation"] = attestation
        #expect(try decodingError(object)?.field == "attestation.signature")
    }

    /// Issue 8, defect 5: Foundation keeps the first of two equal keys, other readers the last; a
    /// record with a duplicated key is refused, naming the key, at the top level and nested, and
    /// also when the two spellings differ only by escaping.
    @Test func duplicateKeysAreRefused() throws {
        let text = String(decoding: try StampFixture().record().jsonData(), as: UTF8.self)
        func refusal(_ json: String) -> SealDriverError? {
            #expect(throws: SealDriverError(code: .malformedRecord, reason: "")) { try StampRecord(jsonData: Data(json.utf8)) }
        }
        // Top level: a second "counter" before the real one.
        let topLevel = text.replacingOccurrences(of: "\"counter\" :", with: "\"counter\" : 99999,\n  \"counter\" :")
        #expect(topLevel != text)
        let top = refusal(topLevel)
        #expect(top?.field == "counter")
        #expect(top?.message.contains("counter appears twice") == true, "\(String(describing: top))")

        // Nested: metadata.time twice.
        let nestedText = text.replacingOccurrences(of: "\"time\" :", with: "\"time\" : 1,\n    \"time\" :")
        #expect(nestedText != text)
        #expect(refusal(nestedText)?.field == "metadata.time")

        // Escaped-equal: "\u0073erial" is "serial".
        let escaped = text.replacingOccurrences(of: "\"serial\" :", with: "\"\\u0073erial\" : \"AAAA-AAAA-0000001-A\",\n  \"serial\" :")
        #expect(escaped != text)
        #expect(refusal(escaped)?.field == "serial")

        // Equal keys in different objects are not duplicates; an escaped key alone is still accepted.
        #expect(JSONDuplicateKeys.first(in: Data(#"{"a":{"a":1},"b":[{"a":1},{"a":2}],"c\"":"\u0061"}"#.utf8)) == nil)
        #expect(JSONDuplicateKeys.first(in: Data(#"{"x":[{"a":1,"\u0061":2}]}"#.utf8))?.path == "x[0].a")
        #expect(JSONDuplicateKeys.first(in: Data(#"{"\ud83d\ude00":1,"😀":2}"#.utf8))?.key == "😀")
    }

    @Test func textThatIsNotJSONIsAMalformedRecordWithoutAField() {
        let error = #expect(throws: SealDriverError(code: .malformedRecord, reason: "")) {
            try StampRecord(jsonData: Data("not json {".utf8))
        }
        #expect(error?.field == "")
        #expect(error?.reason.hasPrefix("the text is not JSON") == true)
        // Foundation's error never escapes.
        #expect(!(error?.underlyingError is DecodingError))
    }

    @Test func tbsIsRebuiltFromTheRecord() throws {
        let record = try StampFixture().record()
        #expect(record.tbs.encoded().prefix(16) == StampTBS.domain[...])
        #expect(record.tbs.counter == record.counter)
        #expect(record.tbs.metadataDigest == record.metadataDigest)
    }
}
