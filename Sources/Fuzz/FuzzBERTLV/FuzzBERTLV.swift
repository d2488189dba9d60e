// libFuzzer target: the BER-TLV decoder (Protocol/Codec/BERTLV.swift). docs/fuzzing.md lists the invariants.
import SealFuzzSupport
import SealProtocol

/// Decodes the input strictly and leniently, recursing into constructed objects. Invariants: no
/// crash; a strict decode re-encodes to the input byte for byte; a lenient decode re-encodes to a
/// canonical form that strict decoding accepts and reproduces.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzBERTLV(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = fuzzBytes(data, size)
    if let objects = try? TLV.decodeAll(bytes) {
        fuzzRequire(objects.encoded() == bytes, "strict decode of \(hexString(bytes)) does not re-encode to itself")
        walk(objects, depth: 0)
    }
    if let lenient = try? TLV.decodeAll(bytes, strict: false) {
        let canonical = lenient.encoded()
        let again = try? TLV.decodeAll(canonical)
        fuzzRequire(again?.encoded() == canonical, "lenient decode of \(hexString(bytes)) is not canonical")
    }
    if let single = try? TLV(decoding: bytes) {
        fuzzRequire(single.encoded() == bytes, "single object \(hexString(bytes)) does not re-encode to itself")
    }
    return 0
}

/// Decodes the children of every constructed object, as the seal decoders do.
private func walk(_ objects: [TLV], depth: Int) {
    guard depth < 8 else { return }
    for object in objects where object.tag.isConstructed {
        if let children = try? object.children() { walk(children, depth: depth + 1) }
    }
}

#if !SEALKIT_FUZZING
@main enum Replay { static func main() { fuzzReplay(fuzzBERTLV) } }
#endif
