import Foundation
import SealGMCrypto
import Testing

@Suite struct SM3Tests {
    // GB/T 32905-2016 appendix A: the two published examples.
    @Test func publishedVectorABC() {
        #expect(hex(SM3.hash(Array("abc".utf8))) == "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0")
    }

    @Test func publishedVectorSixtyFourBytes() {
        let message = Array(String(repeating: "abcd", count: 16).utf8)
        #expect(hex(SM3.hash(message)) == "debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732")
    }

    @Test func sliceAndArrayHashTheSame() {
        let bytes = Array(0..<200).map { UInt8($0) }
        #expect(SM3.hash(bytes[10..<150]) == SM3.hash(Array(bytes[10..<150])))
        #expect(SM3.hash(bytes[10..<150]) != SM3.hash(bytes[11..<150]))
    }
}

func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }
