// libFuzzer target: the SPEC's seal encodings (Protocol/Seal). docs/fuzzing.md lists the invariants.
import SealFuzzSupport
import SealProtocol

/// The first input byte picks the decoder (stamp metadata, PERSONALIZE data, personalization
/// info, PIN status, audit entry, audit status, attestation statement, attestation response,
/// authorization grant, capabilities); the rest is the encoding. Invariants: no crash; a value that
/// decodes re-encodes (without error) to bytes that decode to the same value.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSealEncodings(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = fuzzBytes(data, size)
    guard let selector = input.first else { return 0 }
    let bytes = Array(input.dropFirst())
    switch selector % 10 {
    case 0:
        if let value = try? StampMetadata(decoding: bytes) {
            let encoded = try? value.encoded()
            fuzzRequire(encoded != nil, "decoded metadata \(value) does not encode")
            fuzzRequire(encoded.flatMap { try? StampMetadata(decoding: $0) } == value, "\(value) does not survive re-encoding")
        }
    case 1:
        if let value = try? PersonalizationData(decoding: bytes) {
            let encoded = try? value.encoded()
            fuzzRequire(encoded != nil, "decoded PERSONALIZE data does not encode")
            fuzzRequire(encoded.flatMap { try? PersonalizationData(decoding: $0) } == value, "PERSONALIZE data does not survive re-encoding")
        }
    case 2:
        if let value = try? PersonalizationInfo(decoding: bytes) {
            fuzzRequire((try? PersonalizationInfo(decoding: value.encoded())) == value, "\(value) does not survive re-encoding")
        }
    case 3:
        if let value = try? PINStatus(decoding: bytes) {
            fuzzRequire(value.encoded() == bytes, "PIN status \(hexString(bytes)) does not re-encode to itself")
        }
    case 4:
        if let value = try? AuditEntry(decoding: bytes) {
            fuzzRequire((try? AuditEntry(decoding: value.encoded())) == value, "\(value) does not survive re-encoding")
        }
    case 5:
        if let value = try? AuditStatus(decoding: bytes) {
            fuzzRequire((try? AuditStatus(decoding: value.encoded())) == value, "\(value) does not survive re-encoding")
        }
    case 6:
        if let value = try? AttestationStatement(decoding: bytes) {
            fuzzRequire((try? AttestationStatement(decoding: value.encoded())) == value, "\(value) does not survive re-encoding")
        }
    case 7:
        if let value = try? AttestationResponse(decoding: bytes) {
            fuzzRequire((try? AttestationResponse(decoding: value.encoded())) == value, "\(value) does not survive re-encoding")
        }
    case 8:
        if let value = try? AuthorizationGrant(decoding: bytes) {
            fuzzRequire((try? AuthorizationGrant(decoding: value.encoded())) == value, "\(value) does not survive re-encoding")
        }
    default:
        if let value = try? SealCapabilities(decoding: bytes) {
            fuzzRequire((try? SealCapabilities(decoding: value.encoded())) == value, "\(value) does not survive re-encoding")
        }
    }
    return 0
}

#if !SEALKIT_FUZZING
@main enum Replay { static func main() { fuzzReplay(fuzzSealEncodings) } }
#endif
