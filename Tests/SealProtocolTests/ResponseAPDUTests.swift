import Testing
@testable import SealProtocol

@Suite("ResponseAPDU")
struct ResponseAPDUTests {
    @Test(
        "decodes data and status word from literal bytes",
        arguments: [
            (hex("90 00"), [UInt8](), StatusWord.success),
            (hex("6A 82"), [], .fileNotFound),
            (hex("01 90 00"), [0x01], .success),
            (hex("DE AD BE EF 61 10"), [0xDE, 0xAD, 0xBE, 0xEF], .bytesRemaining(16)),
            (hex("00 00 00"), [0x00], StatusWord(rawValue: 0x0000)),
        ]
    )
    func decodes(bytes: [UInt8], data: [UInt8], sw: StatusWord) throws {
        let response = try ResponseAPDU(decoding: bytes)
        #expect(response.data == data)
        #expect(response.statusWord == sw)
        #expect(response.encoded() == bytes)
    }

    @Test("encodes data followed by SW1 SW2")
    func encodes() {
        #expect(ResponseAPDU(statusWord: .securityStatusNotSatisfied).encoded() == hex("69 82"))
        #expect(ResponseAPDU(data: hex("01 02 03"), statusWord: .success).encoded() == hex("01 02 03 90 00"))
    }

    @Test("a 65536-byte response round-trips")
    func largeResponse() throws {
        let data = ramp(65_536)
        let response = ResponseAPDU(data: data, statusWord: .success)
        let bytes = response.encoded()
        #expect(bytes.count == 65_538)
        #expect(try ResponseAPDU(decoding: bytes) == response)
    }

    @Test("fewer than two bytes is tooShort", arguments: [[UInt8](), [0x90]])
    func tooShort(bytes: [UInt8]) {
        let error = #expect(throws: APDUDecodingError.self) { try ResponseAPDU(decoding: bytes) }
        #expect(error?.code == .tooShort)
    }

    @Test("description shows data and status meaning")
    func description() {
        #expect(ResponseAPDU(statusWord: .success).description == "9000 (success)")
        #expect(ResponseAPDU(data: [0xAB], statusWord: .wrongLength).description == "AB 6700 (wrong length)")
    }

    @Test("fuzz: 10 000 random byte strings decode or throw, and round-trip")
    func fuzz() {
        var rng = SplitMix64(seed: 0xA9D0_0002)
        for _ in 0..<10_000 {
            let input = rng.bytes(count: Int.random(in: 0...40, using: &rng))
            do {
                let response = try ResponseAPDU(decoding: input)
                #expect(input.count >= 2)
                #expect(response.encoded() == input)
            } catch {
                #expect(input.count < 2)
                #expect(error.code == .tooShort)
            }
        }
    }
}
