import Testing
@testable import SealProtocol

// MARK: - Shared test support (used by every file in this test target)

/// Parses `"00 A4 04 00"` into bytes; test vectors read like the specs they come from.
func hex(_ text: String) -> [UInt8] {
    text.split(whereSeparator: { $0 == " " || $0 == "\n" }).map { token in
        guard let byte = UInt8(token, radix: 16) else { preconditionFailure("bad hex literal \(token)") }
        return byte
    }
}

/// `count` bytes 00, 01, … FF, 00, … — recognisable in failure output.
func ramp(_ count: Int, from start: Int = 0) -> [UInt8] {
    (0..<count).map { UInt8(truncatingIfNeeded: start + $0) }
}

/// SplitMix64 (Steele, Lea, Flood 2014): a tiny, seedable generator so the
/// fuzz tests are reproducible run to run and platform to platform.
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    mutating func bytes(count: Int) -> [UInt8] {
        (0..<count).map { _ in UInt8.random(in: .min ... .max, using: &self) }
    }
}

// MARK: - Vectors

struct APDUVector: Sendable, CustomTestStringConvertible {
    let name: String
    let apdu: CommandAPDU
    let bytes: [UInt8]
    let isoCase: ISOCase
    let form: APDULengthForm
    var testDescription: String { name }
}

let data256 = ramp(256)
let data255 = ramp(255)

let apduVectors: [APDUVector] = [
    APDUVector(
        name: "case 1",
        apdu: CommandAPDU(cla: 0x00, ins: 0xA4, p1: 0x04, p2: 0x00),
        bytes: hex("00 A4 04 00"), isoCase: .case1, form: .short),
    APDUVector(
        name: "case 2S Le 10",
        apdu: CommandAPDU(cla: 0x00, ins: 0x84, p1: 0x00, p2: 0x00, ne: 16),
        bytes: hex("00 84 00 00 10"), isoCase: .case2, form: .short),
    APDUVector(
        name: "case 2S Le 01",
        apdu: CommandAPDU(cla: 0x00, ins: 0xC0, p1: 0x00, p2: 0x00, ne: 1),
        bytes: hex("00 C0 00 00 01"), isoCase: .case2, form: .short),
    APDUVector(
        name: "case 2S Le 00 = 256",
        apdu: CommandAPDU(cla: 0x00, ins: 0xC0, p1: 0x00, p2: 0x00, ne: 256),
        bytes: hex("00 C0 00 00 00"), isoCase: .case2, form: .short),
    APDUVector(
        name: "case 3S",
        apdu: CommandAPDU(cla: 0x00, ins: 0x20, p1: 0x00, p2: 0x81, data: hex("31 32 33 34")),
        bytes: hex("00 20 00 81 04 31 32 33 34"), isoCase: .case3, form: .short),
    APDUVector(
        name: "case 3S Lc 255",
        apdu: CommandAPDU(cla: 0x80, ins: 0x50, p1: 0x00, p2: 0x00, data: data255),
        bytes: hex("80 50 00 00 FF") + data255, isoCase: .case3, form: .short),
    APDUVector(
        name: "case 4S",
        apdu: CommandAPDU(cla: 0x00, ins: 0xA4, p1: 0x04, p2: 0x00, data: hex("A0 00 01"), ne: 256),
        bytes: hex("00 A4 04 00 03 A0 00 01 00"), isoCase: .case4, form: .short),
    APDUVector(
        name: "case 4S Lc 255 Le 00",
        apdu: CommandAPDU(cla: 0x80, ins: 0x54, p1: 0x00, p2: 0x00, data: data255, ne: 256),
        bytes: hex("80 54 00 00 FF") + data255 + [0x00], isoCase: .case4, form: .short),
    APDUVector(
        name: "case 4S Le 20",
        apdu: CommandAPDU(cla: 0x80, ins: 0x58, p1: 0x00, p2: 0x00, data: [0xAA], ne: 0x20),
        bytes: hex("80 58 00 00 01 AA 20"), isoCase: .case4, form: .short),
    APDUVector(
        name: "case 2E Le 0100 (forced)",
        apdu: CommandAPDU(cla: 0x00, ins: 0xB0, p1: 0x00, p2: 0x00, ne: 256, forceExtended: true),
        bytes: hex("00 B0 00 00 00 01 00"), isoCase: .case2, form: .extended),
    APDUVector(
        name: "case 2E Le 0101 = 257",
        apdu: CommandAPDU(cla: 0x00, ins: 0xB0, p1: 0x00, p2: 0x00, ne: 257),
        bytes: hex("00 B0 00 00 00 01 01"), isoCase: .case2, form: .extended),
    APDUVector(
        name: "case 2E Le 0000 = 65536",
        apdu: CommandAPDU(cla: 0x00, ins: 0xB0, p1: 0x00, p2: 0x00, ne: 65_536),
        bytes: hex("00 B0 00 00 00 00 00"), isoCase: .case2, form: .extended),
    APDUVector(
        name: "case 2E Le 0001 (forced)",
        apdu: CommandAPDU(cla: 0x00, ins: 0xB0, p1: 0x00, p2: 0x00, ne: 1, forceExtended: true),
        bytes: hex("00 B0 00 00 00 00 01"), isoCase: .case2, form: .extended),
    APDUVector(
        name: "case 3E Lc 0100",
        apdu: CommandAPDU(cla: 0x00, ins: 0xD6, p1: 0x00, p2: 0x00, data: data256),
        bytes: hex("00 D6 00 00 00 01 00") + data256, isoCase: .case3, form: .extended),
    APDUVector(
        name: "case 3E Lc 0001 (forced)",
        apdu: CommandAPDU(cla: 0x00, ins: 0xD6, p1: 0x00, p2: 0x00, data: [0xAA], forceExtended: true),
        bytes: hex("00 D6 00 00 00 00 01 AA"), isoCase: .case3, form: .extended),
    APDUVector(
        name: "case 4E Lc 0100 Le 0000 = 65536",
        apdu: CommandAPDU(cla: 0x00, ins: 0x54, p1: 0x00, p2: 0x00, data: data256, ne: 65_536),
        bytes: hex("00 54 00 00 00 01 00") + data256 + hex("00 00"), isoCase: .case4, form: .extended),
    APDUVector(
        name: "case 4E Lc 0001 Le 0101 (Ne forces extended Lc too)",
        apdu: CommandAPDU(cla: 0x80, ins: 0x54, p1: 0x00, p2: 0x00, data: [0xAA], ne: 257),
        bytes: hex("80 54 00 00 00 00 01 AA 01 01"), isoCase: .case4, form: .extended),
    APDUVector(
        name: "case 4E Lc 0100 Le 0001 (Nc forces extended Le too)",
        apdu: CommandAPDU(cla: 0x80, ins: 0x54, p1: 0x00, p2: 0x00, data: data256, ne: 1),
        bytes: hex("80 54 00 00 00 01 00") + data256 + hex("00 01"), isoCase: .case4, form: .extended),
    APDUVector(
        name: "case 4E Lc 00FF Le 0100 (forced)",
        apdu: CommandAPDU(cla: 0x00, ins: 0x54, p1: 0x00, p2: 0x00, data: data255, ne: 256, forceExtended: true),
        bytes: hex("00 54 00 00 00 00 FF") + data255 + hex("01 00"), isoCase: .case4, form: .extended),
]

