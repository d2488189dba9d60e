// Where things are: the sibling binaries, the repository, free ports, /proc.
import Foundation

#if canImport(Glibc)
import Glibc
#endif

enum Environment {
    /// The directory of the running executable (`/proc/self/exe`), e.g. `.build/release`.
    static var binDirectory: URL {
        let path = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return URL(fileURLWithPath: path).resolvingSymlinksInPath().deletingLastPathComponent()
    }

    /// `name` next to the running executable, or an error that says how to build it.
    static func sibling(_ name: String) throws -> URL {
        let url = binDirectory.appendingPathComponent(name)
        guard FileManager.default.isExecutableFile(atPath: url.path) else {
            throw BenchError("\(name) not found next to sealbench (\(url.path)); build it: swift build -c release --product \(name)")
        }
        return url
    }

    /// The SealKit checkout: the first directory holding Package.swift and scripts/pcscd.sh, going up
    /// from the executable, then from the current directory.
    static func repositoryRoot() throws -> URL {
        for start in [binDirectory, URL(fileURLWithPath: FileManager.default.currentDirectoryPath)] {
            var directory = start.standardizedFileURL
            while directory.path != "/" {
                let fm = FileManager.default
                if fm.fileExists(atPath: directory.appendingPathComponent("Package.swift").path),
                   fm.fileExists(atPath: directory.appendingPathComponent("scripts/pcscd.sh").path) {
                    return directory
                }
                directory = directory.deletingLastPathComponent()
            }
        }
        throw BenchError("cannot find the SealKit checkout (Package.swift + scripts/pcscd.sh) above \(binDirectory.path) or the current directory")
    }

    /// A TCP port on 127.0.0.1 that nothing listens on right now (bound to port 0, then released).
    static func freeLoopbackPort() throws -> UInt16 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw BenchError("socket: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer -> Bool in
                bind(fd, pointer, length) == 0 && getsockname(fd, pointer, &length) == 0
            }
        }
        guard bound else { throw BenchError("cannot find a free port: \(String(cString: strerror(errno)))") }
        return UInt16(bigEndian: address.sin_port)
    }

    /// A field of /proc/PID/status in kB (VmRSS, VmHWM), or nil.
    static func statusKilobytes(pid: Int32, field: String) -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix(field + ":") {
            return Int(line.dropFirst(field.count + 1).split(whereSeparator: { $0 == " " || $0 == "\t" }).first ?? "")
        }
        return nil
    }

    /// The command line of a process, spaces between arguments.
    static func commandLine(pid: Int32) -> String {
        guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return "?" }
        return data.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }.joined(separator: " ")
    }

    /// Number of online CPUs.
    static var cpuCount: Int { Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))) }
}

/// The TCP sockets of /proc/net/tcp and tcp6 that matter here: who listens on a port, and who is
/// connected to it.
struct TCPTable {
    struct Entry {
        var localPort: UInt16
        var remotePort: UInt16
        var state: UInt8  // 0x0A LISTEN, 0x01 ESTABLISHED
        var inode: String
    }

    let entries: [Entry]

    init() {
        var entries: [Entry] = []
        for file in ["/proc/net/tcp", "/proc/net/tcp6"] {
            guard let text = try? String(contentsOfFile: file, encoding: .utf8) else { continue }
            for line in text.split(separator: "\n").dropFirst() {
                let fields = line.split(separator: " ", omittingEmptySubsequences: true)
                guard fields.count > 9,
                      let local = fields[1].split(separator: ":").last, let localPort = UInt16(local, radix: 16),
                      let remote = fields[2].split(separator: ":").last, let remotePort = UInt16(remote, radix: 16),
                      let state = UInt8(fields[3], radix: 16) else { continue }
                entries.append(Entry(localPort: localPort, remotePort: remotePort, state: state, inode: String(fields[9])))
            }
        }
        self.entries = entries
    }

    func isListening(_ port: UInt16) -> Bool {
        entries.contains { $0.state == 0x0A && $0.localPort == port }
    }

    /// Inodes of connections whose far end is `port` (the card side of a vpcd connection).
    func clientInodes(toPort port: UInt16) -> [String] {
        entries.filter { $0.state == 0x01 && $0.remotePort == port }.map(\.inode)
    }

    /// The listening socket's inode on `port`.
    func listenerInode(_ port: UInt16) -> String? {
        entries.first { $0.state == 0x0A && $0.localPort == port }?.inode
    }

    /// The PIDs holding a socket with one of these inodes (scans /proc/*/fd; needs permission to
    /// read other users' fds, else finds only ours).
    static func owners(ofInodes inodes: [String]) -> [Int32] {
        guard !inodes.isEmpty, let pids = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return [] }
        let wanted = Set(inodes.map { "socket:[\($0)]" })
        var owners: [Int32] = []
        for name in pids {
            guard let pid = Int32(name) else { continue }
            guard let fds = try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd") else { continue }
            for fd in fds {
                if let target = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/fd/\(fd)"), wanted.contains(target) {
                    owners.append(pid)
                    break
                }
            }
        }
        return owners
    }
}
