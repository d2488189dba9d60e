// Finds (or starts, through scripts/pcscd.sh) the pcscd whose vpcd serves ports 35963 and 35964.
import SealPCSC
import Foundation
import SealHostDriver

#if canImport(Glibc)
import Glibc
#endif

enum PCSCService {
    /// vpcd's first port (0x8C7B, /etc/reader.conf.d/vpcd); slot k listens on basePort + k.
    /// `sealbench transports --vpcd-port P` uses another vpcd driver of the same pcscd instead
    /// (the production-line tray of scripts/pcscd.sh: ports 35965, 35967, …), whose readers pcsc-lite
    /// names "Virtual PCD P 00 0k".
    static let defaultBasePort: UInt16 = 35963

    static func readerName(slot: Int, basePort: UInt16) -> String {
        basePort == defaultBasePort ? "Virtual PCD 00 0\(slot)" : "Virtual PCD \(basePort) 00 0\(slot)"
    }

    /// Makes sure a pcscd serves vpcd slots 0 and 1, that pcsc-lite lists both readers and that
    /// no other virtual card holds either slot. Starts pcscd with `scripts/pcscd.sh start` (which
    /// leaves it running, as everyone shares it) only when nothing listens on the vpcd ports.
    ///
    /// - Returns: a description of the pcscd used ("pid 123: pcscd …").
    static func ensure(repository: URL, work: URL, basePort: UInt16) async throws -> String {
        let ports = [basePort, basePort + 1]
        var table = TCPTable()
        if !ports.allSatisfy(table.isListening) {
            try start(repository: repository, work: work)
            table = TCPTable()
            guard ports.allSatisfy(table.isListening) else {
                throw BenchError("scripts/pcscd.sh start succeeded but nothing listens on vpcd's ports \(ports.map(String.init).joined(separator: ", "))\(runningPCSCDs())")
            }
        }
        let owners = TCPTable.owners(ofInodes: table.listenerInode(basePort).map { [$0] } ?? [])
        let pcscd = owners.first.map { "pid \($0): \(Environment.commandLine(pid: $0))" } ?? "(owner of port \(basePort) not visible)"

        for slot in 0..<2 {
            let port = basePort + UInt16(slot)
            let holders = TCPTable.owners(ofInodes: table.clientInodes(toPort: port)).filter { $0 != getpid() && !owners.contains($0) }
            if let holder = holders.first {
                throw BenchError("vpcd slot \(slot) (port \(port), \(readerName(slot: slot, basePort: basePort))) is held by another virtual card: pid \(holder) (\(Environment.commandLine(pid: holder))); the benchmark needs slots 0 and 1 to itself")
            }
        }

        let names: [String]
        do {
            names = try await PCSCReaders.names()
        } catch {
            throw BenchError("pcsc-lite cannot list the readers (\(error.message)); the vpcd ports are served by \(pcscd)")
        }
        for slot in 0..<2 where !names.contains(readerName(slot: slot, basePort: basePort)) {
            throw BenchError("pcscd does not list \"\(readerName(slot: slot, basePort: basePort))\" (readers: \(names.joined(separator: ", "))); the vpcd ports are served by \(pcscd) — is it the pcscd at /run/pcscd/pcscd.comm?")
        }
        return pcscd
    }

    private static func start(repository: URL, work: URL) throws {
        let script = repository.appendingPathComponent("scripts/pcscd.sh")
        FileHandle.standardError.write(Data("sealbench: no pcscd serves vpcd's ports; running scripts/pcscd.sh start\n".utf8))
        let child = try Children.spawn("scripts/pcscd.sh", executable: URL(fileURLWithPath: "/bin/bash"),
                                       arguments: [script.path, "start"], log: work.appendingPathComponent("pcscd-start.log"))
        guard child.waitForExit(timeout: 120) else {
            child.stop()
            throw BenchError("scripts/pcscd.sh start did not finish within 120 s (\(child.lastLogLine))")
        }
        child.stop()  // already ended: only forgets it (pcscd itself daemonized and stays up)
        guard child.process.terminationStatus == 0 else {
            let reason = child.logLines.first { $0.hasPrefix("error:") } ?? child.lastLogLine
            throw BenchError("scripts/pcscd.sh start failed: \(reason)\(runningPCSCDs())")
        }
    }

    /// "; pcscd running: pid 1 (…), …" for error messages, or "".
    private static func runningPCSCDs() -> String {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return "" }
        var found: [String] = []
        for name in entries {
            guard let pid = Int32(name),
                  let comm = try? String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8),
                  comm.trimmingCharacters(in: .whitespacesAndNewlines) == "pcscd" else { continue }
            found.append("pid \(pid) (\(Environment.commandLine(pid: pid)))")
        }
        return found.isEmpty ? "; no pcscd is running" : "; pcscd running: \(found.joined(separator: ", "))"
    }
}