// MARK: - Tests

@Suite("CommandAPDU")
struct CommandAPDUTests {
    @Test("encodes to the literal bytes", arguments: apduVectors)
    func encodes(_ vector: APDUVector) throws {
        #expect(try vector.apdu.encoded() == vector.bytes)
        #expect(vector.apdu.isoCase == vector.isoCase)
        #expect(vector.apdu.encodingForm == vector.form)
    }

    @Test("decodes the literal bytes field by field", arguments: apduVectors)
    func decodes(_ vector: APDUVector) throws {
        let decoded = try CommandAPDU(decoding: vector.bytes)
        #expect(decoded.cla == vector.apdu.cla)
        #expect(decoded.ins == vector.apdu.ins)
        #expect(decoded.p1 == vector.apdu.p1)
        #expect(decoded.p2 == vector.apdu.p2)
        #expect(decoded.data == vector.apdu.data)
        #expect(decoded.ne == vector.apdu.ne)
        #expect(decoded.isoCase == vector.isoCase)
        #expect(decoded.encodingForm == vector.form)
        #expect(decoded == vector.apdu)
        // The recorded form makes re-encoding byte-exact.
        #expect(try decoded.encoded() == vector.bytes)
    }

    @Test("case 4E from the brief: 00 54 00 00 00 01 00 <256 bytes> 00 00")
    func case4EFromBrief() throws {
        let bytes = [0x00, 0x54, 0x00, 0x00, 0x00, 0x01, 0x00] + data256 + [0x00, 0x00]
        #expect(bytes.count == 265)
        let apdu = try CommandAPDU(decoding: bytes)
        #expect(apdu.isoCase == .case4)
        #expect(apdu.encodingForm == .extended)
        #expect(apdu.data == data256)
        #expect(apdu.ne == 65_536)
    }

