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
            "organizationName", "sealName", "sealPublicKey", "serial", "signature",
        ])
        #expect(object["chipID"] as? String == hexString(record.chipID))
        #expect(object["metadataEncoding"] as? String == hexString(record.metadataEncoding))
        #expect(object["deviceCertificate"] as? String == Data(record.deviceCertificate).base64EncodedString())
        let metadata = try #require(object["metadata"] as? [String: Any])
        #expect(metadata["deviceFingerprint"] as? String == "DEADBEEF")
        #expect(metadata["latitudeMicrodegrees"] as? Int == 48_858_370)
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
        for (key, value) in [("formatVersion", 2 as Any), ("signature", "XYZ" as Any), ("deviceCertificate", "%%%" as Any),
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
        var metadata = try #require(base["metadata"] as? [String: Any])
        metadata["latitudeMicrodegrees"] = "north"
        var object = base
        object["metadata"] = metadata
        let latitude = try decodingError(object)
        #expect(latitude?.field == "metadata.latitudeMicrodegrees")
        #expect(latitude?.reason == "latitudeMicrodegrees is not an integer")

        metadata["latitudeMicrodegrees"] = 5_000_000_000  // beyond Int32
        object["metadata"] = metadata
        let outOfRange = try decodingError(object)
        #expect(outOfRange?.field == "metadata.latitudeMicrodegrees")
        // Issue 8, defect 6: a number out of range is valid JSON; the message names the field and
        // the range instead of calling the text "not valid JSON".
        #expect(outOfRange?.message.contains("invalid at \"metadata.latitudeMicrodegrees\"") == true,
                "\(String(describing: outOfRange?.message))")
        #expect(outOfRange?.message.contains("-2147483648...2147483647") == true)
        #expect(outOfRange?.message.contains("JSON") == false)

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
