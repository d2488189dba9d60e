// libFuzzer target: USB/IP messages, both phases and both sides (Sources/SealReaderWire).
// docs/fuzzing.md lists the invariants.
import SealFuzzSupport
import SealReaderWire

/// The first input byte picks the decoder (operation request, operation reply, URB command,
/// URB return IN or OUT, setup packet); the rest is what arrived on the socket. Invariants: no
/// crash; a stream decoder consumes at least a header and never more than it was given; every
/// decoded URB message re-encodes to bytes that decode to the same message. The operation messages
/// carry NUL-padded string fields: the path is repaired by design (invalid UTF-8 becomes U+FFFD;
/// a bus ID that is not UTF-8 is refused), and a field without its NUL is cut on re-encoding
/// (USBIPMessageTests), so for them the invariant is one step later: the re-encoded form is a
/// fixed point of decode-then-encode.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzUSBIP(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = fuzzBytes(data, size)
    guard let selector = input.first else { return 0 }
    let bytes = Array(input.dropFirst())
    func checkConsumed(_ consumed: Int) {
        fuzzRequire(consumed > 0 && consumed <= bytes.count, "consumed \(consumed) of \(bytes.count) bytes")
    }
    switch selector % 6 {
    case 0:
        if let (request, consumed) = try? USBIPOperationRequest.decode(from: bytes) {
            checkConsumed(consumed)
            let normalized = try? USBIPOperationRequest.decode(from: request.encoded())?.message
            fuzzRequire(normalized != nil, "\(request) re-encodes to bytes that do not decode")
            let again = normalized.flatMap { try? USBIPOperationRequest.decode(from: $0.encoded())?.message }
            fuzzRequire(again == normalized, "\(request) has no stable encoding")
        }
    case 1:
        if let (reply, consumed) = try? USBIPOperationReply.decode(from: bytes) {
            checkConsumed(consumed)
            let normalized = try? USBIPOperationReply(decoding: reply.encoded())
            fuzzRequire(normalized != nil, "\(reply) re-encodes to bytes that do not decode")
            let again = normalized.flatMap { try? USBIPOperationReply(decoding: $0.encoded()) }
            fuzzRequire(again == normalized, "\(reply) has no stable encoding")
        }
    case 2:
        if let (command, consumed) = try? USBIPCommand.decode(from: bytes) {
            checkConsumed(consumed)
            let again = try? USBIPCommand(decoding: command.encoded())
            fuzzRequire(again == command, "\(command) does not survive re-encoding")
        }
    case 3, 4:
        let direction: USBIPDirection = selector % 6 == 3 ? .in : .out
        if let (reply, consumed) = try? USBIPReturn.decode(from: bytes, directionOf: { _ in direction }) {
            checkConsumed(consumed)
            let again = try? USBIPReturn(decoding: reply.encoded(direction: direction), direction: direction)
            fuzzRequire(again == reply, "\(reply) does not survive re-encoding")
        }
    default:
        _ = USBSetupPacket(bytes: bytes)
        _ = USBIPOperationHeader.peek(bytes)
        _ = USBIPBasicHeader.peek(bytes)
    }
    return 0
}

#if !SEALKIT_FUZZING
@main enum Replay { static func main() { fuzzReplay(fuzzUSBIP) } }
#endif