    @Test("a lone Lc=00 after the header is case 2S with Le 256, not malformed")
    func loneZeroIsCase2S() throws {
        let apdu = try CommandAPDU(decoding: hex("00 C0 00 00 00"))
        #expect(apdu.isoCase == .case2)
        #expect(apdu.ne == 256)
        #expect(apdu.encodingForm == .short)
        #expect(apdu.data.isEmpty)
    }

    @Test("largest values: Nc 65535 and Ne 65536 in case 4E")
    func largestValues() throws {
        let data = ramp(65_535)
        let apdu = CommandAPDU(cla: 0x00, ins: 0xD6, p1: 0, p2: 0, data: data, ne: 65_536)
        let bytes = try apdu.encoded()
        #expect(Array(bytes.prefix(7)) == hex("00 D6 00 00 00 FF FF"))
        #expect(Array(bytes.suffix(2)) == hex("00 00"))
        #expect(bytes.count == 4 + 3 + 65_535 + 2)
        #expect(try CommandAPDU(decoding: bytes) == apdu)
    }

    struct FormCase: Sendable, CustomTestStringConvertible {
        let nc: Int
        let ne: Int?
        let form: APDULengthForm
        let lc: [UInt8]  // bytes between header and data (extended marker included)
        let le: [UInt8]  // bytes after data
        var testDescription: String { "Nc \(nc) Ne \(ne.map(String.init) ?? "none") → \(form)" }
    }

    @Test(
        "encoder picks short up to Nc 255 / Ne 256 and extended beyond",
        arguments: [
            FormCase(nc: 255, ne: nil, form: .short, lc: [0xFF], le: []),
            FormCase(nc: 256, ne: nil, form: .extended, lc: [0x00, 0x01, 0x00], le: []),
            FormCase(nc: 0, ne: 256, form: .short, lc: [], le: [0x00]),
            FormCase(nc: 0, ne: 257, form: .extended, lc: [], le: [0x00, 0x01, 0x01]),
            FormCase(nc: 255, ne: 256, form: .short, lc: [0xFF], le: [0x00]),
            FormCase(nc: 256, ne: 256, form: .extended, lc: [0x00, 0x01, 0x00], le: [0x01, 0x00]),
            FormCase(nc: 255, ne: 257, form: .extended, lc: [0x00, 0x00, 0xFF], le: [0x01, 0x01]),
            FormCase(nc: 1, ne: 65_536, form: .extended, lc: [0x00, 0x00, 0x01], le: [0x00, 0x00]),
        ]
    )
    func formSelection(_ c: FormCase) throws {
        let data = ramp(c.nc)
        let apdu = CommandAPDU(cla: 0, ins: 0xDA, p1: 0, p2: 0, data: data, ne: c.ne)
        #expect(apdu.encodingForm == c.form)
        let bytes = try apdu.encoded()
        #expect(bytes == [0x00, 0xDA, 0x00, 0x00] + c.lc + data + c.le)
        #expect(try CommandAPDU(decoding: bytes) == apdu)
    }

    @Test("forceExtended has no effect on case 1, which has no length fields")
    func case1IgnoresForce() throws {
        let apdu = CommandAPDU(cla: 0, ins: 0x70, p1: 0, p2: 0, forceExtended: true)
        #expect(apdu.encodingForm == .short)
        #expect(try apdu.encoded() == hex("00 70 00 00"))
    }

    struct EncodeFailure: Sendable, CustomTestStringConvertible {
        let nc: Int
        let ne: Int?
        let code: APDUDecodingError.Code
        var testDescription: String { "Nc \(nc) Ne \(ne.map(String.init) ?? "none")" }
    }

    @Test(
        "encoder rejects values no form can carry",
        arguments: [
            EncodeFailure(nc: 65_536, ne: nil, code: .valueTooLarge),
            EncodeFailure(nc: 0, ne: 65_537, code: .valueTooLarge),
            EncodeFailure(nc: 1, ne: Int.max, code: .valueTooLarge),
            EncodeFailure(nc: 0, ne: 0, code: .invalidValue),
            EncodeFailure(nc: 3, ne: -1, code: .invalidValue),
            EncodeFailure(nc: 0, ne: Int.min, code: .invalidValue),
        ]
    )
    func encoderRejects(_ c: EncodeFailure) {
        let apdu = CommandAPDU(cla: 0, ins: 0xD6, p1: 0, p2: 0, data: ramp(c.nc), ne: c.ne)
        let error = #expect(throws: APDUDecodingError.self) { try apdu.encoded() }
        #expect(error?.code == c.code)
    }

