// libFuzzer target: the stamp record JSON (`StampRecord(jsonData:)`, HostDriver/Core/Record).
// docs/fuzzing.md lists the invariants.
import Foundation
import SealFuzzSupport
import SealHostDriver

/// Decodes the input as a stamp record file. Invariants: no crash (a refusal is a typed
/// `SealDriverError`); a record that decodes encodes with `jsonData()`, and that JSON decodes to
/// the same record and encodes to the same bytes again.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzStampRecord(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = fuzzBytes(data, size)
    guard let record = try? StampRecord(jsonData: Data(bytes)) else { return 0 }
    let json: Data
    do { json = try record.jsonData() } catch {
        fuzzRequire(false, "a decoded record does not encode: \(error)")
        return 0
    }
    let again = try? StampRecord(jsonData: json)
    fuzzRequire(again == record, "the record does not survive re-encoding:\n\(String(decoding: json, as: UTF8.self))")
    fuzzRequire((try? again?.jsonData()) == json, "the record's JSON is not stable")
    return 0
}

#if !SEALKIT_FUZZING
@main enum Replay { static func main() { fuzzReplay(fuzzStampRecord) } }
#endif
