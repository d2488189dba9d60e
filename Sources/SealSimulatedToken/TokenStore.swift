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
    public func openDefaultToken() async throws -> InProcessTransport {
        try await TokenFactory.provisionTestToken(at: defaultTokenURL, watermarkKeyFile: defaultWatermarkKeyURL, label: "the default token")
        return try InProcessTransport(name: "SealKit simulator (\(defaultTokenURL.path))", backing: FileBackingStore(url: defaultTokenURL))
    }

    /// Opens the token whose state file is `url` (made with `sealsim manufacture`).
    public static func openToken(at url: URL) throws -> InProcessTransport {
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw SimulatorError(.stateFile, "no token state file at \(url.path) (make one with `sealsim manufacture --state \(url.path)`)")
        }
        return try InProcessTransport(name: "SealKit simulator (\(url.path))", backing: FileBackingStore(url: url))
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