    struct Malformed: Sendable, CustomTestStringConvertible {
        let name: String
        let bytes: [UInt8]
        let code: APDUDecodingError.Code
        var testDescription: String { name }
    }

    @Test(
        "decoder rejects malformed forms with a typed error",
        arguments: [
            Malformed(name: "empty", bytes: [], code: .tooShort),
            Malformed(name: "1 byte", bytes: hex("00"), code: .tooShort),
            Malformed(name: "2 bytes", bytes: hex("00 A4"), code: .tooShort),
            Malformed(name: "3 bytes", bytes: hex("00 A4 04"), code: .tooShort),
            Malformed(name: "short Lc 02, 1 data byte", bytes: hex("00 A4 04 00 02 AA"), code: .truncated),
            Malformed(name: "short Lc FF, 1 data byte", bytes: hex("00 A4 04 00 FF AA"), code: .truncated),
            Malformed(name: "short Lc 01, data, Le, extra", bytes: hex("00 A4 04 00 01 AA 00 00"), code: .trailingBytes),
            Malformed(name: "short Lc 01, data, 3 extra", bytes: hex("00 A4 04 00 01 AA 01 02 03"), code: .trailingBytes),
            Malformed(name: "extended marker + 1 byte", bytes: hex("00 B0 00 00 00 01"), code: .truncated),
            Malformed(name: "extended Lc 0000 with data", bytes: hex("00 D6 00 00 00 00 00 AA"), code: .invalidExtendedLength),
            Malformed(name: "extended Lc 0000 with Le", bytes: hex("00 D6 00 00 00 00 00 01 00"), code: .invalidExtendedLength),
            Malformed(name: "extended Lc 0002, 1 data byte", bytes: hex("00 D6 00 00 00 00 02 AA"), code: .truncated),
            Malformed(name: "extended Lc 0100, no data", bytes: hex("00 D6 00 00 00 01 00 AA"), code: .truncated),
            Malformed(name: "extended data + one-byte Le", bytes: hex("00 D6 00 00 00 00 01 AA 00"), code: .inconsistentLength),
            Malformed(name: "extended data + Le + extra", bytes: hex("00 D6 00 00 00 00 01 AA 00 00 00"), code: .trailingBytes),
            Malformed(name: "extended data + Le + 2 extra", bytes: hex("00 D6 00 00 00 00 01 AA 00 00 01 02"), code: .trailingBytes),
        ]
    )
    func decoderRejects(_ c: Malformed) {
        let error = #expect(throws: APDUDecodingError.self) { try CommandAPDU(decoding: c.bytes) }
        #expect(error?.code == c.code)
        #expect(error?.description.isEmpty == false)
    }

    /// What each prefix of `00 54 00 00 00 01 00 <256> 00 00` must decode to.
    enum PrefixOutcome: Equatable {
        case decodes(ISOCase, APDULengthForm, nc: Int, ne: Int?)
        case fails(APDUDecodingError.Code)
    }

    static func outcome(of input: [UInt8]) -> PrefixOutcome {
        do {
            let apdu = try CommandAPDU(decoding: input)
            return .decodes(apdu.isoCase, apdu.encodingForm, nc: apdu.data.count, ne: apdu.ne)
        } catch {
            return .fails(error.code)
        }
    }

    static func expectedOutcome(prefixLength n: Int) -> PrefixOutcome {
        switch n {
        case 0..<4: .fails(.tooShort)
        case 4: .decodes(.case1, .short, nc: 0, ne: nil)
        case 5: .decodes(.case2, .short, nc: 0, ne: 256)  // 00 54 00 00 00: Le 00
        case 6: .fails(.truncated)  // 00 + one byte of a two-byte field
        case 7: .decodes(.case2, .extended, nc: 0, ne: 256)  // 00 0100 read as Le
        case 8..<263: .fails(.truncated)  // Lc 0100 announces more data
        case 263: .decodes(.case3, .extended, nc: 256, ne: nil)
        case 264: .fails(.inconsistentLength)  // half an extended Le
        case 265: .decodes(.case4, .extended, nc: 256, ne: 65_536)
        default: .fails(.trailingBytes)
        }
    }

    @Test("every truncation prefix of a case 4E APDU is a valid shorter form or a typed error")
    func truncationPrefixesExtended() throws {
        let full = [0x00, 0x54, 0x00, 0x00, 0x00, 0x01, 0x00] + data256 + [0x00, 0x00]
        for n in 0...full.count + 1 {
            let input = n <= full.count ? Array(full.prefix(n)) : full + [0x00]
            let outcome = Self.outcome(of: input)
            if case .decodes = outcome {
                #expect(try CommandAPDU(decoding: input).encoded() == input, "prefix \(n) does not re-encode")
            }
            #expect(outcome == Self.expectedOutcome(prefixLength: n), "prefix length \(n)")
        }
    }

