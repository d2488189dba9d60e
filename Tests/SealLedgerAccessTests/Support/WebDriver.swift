import Foundation
import SealTestSupport
import Testing

/// Debian's headless Chromium driven through chromedriver's W3C WebDriver HTTP API: a real browser,
/// with a real TLS stack that trusts exactly one certificate key (`--ignore-certificate-errors-spki-list`
/// names its SPKI hash; every other certificate error still fails).
final class HeadlessChromium: Sendable {
    static let chromedriver = ["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"].first { FileManager.default.isExecutableFile(atPath: $0) }
    static let chromium = ["/usr/bin/chromium", "/usr/lib/chromium/chromium"].first { FileManager.default.isExecutableFile(atPath: $0) }
    static var isAvailable: Bool { chromedriver != nil && chromium != nil }

    let base: String
    let session: String
    private let driverPID: Int32

    /// Starts chromedriver on a free loopback port and a browser session trusting `trustedSPKI`
    /// (base64 of SHA-256 of a certificate's SubjectPublicKeyInfo).
    static func start(directory: URL, trustedSPKI: String) async throws -> HeadlessChromium {
        let port = try freeLoopbackPort()
        let log = directory.appendingPathComponent("chromedriver-\(port).log")
        let driverPID = try spawnWithSignalsUnblocked(try #require(chromedriver), ["--port=\(port)", "--allowed-ips=127.0.0.1"], output: log.path)
        let base = "http://127.0.0.1:\(port)"
        var ready = false
        var lastAnswer = ""
        for _ in 0..<600 where !ready {
            do {
                let (status, answer) = try await call(base, "GET", "/status", nil)
                ready = status == 200
                lastAnswer = "\(status) \(answer)"
            } catch {
                lastAnswer = "\(error)"
            }
            if !ready { try await Task.sleep(for: .milliseconds(50)) }
        }
        guard ready else {
            stopProcess(driverPID)
            let said = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
            throw CocoaError(.fileReadUnknown, userInfo: [NSLocalizedDescriptionKey: "chromedriver did not start on port \(port): \(said); last answer: \(lastAnswer)"])
        }
        let profile = directory.appendingPathComponent("chromium-profile-\(UUID().uuidString)").path
        let capabilities: [String: Any] = ["capabilities": ["alwaysMatch": [
            "browserName": "chrome",
            "goog:chromeOptions": [
                "binary": try #require(chromium),
                // As root Chromium needs --no-sandbox.
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1000,1200",
                         "--user-data-dir=\(profile)", "--ignore-certificate-errors-spki-list=\(trustedSPKI)"],
            ],
        ]]]
        let (status, answer) = try await call(base, "POST", "/session", capabilities)
        guard status == 200, let value = answer["value"] as? [String: Any], let session = value["sessionId"] as? String else {
            stopProcess(driverPID)
            throw CocoaError(.fileReadUnknown, userInfo: [NSLocalizedDescriptionKey: "no WebDriver session: \(answer)"])
        }
        return HeadlessChromium(driverPID: driverPID, base: base, session: session)
    }

    private init(driverPID: Int32, base: String, session: String) {
        self.base = base
        self.session = session
        self.driverPID = driverPID
    }

    func stop() async {
        // Ending the session ends the browser; then the driver, by the PID this test started.
        _ = try? await Self.call(base, "DELETE", "/session/\(session)", nil)
        stopProcess(driverPID)
    }

    func open(_ url: String) async throws {
        try await command("POST", "/url", ["url": url])
    }

    /// The WebDriver element reference of the first element matching `selector`.
    func element(_ selector: String) async throws -> String {
        let value = try await command("POST", "/element", ["using": "css selector", "value": selector])
        return try #require((value as? [String: Any])?["element-6066-11e4-a52e-4f735466cecf"] as? String, "no element \(selector)")
    }

    /// Puts a local file into an `<input type=file>`.
    func upload(_ path: String, into selector: String) async throws {
        let id = try await element(selector)
        try await command("POST", "/element/\(id)/value", ["text": path])
    }

    func click(_ selector: String) async throws {
        let id = try await element(selector)
        try await command("POST", "/element/\(id)/click", [:])
    }

