import Crypto
import Foundation
import SealFirmware
import SealHostDriver
import SealProtocol

/// Where simulated tokens keep their state: `$SEALKIT_HOME` (default `~/.sealkit`).
///
/// The default token (`tokens/default.nvm`) is made on first use — manufactured under the test
/// vendor CA and personalized with ``TestCredentials/defaultPIN`` — so that `sealctl info` works
/// with zero set-up. Its watermark key is kept beside it (`tokens/default.watermark-key`), standing
/// in for the issuer's validation service.
public struct TokenStore: Sendable {
    /// The folder the tokens live in.
    public let home: URL

    /// A store in `home`.
    public init(home: URL) {
        self.home = home
    }

    /// `$SEALKIT_HOME`, else `~/.sealkit`.
    public init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        if let path = environment["SEALKIT_HOME"], !path.isEmpty {
            home = URL(fileURLWithPath: path, isDirectory: true)
        } else {
            home = FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".sealkit", isDirectory: true)
        }
    }

    /// The default token's state file, `tokens/default.nvm`.
    public var defaultTokenURL: URL { home.appendingPathComponent("tokens/default.nvm") }
    /// The default token's watermark key, hex, `tokens/default.watermark-key`.
    public var defaultWatermarkKeyURL: URL { home.appendingPathComponent("tokens/default.watermark-key") }

    /// Opens the default token, making it first when it does not exist yet.
    ///
    /// The token is locked for this process until the transport is closed (an exclusive `flock` on
    /// `tokens/default.nvm.lock`); making it happens under the same lock, so processes racing to
    /// make it do not collide. Another process waits for the lock, blocking its thread.
    ///
    /// - Throws: ``SimulatorError`` `tokenInUse` when another process keeps the token open longer
    ///   than `SEALKIT_TOKEN_WAIT` seconds (10 by default).
    ///
    /// `capabilities` are the size limits the chip runs with (SPEC §3.5): the state file does not
    /// record them, as a real chip's ROM does not live in its NVM.
    public func openDefaultToken(capabilities: SealCapabilities = .reference) async throws -> InProcessTransport {
        let directory = defaultTokenURL.deletingLastPathComponent()
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        } catch {
            // Another process may have made it in the meantime: only a missing folder is an error.
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDirectory), isDirectory.boolValue else {
                throw SimulatorError(.stateFile, "cannot create the token folder \(directory.path): \(Self.describe(error))")
            }
        }
        let lock = try TokenFileLock(stateFile: defaultTokenURL)
        try await TokenFactory.provisionTestToken(at: defaultTokenURL, watermarkKeyFile: defaultWatermarkKeyURL, label: "the default token")
        return try Self.open(defaultTokenURL, lock: lock, capabilities: capabilities)
    }

    /// Opens the token whose state file is `url` (made with `sealsim manufacture`), locked for this
    /// process until the transport is closed (an exclusive `flock` on `<url>.lock`; another
    /// process waits for it, blocking its thread); a `sealsim serve` serving the file holds the
    /// same lock.
    ///
    /// - Throws: ``SimulatorError`` `stateFile` when there is no such file or it is a folder,
    ///   `tokenInUse` when another process keeps the token open longer than `SEALKIT_TOKEN_WAIT`
    ///   seconds (10 by default).
    ///   `capabilities` are the size limits the chip runs with (SPEC §3.5).
    public static func openToken(at url: URL, capabilities: SealCapabilities = .reference) throws -> InProcessTransport {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else {
            throw SimulatorError(.stateFile, "no token state file at \(url.path) (make one with `sealsim manufacture --state \(url.path)`)")
        }
        guard !isDirectory.boolValue else {
            throw SimulatorError(.stateFile, "\(url.path) is a folder, not a token state file (give the state file, e.g. \(url.path)/token.nvm)")
        }
        return try open(url, lock: TokenFileLock(stateFile: url), capabilities: capabilities)
    }

    private static func open(_ url: URL, lock: TokenFileLock, capabilities: SealCapabilities) throws -> InProcessTransport {
        do {
            return try InProcessTransport(name: "SealKit simulator (\(url.path))", backing: FileBackingStore(url: url), fileLock: lock,
                                          capabilities: capabilities)
        } catch let error as SimulatorError {
            throw error
        } catch {
            throw SimulatorError(.stateFile, "cannot open the token state file \(url.path): \(describe(error))")
        }
    }

    /// One line for a Foundation or POSIX error (no NSError dump).
    static func describe(_ error: any Error) -> String {
        if let error = error as? any CodedError { return error.reason }
        return (error as NSError).localizedDescription
    }

    /// The watermark key of the default token, when it exists.
    public func defaultWatermarkKey() -> [UInt8]? {
        guard let text = try? String(contentsOf: defaultWatermarkKeyURL, encoding: .utf8) else { return nil }
        return bytesFromHex(text.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    /// The personalization of the default token (documented in the README).
    public static func defaultPersonalization(watermarkKey: [UInt8]) -> PersonalizationData {
        PersonalizationData(
            organizationName: "SealKit Demo Co.", sealName: "Demo Contract Seal",
            featureHash: TokenFactory.featureHash(of: Array("SealKit demo seal imprint".utf8)),
            pin: TestCredentials.defaultPIN, pinTryLimit: 3, puk: TestCredentials.defaultPUK, pukTryLimit: 10,
            watermarkValiditySeconds: 365 * 86_400, watermarkKey: watermarkKey)
    }
}