    @Test("every truncation prefix of a case 4S APDU is a valid shorter form or a typed error")
    func truncationPrefixesShort() throws {
        let full = hex("00 A4 04 00 03 A0 00 01 00")
        let expected: [PrefixOutcome] = [
            .fails(.tooShort), .fails(.tooShort), .fails(.tooShort), .fails(.tooShort),
            .decodes(.case1, .short, nc: 0, ne: nil),
            .decodes(.case2, .short, nc: 0, ne: 3),  // 00 A4 04 00 03: Le 3
            .fails(.truncated), .fails(.truncated),
            .decodes(.case3, .short, nc: 3, ne: nil),
            .decodes(.case4, .short, nc: 3, ne: 256),
        ]
        for n in 0...full.count {
            let input = Array(full.prefix(n))
            #expect(Self.outcome(of: input) == expected[n], "prefix length \(n)")
        }
    }

    @Test(
        "CLA bit 10 marks chaining only in interindustry and proprietary classes",
        arguments: [
            (UInt8(0x00), false), (0x10, true), (0x0C, false), (0x1C, true), (0x1F, true),
            (0x20, false), (0x30, false), (0x3F, false),  // RFU class range
            (0x40, false), (0x50, true), (0x7F, true), (0x6F, false),
            (0x80, false), (0x90, true), (0x84, false), (0x94, true), (0xEF, false), (0xFE, true),
            (0xFF, false),  // invalid class byte (PPS)
        ]
    )
    func chaining(cla: UInt8, chained: Bool) {
        #expect(CommandAPDU(cla: cla, ins: 0xDA, p1: 0, p2: 0).isChained == chained)
    }

    @Test("equality follows the wire bytes: form matters only when it changes the encoding")
    func equality() throws {
        let short = CommandAPDU(cla: 0, ins: 0xB0, p1: 0, p2: 0, ne: 16)
        let forced = CommandAPDU(cla: 0, ins: 0xB0, p1: 0, p2: 0, ne: 16, forceExtended: true)
        #expect(short != forced)
        #expect(try short.encoded() != forced.encoded())

        // Once the content needs extended form, the flag is moot.
        let big = CommandAPDU(cla: 0, ins: 0xB0, p1: 0, p2: 0, ne: 1000)
        let bigForced = CommandAPDU(cla: 0, ins: 0xB0, p1: 0, p2: 0, ne: 1000, forceExtended: true)
        #expect(big == bigForced)
        #expect(Set([big, bigForced]).count == 1)
    }

    @Test("description names the header fields in hex")
    func description() {
        let apdu = CommandAPDU(cla: 0x80, ins: 0x54, p1: 0, p2: 0, data: [1, 2], ne: 300)
        #expect(apdu.description == "CommandAPDU(CLA=80 INS=54 P1=00 P2=00 Nc=2 Ne=300 extended)")
    }

    @Test("fuzz: 10 000 random byte strings decode or throw, and accepted ones re-encode exactly")
    func fuzz() throws {
        var rng = SplitMix64(seed: 0x5EA1_C0DE)
        let templates = apduVectors.map(\.bytes)
        var accepted = 0
        for iteration in 0..<10_000 {
            var input: [UInt8]
            if iteration % 2 == 0 {
                input = rng.bytes(count: Int.random(in: 0...300, using: &rng))
            } else {
                // Mutate a valid APDU: truncate, extend or flip a length byte,
                // which reaches the interesting branches far more often.
                input = templates[Int.random(in: 0..<templates.count, using: &rng)]
                switch Int.random(in: 0..<3, using: &rng) {
                case 0: input = Array(input.prefix(Int.random(in: 0...input.count, using: &rng)))
                case 1: input += rng.bytes(count: Int.random(in: 1...3, using: &rng))
                default:
                    if input.count > 4 {
                        let i = Int.random(in: 4..<min(input.count, 8), using: &rng)
                        input[i] = UInt8.random(in: .min ... .max, using: &rng)
                    }
                }
            }
            do {
                let apdu = try CommandAPDU(decoding: input)
                accepted += 1
                #expect(try apdu.encoded() == input)
            } catch {
                #expect(!error.reason.isEmpty)
            }
        }
        // Sanity: the mutations actually exercise the success path too.
        #expect(accepted > 100)
    }
}
