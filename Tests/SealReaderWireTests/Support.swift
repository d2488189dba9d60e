import Foundation
import SealProtocol

/// Parses `"6F 0A 00"` into bytes, so wire-format vectors read like the specifications they come
/// from. A typo is a test bug, not input: it stops the test run.
func hex(_ text: String) -> [UInt8] {
    guard let bytes = bytesFromHex(text.replacingOccurrences(of: "\n", with: " ")) else {
        preconditionFailure("bad hex literal \(text)")
    }
    return bytes
}
