import Testing
@testable import SealProtocol

@Suite("AnswerToReset")
struct ATRTests {
    static let vicc = hex("3B 95 13 81 01 80 73 FF 01 00 0B")
    static let jcop = hex("3B F8 13 00 00 81 31 FE 45 4A 43 4F 50 76 32 34 31 B7")
    /// SPEC §2.2 reference ATR: T=1, capabilities with chaining and extended length.
    static let sealReference = hex("3B 8A 81 01 80 73 80 00 C0 54 53 45 41 4C F6")

    @Test("vicc's ATR parses with a correct TCK")
    func vicc() throws {
        let atr = try AnswerToReset(bytes: Self.vicc)
        #expect(atr.bytes == Self.vicc)
        #expect(atr.convention == .direct)
        #expect(atr.protocols == [1])
        #expect(atr.interfaceBytes == [
            .init(ta: 0x13, td: 0x81),
            .init(td: 0x01),
            .init(),
        ])
        #expect(atr.historicalBytes == hex("80 73 FF 01 00"))
        #expect(atr.checkCharacter == 0x0B)
        let caps = try #require(atr.cardCapabilities)
        #expect(caps.selectionMethods == 0xFF)
        #expect(caps.dataCoding == 0x01)
        #expect(caps.third == 0x00)
        #expect(!atr.supportsCommandChaining)
        #expect(!atr.supportsExtendedLength)
    }

    @Test("JCOP's ATR parses with a correct TCK")
    func jcop() throws {
        let atr = try AnswerToReset(bytes: Self.jcop)
        #expect(atr.protocols == [1])
        #expect(atr.interfaceBytes == [
            .init(ta: 0x13, tb: 0x00, tc: 0x00, td: 0x81),
            .init(td: 0x31),
            .init(ta: 0xFE, tb: 0x45),
        ])
        #expect(atr.historicalBytes == Array("JCOPv241".utf8))
        #expect(atr.checkCharacter == 0xB7)
        // Historical bytes without a category indicator carry no capabilities.
        #expect(atr.cardCapabilities == nil)
        #expect(!atr.supportsCommandChaining)
        #expect(!atr.supportsExtendedLength)
    }

    @Test("the seal reference ATR announces chaining and extended length")
    func sealReference() throws {
        let atr = try AnswerToReset(decoding: Self.sealReference)
        #expect(atr == (try AnswerToReset(bytes: Self.sealReference)))
        #expect(atr.protocols == [1])
        #expect(atr.supportsCommandChaining)
        #expect(atr.supportsExtendedLength)
        #expect(atr.cardCapabilities?.selectionMethods == 0x80)
    }

    @Test(
        "a wrong TCK is rejected",
        arguments: [
            hex("3B 95 13 81 01 80 73 FF 01 00 0C"),
            hex("3B F8 13 00 00 81 31 FE 45 4A 43 4F 50 76 32 34 31 B6"),
            hex("3B 8A 81 01 80 73 80 00 C0 54 53 45 41 4C 00"),
            // A flipped historical byte, TCK unchanged.
            hex("3B 95 13 81 01 80 73 FF 01 01 0B"),
        ]
    )
    func wrongTCK(bytes: [UInt8]) {
        let error = #expect(throws: ATRError.self) { try AnswerToReset(bytes: bytes) }
        #expect(error?.code == .checksumMismatch)
    }

    @Test("builder produces 3B 8K 81 01 <hist> TCK and round-trips")
    func builder() throws {
        let atr = try AnswerToReset.t1(historicalBytes: hex("80 73 80 00 C0 54 53 45 41 4C"))
        #expect(atr.bytes == Self.sealReference)
        #expect(try AnswerToReset(bytes: atr.bytes) == atr)
        #expect(atr.protocols == [1])
        #expect(atr.checkCharacter == 0xF6)

        #expect(try AnswerToReset.t1(historicalBytes: []).bytes == hex("3B 80 81 01 00"))
        #expect(try AnswerToReset.t1(historicalBytes: [0x80]).bytes == hex("3B 81 81 01 80 81"))
    }

    @Test("builder accepts 0…15 historical bytes", arguments: 0...15)
    func builderCounts(count: Int) throws {
        let historical = ramp(count, from: 0x41)
        let atr = try AnswerToReset.t1(historicalBytes: historical)
        #expect(atr.bytes.count == 5 + count)
        #expect(atr.bytes[1] == 0x80 | UInt8(count))
        #expect(atr.historicalBytes == historical)
        #expect(atr.bytes[1...].reduce(0, ^) == 0)
        #expect(try AnswerToReset(bytes: atr.bytes) == atr)
    }

    @Test("builder rejects 16 historical bytes")
    func builderTooMany() {
        let error = #expect(throws: ATRError.self) { try AnswerToReset.t1(historicalBytes: ramp(16)) }
        #expect(error?.code == .tooManyHistoricalBytes)
    }

    @Test("category 00 historical bytes: capabilities before the 3-byte status indicator")
    func categoryZero() throws {
        let atr = try AnswerToReset.t1(historicalBytes: hex("00 73 00 00 C0 00 90 00"))
        #expect(atr.bytes == hex("3B 88 81 01 00 73 00 00 C0 00 90 00 2B"))
        #expect(atr.supportsCommandChaining)
        #expect(atr.supportsExtendedLength)
    }

    @Test("short capability objects read missing bytes as 00; malformed compact-TLV gives nil")
    func shortCapabilities() throws {
        let one = try AnswerToReset.t1(historicalBytes: hex("80 31 C0 71 80"))
        #expect(one.cardCapabilities?.selectionMethods == 0x80)
        #expect(one.cardCapabilities?.third == 0x00)
        #expect(!one.supportsCommandChaining)
        let truncated = try AnswerToReset.t1(historicalBytes: hex("80 73 80 00"))
        #expect(truncated.cardCapabilities == nil)
    }

    @Test("T=0 only: no TCK, protocols {0}")
    func t0Only() throws {
        let atr = try AnswerToReset(bytes: hex("3B 02 14 50"))
        #expect(atr.protocols == [0])
        #expect(atr.checkCharacter == nil)
        #expect(atr.historicalBytes == hex("14 50"))
        #expect(atr.interfaceBytes == [.init()])

        let explicitT0 = try AnswerToReset(bytes: hex("3B 90 11 00"))  // TA1 11, TD1 T=0
        #expect(explicitT0.protocols == [0])
        #expect(explicitT0.checkCharacter == nil)
    }

    @Test("T=15 global bytes require TCK but are not a protocol")
    func t15() throws {
        let atr = try AnswerToReset(bytes: hex("3B 80 80 1F 03 1C"))
        #expect(atr.protocols == [0])
        #expect(atr.checkCharacter == 0x1C)
        #expect(atr.interfaceBytes.last?.ta == 0x03)
        let error = #expect(throws: ATRError.self) { try AnswerToReset(bytes: hex("3B 80 80 1F 03")) }
        #expect(error?.code == .missingChecksum)
    }

    @Test("inverse convention is recognised")
    func inverse() throws {
        let atr = try AnswerToReset(bytes: hex("3F 80 81 01 00"))
        #expect(atr.convention == .inverse)
        #expect(atr.protocols == [1])
    }

    @Test("T=0 and T=1 offered together")
    func bothProtocols() throws {
        // TD1 = 80 (T=0, TD2 follows), TD2 = 01 (T=1); TCK = 80 ^ 80 ^ 01 = 01.
        let atr = try AnswerToReset(bytes: hex("3B 80 80 01 01"))
        #expect(atr.protocols == [0, 1])
    }

    struct Malformed: Sendable, CustomTestStringConvertible {
        let name: String
        let bytes: [UInt8]
        let code: ATRError.Code
        var testDescription: String { name }
    }

    @Test(
        "malformed ATRs are rejected with a typed error",
        arguments: [
            Malformed(name: "empty", bytes: [], code: .tooShort),
            Malformed(name: "TS only", bytes: hex("3B"), code: .tooShort),
            Malformed(name: "bad TS", bytes: hex("3A 00"), code: .invalidInitialCharacter),
            Malformed(name: "raw inverse TS 03", bytes: hex("03 00"), code: .invalidInitialCharacter),
            Malformed(name: "34 bytes", bytes: hex("3B 0F") + ramp(32), code: .tooLong),
            Malformed(name: "TD1 missing", bytes: hex("3B 80"), code: .truncated),
            Malformed(name: "TA1 TB1 missing", bytes: hex("3B 30 11"), code: .truncated),
            Malformed(name: "TD2 missing", bytes: hex("3B 80 81"), code: .truncated),
            Malformed(name: "historical bytes missing", bytes: hex("3B 05 01 02"), code: .truncated),
            Malformed(name: "TCK missing for T=1", bytes: hex("3B 80 81 01"), code: .missingChecksum),
            Malformed(name: "byte after TCK", bytes: hex("3B 80 81 01 00 00"), code: .trailingBytes),
            Malformed(name: "TCK on a T=0-only ATR", bytes: hex("3B 02 14 50 44"), code: .trailingBytes),
            Malformed(name: "wrong TCK", bytes: hex("3B 80 81 01 01"), code: .checksumMismatch),
        ]
    )
    func malformed(_ c: Malformed) {
        let error = #expect(throws: ATRError.self) { try AnswerToReset(bytes: c.bytes) }
        #expect(error?.code == c.code)
        #expect(error?.description.hasPrefix("ATRError.") == true)
    }

    @Test("33 bytes is the longest accepted ATR")
    func maximumLength() throws {
        // T0 = 0F: 15 historical bytes; pad the interface chain with TD bytes to reach 33.
        // TD1..TD8 = 81 ×7 then 01 (T=1), plus TA/TB… none; 2 + 8 + 15 + 1 = 26, so
        // add TA bytes: TDi = 91 (TA(i+1) and TD(i+1) present, T=1).
        var bytes: [UInt8] = [0x3B, 0x8F]
        for _ in 0..<7 { bytes += [0x91, 0x11] }  // TDi, TA(i+1)
        bytes += [0x01]  // last TD: T=1, nothing follows
        bytes += ramp(15, from: 0x41)
        bytes.append(bytes[1...].reduce(0, ^))
        #expect(bytes.count == 33)
        let atr = try AnswerToReset(bytes: bytes)
        #expect(atr.interfaceBytes.count == 9)
        #expect(atr.protocols == [1])

        let error = #expect(throws: ATRError.self) { try AnswerToReset(bytes: bytes + [0x00]) }
        #expect(error?.code == .tooLong)
    }

    @Test("every truncation prefix of JCOP's ATR throws a typed error, never crashes")
    func truncations() {
        for n in 0..<Self.jcop.count {
            #expect(throws: ATRError.self) { try AnswerToReset(bytes: Array(Self.jcop.prefix(n))) }
        }
    }

    @Test("fuzz: 10 000 random byte strings parse or throw")
    func fuzz() {
        var rng = SplitMix64(seed: 0xA7_2000)
        var accepted = 0
        for iteration in 0..<10_000 {
            var input = rng.bytes(count: Int.random(in: 0...36, using: &rng))
            if iteration % 2 == 1, input.count >= 2 {
                // Valid TS, few interface bytes and a TCK that matches, so the
                // deeper paths run instead of failing on TS.
                input[0] = 0x3B
                input[1] &= 0x9F
                input[input.count - 1] = 0
                input[input.count - 1] = input[1...].reduce(0, ^)
            }
            do {
                let atr = try AnswerToReset(bytes: input)
                accepted += 1
                #expect(atr.bytes == input)
                #expect(!atr.protocols.isEmpty)
                if atr.checkCharacter != nil { #expect(input[1...].reduce(0, ^) == 0) }
                _ = atr.cardCapabilities
            } catch {
                #expect(!error.reason.isEmpty)
            }
        }
        #expect(accepted > 50)
    }
}