    /// Runs `script` in the page and returns its result.
    func evaluate(_ script: String) async throws -> Any? {
        try await command("POST", "/execute/sync", ["script": script, "args": []])
    }

    /// Waits until `script` returns a non-empty string, and returns it.
    func waitFor(_ script: String, timeout: Duration = .seconds(30)) async throws -> String {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let text = try await evaluate(script) as? String, !text.isEmpty { return text }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw CocoaError(.fileReadUnknown, userInfo: [NSLocalizedDescriptionKey: "timed out waiting for \(script)"])
    }

    /// A PNG of the viewport.
    func screenshot() async throws -> Data {
        let value = try await command("GET", "/screenshot", nil)
        let text = try #require(value as? String)
        return try #require(Data(base64Encoded: text))
    }

    @discardableResult
    private func command(_ method: String, _ path: String, _ body: [String: Any]?) async throws -> Any? {
        let (status, answer) = try await Self.call(base, method, "/session/\(session)\(path)", body)
        guard status == 200 else {
            throw CocoaError(.fileReadUnknown, userInfo: [NSLocalizedDescriptionKey: "WebDriver \(method) \(path) → \(status): \(answer)"])
        }
        return answer["value"]
    }

    /// One WebDriver call, through the curl command line: Foundation's URLSession on Linux fails on
    /// chromedriver's answers ("Failed writing header").
    private static func call(_ base: String, _ method: String, _ path: String, _ body: [String: Any]?) async throws -> (Int, [String: Any]) {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("webdriver-\(UUID().uuidString)")
        defer {
            try? FileManager.default.removeItem(at: scratch.appendingPathExtension("in"))
            try? FileManager.default.removeItem(at: scratch.appendingPathExtension("out"))
        }
        var arguments = ["-sS", "-m", "120", "-X", method, "-o", scratch.appendingPathExtension("out").path, "-w", "%{http_code}"]
        if let body {
            try JSONSerialization.data(withJSONObject: body).write(to: scratch.appendingPathExtension("in"))
            arguments += ["-H", "Content-Type: application/json", "--data-binary", "@" + scratch.appendingPathExtension("in").path]
        }
        let run = try await runProgram("/usr/bin/curl", arguments + [base + path])
        guard run.status == 0 else { throw CocoaError(.fileReadUnknown, userInfo: [NSLocalizedDescriptionKey: "curl: \(run.stderr)"]) }
        return (Int(run.stdout) ?? 0, jsonObject((try? Data(contentsOf: scratch.appendingPathExtension("out"))) ?? Data()))
    }
}

/// A loopback TCP port nobody listens on now (bound to port 0, read back, closed).
func freeLoopbackPort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw POSIXError(.EMFILE) }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
    }
    guard bound else { throw POSIXError(.EADDRINUSE) }
    return Int(UInt16(bigEndian: address.sin_port))
}

/// Starts `path` with an empty signal mask and default signal actions. The test runner blocks nearly
/// every signal, and a child started with `Process` inherits that mask: chromedriver then hangs
/// before it listens, and ignores SIGTERM.
func spawnWithSignalsUnblocked(_ path: String, _ arguments: [String], output: String) throws -> pid_t {
    var attributes = posix_spawnattr_t()
    posix_spawnattr_init(&attributes)
    defer { posix_spawnattr_destroy(&attributes) }
    var empty = sigset_t()
    sigemptyset(&empty)
    posix_spawnattr_setsigmask(&attributes, &empty)
    var all = sigset_t()
    sigfillset(&all)
    posix_spawnattr_setsigdefault(&attributes, &all)
    posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 1, output, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    posix_spawn_file_actions_adddup2(&actions, 1, 2)
    let argv: [UnsafeMutablePointer<CChar>?] = ([path] + arguments).map { strdup($0) } + [nil]
    defer { argv.forEach { free($0) } }
    var pid: pid_t = 0
    let status = posix_spawn(&pid, path, &actions, &attributes, argv, environ)
    guard status == 0 else { throw POSIXError(POSIXErrorCode(rawValue: status) ?? .EINVAL) }
    return pid
}

/// SIGTERM to a process this test spawned, then reaps it.
func stopProcess(_ pid: pid_t) {
    kill(pid, SIGTERM)
    var status: Int32 = 0
    waitpid(pid, &status, 0)
}
