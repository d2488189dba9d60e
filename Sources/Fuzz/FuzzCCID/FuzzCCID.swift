// libFuzzer target: CCID bulk and interrupt messages and the USB descriptors a CCID reader
// presents (Sources/SealReaderWire). docs/fuzzing.md lists the invariants.
import SealFuzzSupport
import SealProtocol
import SealReaderWire

/// Decodes the input as a stream of CCID bulk messages (as the USB backend and the USB/IP server
/// read them), as one bulk transfer, as an interrupt message and as a configuration descriptor.
/// Invariants: no crash; every decoded message re-encodes to bytes that decode to the same
/// message; a message decoded from a whole transfer re-encodes to that transfer but for the RFU
/// bytes of the header; the
/// stream decoder never consumes more than it was given nor zero bytes; a configuration keeps its
/// interfaces through re-encoding and its encoding is a fixed point.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCCID(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = fuzzBytes(data, size)

    var offset = 0
    while offset < bytes.count {
        let rest = Array(bytes[offset...])
        do {
            guard let (message, consumed) = try CCIDMessage.decode(from: rest) else { break }
            fuzzRequire(consumed > 0 && consumed <= rest.count, "consumed \(consumed) of \(rest.count) bytes")
            let again = try? CCIDMessage(decoding: message.encoded())
            fuzzRequire(again == message, "\(message) does not survive re-encoding")
            offset += consumed
        } catch {
            // A bad length is framed nonetheless: skip the message as a reader would, or stop.
            guard let header = CCIDHeader.peek(rest), header.messageSize <= rest.count,
                  header.messageSize <= CCIDMessage.defaultMaximumLength else { break }
            offset += header.messageSize
        }
    }

    if let message = try? CCIDMessage(decoding: bytes) {
        // The three message-specific header bytes may hold RFU bytes, which the decoder ignores as
        // CCID §6 lets it; everything else (type, dwLength, slot, sequence, data) must come back.
        // A failed RDR_to_PC_DataRateAndClockFrequency without its 8 bytes is accepted (as libccid
        // does) and re-encodes with them, zeroed.
        let again = message.encoded()
        let tolerated = bytes[0] == CCIDMessageType.dataRateAndClockFrequency && bytes.count == CCIDHeader.size
        fuzzRequire(tolerated || (again.count == bytes.count && again[..<7] == bytes[..<7] && again[10...] == bytes[10...]),
                    "transfer \(hexString(bytes)) decodes to \(message), which re-encodes as \(hexString(again))")
    }
    if let interrupt = try? CCIDInterruptMessage(decoding: bytes) {
        let again = try? CCIDInterruptMessage(decoding: interrupt.encoded())
        fuzzRequire(again == interrupt, "interrupt \(hexString(bytes)) does not survive re-encoding")
    }
    if let (interrupt, consumed) = CCIDInterruptMessage.decode(from: bytes, slotCount: 2) {
        fuzzRequire(consumed > 0 && consumed <= bytes.count, "interrupt consumed \(consumed) of \(bytes.count) bytes")
        _ = interrupt.encoded()
    }
    if let configuration = try? USBConfiguration(decoding: bytes) {
        // The encoder recomputes wTotalLength and bNumInterfaces and the decoder drops what comes
        // before the first interface (both by design), so the encoding is checked for being a
        // fixed point: decoding it and encoding again gives the same bytes.
        let encoded = configuration.encoded()
        let again = try? USBConfiguration(decoding: encoded)
        fuzzRequire(again?.encoded() == encoded, "configuration \(hexString(bytes)) has no stable encoding")
        fuzzRequire(again?.interfaces == configuration.interfaces, "configuration \(hexString(bytes)) loses interfaces on re-encoding")
    }
    _ = try? USBDeviceDescriptor(decoding: bytes)
    _ = try? CCIDClassDescriptor(decoding: bytes)
    _ = try? USBStringDescriptor.decodeText(bytes)
    _ = try? USBStringDescriptor.decodeLanguages(bytes)
    return 0
}

#if !SEALKIT_FUZZING
@main enum Replay { static func main() { fuzzReplay(fuzzCCID) } }
#endif
