import Foundation
import SealHostDriver
import SealProtocol
import Testing

@testable import SealFirmware
@testable import SealSimulatedToken

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Opening file-based tokens: read-only media, and images the chip refuses.
@Suite("file-based tokens: read-only media and refused images")
struct TokenMediaTests {
    static func makeToken() async throws -> (directory: URL, stateFile: URL) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("TokenMedia-\(UUID().uuidString)", isDirectory: true)
        let stateFile = directory.appendingPathComponent("token.nvm")
        try await TokenFactory.provisionTestToken(at: stateFile, watermarkKeyFile: directory.appendingPathComponent("token.watermark-key"),
                                                  label: "a test token")
        return (directory, stateFile)
    }

    /// `chmod`, and as root (whom `chmod` does not stop) `chattr` too; `flag` `+i` or `-i`.
    static func setReadOnly(_ readOnly: Bool, _ paths: [(String, mode_t)]) throws {
        for (path, mode) in readOnly ? paths : paths.reversed() {
            if readOnly { #expect(chmod(path, mode) == 0) }
            if geteuid() == 0 {
                let process = Process()
                process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
                process.arguments = ["chattr", readOnly ? "+i" : "-i", path]
                try process.run()
                process.waitUntilExit()
                try #require(process.terminationStatus == 0, "chattr failed: root needs it to make \(path) read-only")
            }
            if !readOnly { #expect(chmod(path, mode) == 0) }
        }
    }

    @Test("a token on read-only media: info works and writes nothing; VERIFY fails saying why and changes nothing")
    func readOnlyToken() async throws {
        let (directory, stateFile) = try await Self.makeToken()
        let before = try Data(contentsOf: stateFile)
        let modeBefore = try #require(try FileManager.default.attributesOfItem(atPath: stateFile.path)[.posixPermissions] as? Int)
        try Self.setReadOnly(true, [(stateFile.path, 0o444), (directory.path, 0o555)])
        defer {
            try? Self.setReadOnly(false, [(stateFile.path, mode_t(modeBefore)), (directory.path, 0o755)])
            try? FileManager.default.removeItem(at: directory)
        }

        let token = SealToken(transport: try TokenStore.openToken(at: stateFile), secureChannel: .testVendorRoot)
        _ = try await token.connect()
        let info = try await token.info()
        #expect(info.lifecycle == .active)
        #expect(info.pinStatus?.pinTriesRemaining == 3)

        // VERIFY commits the decremented try counter first: refused, with the reason, no try spent.
        let error = await #expect(throws: SealDriverError.self) { try await token.verifyPIN("000000") }
        #expect(error?.code == .transportFailure)
        #expect(error?.statusWord == .memoryFailure)
        #expect(error?.message.contains("is read-only") == true, "\(String(describing: error?.message))")
        #expect(error?.message.contains("\n") == false)
        // The advice is about the storage, not the reader: nothing is wrong with the connection.
        #expect(error?.message.contains("storage is read-only") == true, "\(String(describing: error?.message))")
        #expect(error?.message.contains("reader connection") == false, "\(String(describing: error?.message))")
        #expect(try await token.pinStatus().pinTriesRemaining == 3)
        await token.close()
        #expect(try Data(contentsOf: stateFile) == before)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted() == ["token.nvm", "token.watermark-key"])
    }

    @Test("an image whose counter is below the newest audit entry is refused when opened, and answers 6581")
    func counterBelowAuditHead() async throws {
        let (directory, stateFile) = try await Self.makeToken()
        defer { try? FileManager.default.removeItem(at: directory) }
        // Two stamps, then the counter record rolled back to 1 (as a restored old record would).
        let token = SealToken(transport: try TokenStore.openToken(at: stateFile), secureChannel: .testVendorRoot)
        _ = try await token.connect()
        for index in 0..<2 {
            try await token.verifyPIN(TestCredentials.defaultPIN)  // PIN always (SPEC v2 §8.13): one VERIFY per STAMP
            _ = try await token.stamp(document: Array("document \(index)".utf8), metadata: StampMetadata(time: 1_700_000_000))
        }
        await token.close()
        do {
            let nvm = try NonVolatileMemory(backing: FileBackingStore(url: stateFile))
            try nvm.write(RecordID.signatureCounter.rawValue, [0, 0, 0, 1])
        }

        let error = #expect(throws: SimulatorError.self) { try TokenStore.openToken(at: stateFile) }
        #expect(error?.code == .stateFile)
        #expect(error?.description.contains("signature counter (1) is lower than the newest audit entry (2)") == true,
                "\(String(describing: error))")
        #expect(error?.description.contains("6581") == true)

        // The chip itself, as a vpcd or USB slot hosts it, answers every command 6581.
        let chip = try SimulatedChip(stateFile: stateFile)
        #expect(chip.memoryFault != nil)
        _ = try chip.powerOn()
        #expect(chip.process(try SealCommand.select().encoded()) == .response([0x65, 0x81]))
        let stamp = SealCommand.stamp(try StampRequest(documentDigest: [UInt8](repeating: 1, count: 32),
                                                       metadata: StampMetadata(time: 1_700_000_000)))
        #expect(chip.process(try stamp.encoded()) == .response([0x65, 0x81]))
    }
}
