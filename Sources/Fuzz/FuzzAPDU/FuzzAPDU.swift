// libFuzzer target: the APDU codec (Protocol/Codec). docs/fuzzing.md lists every target's invariants.
import SealFuzzSupport
import SealProtocol

/// Decodes the input as a command and as a response APDU. Invariants: no crash; a command that
/// decodes re-encodes to the same bytes (the decoder records the length form it saw); a response
/// that decodes re-encodes to the same bytes.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzAPDU(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = fuzzBytes(data, size)
    if let command = try? CommandAPDU(decoding: bytes) {
        let again = try? command.encoded()
        fuzzRequire(again == bytes, "command \(hexString(bytes)) re-encodes as \(again.map { hexString($0) } ?? "an error")")
    }
    if let response = try? ResponseAPDU(decoding: bytes) {
        fuzzRequire(response.encoded() == bytes, "response \(hexString(bytes)) does not re-encode to itself")
    }
    return 0
}

#if !SEALKIT_FUZZING
@main enum Replay { static func main() { fuzzReplay(fuzzAPDU) } }
#endif
