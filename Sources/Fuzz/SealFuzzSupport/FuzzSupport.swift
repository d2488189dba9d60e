// What every libFuzzer target shares: the invariant check and the replay driver of a plain build.
import Foundation

/// Stops the run when a fuzz invariant breaks. libFuzzer sees the abort as a crash and writes the
/// input to its artifact folder; the message names the broken invariant.
package func fuzzRequire(_ condition: Bool, _ message: @autoclosure () -> String) {
    if !condition { fatalError("fuzz invariant broken: \(message())") }
}

/// The input as an array (libFuzzer passes a null pointer for the empty input).
package func fuzzBytes(_ data: UnsafePointer<UInt8>?, _ size: Int) -> [UInt8] {
    guard let data, size > 0 else { return [] }
    return Array(UnsafeBufferPointer(start: data, count: size))
}

/// The `main` of a fuzz product built without libFuzzer (a plain `swift build`): runs each file
/// named on the command line once through the entry, so a crash file from `scripts/fuzz.sh`
/// reproduces under the debugger or a normal build. Exits 64 on an unreadable file.
package func fuzzReplay(_ entry: (UnsafePointer<UInt8>?, Int) -> CInt) {
    for path in CommandLine.arguments.dropFirst() {
        guard let contents = FileManager.default.contents(atPath: path) else {
            FileHandle.standardError.write(Data("cannot read \(path)\n".utf8))
            exit(64)
        }
        let bytes = [UInt8](contents)
        _ = bytes.withUnsafeBufferPointer { entry($0.baseAddress, $0.count) }
        print("\(path): \(bytes.count) bytes, no invariant broken")
    }
}
