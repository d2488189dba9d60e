#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CSealKit
import Crypto
import Foundation
import SealFirmware
import SealKitCBridge
import SealProtocol
import SealSimulatedToken

/// The object behind a `sealkit_sim *` and behind the context of the transports it fills: a
/// personalized, active simulated chip in this process.
///
/// The chip is entered synchronously under its own lock (``SimulatedChip``), so the C transport
/// functions answer on the driver's thread without any task or thread hop, and may be called from
/// any thread. Only C types leave this library: the transport struct of sealkit.h, bytes and
/// status codes.
final class SimulatedTokenObject: Sendable {
    let chip: SimulatedChip
    /// The issuer's watermark key, when known.
    let watermarkKey: [UInt8]?

    init(chip: SimulatedChip, watermarkKey: [UInt8]?) {
        self.chip = chip
        self.watermarkKey = watermarkKey
    }

    /// Makes the test token described in sealkit-sim.h, in memory or in `statePath`.
    static func make(statePath: String?) async throws -> SimulatedTokenObject {
        if let statePath {
            let url = URL(fileURLWithPath: statePath)
            let keyFile = URL(fileURLWithPath: statePath + ".watermark-key")
            try await TokenFactory.provisionTestToken(at: url, watermarkKeyFile: keyFile, label: "the C test token")
            let key = (try? String(contentsOf: keyFile, encoding: .utf8))
                .flatMap { bytesFromHex($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
            return SimulatedTokenObject(chip: try SimulatedChip(stateFile: url), watermarkKey: key?.count == 32 ? key : nil)
        }
        let issuerKey = try P256.Signing.PrivateKey(pemRepresentation: TestCredentials.issuerKeyPEM)
        let chip = try manufacturedChipInMemory()
        let watermarkKey = SystemChipRandom().randomBytes(count: 32)
        try await TokenFactory.personalize(transport: InProcessTransport(name: "the C test token (personalization)", chip: chip),
                                           issuerKey: issuerKey,
                                           data: TokenStore.defaultPersonalization(watermarkKey: watermarkKey), activate: true)
        return SimulatedTokenObject(chip: chip, watermarkKey: watermarkKey)
    }

    static func borrowed(_ pointer: UnsafeRawPointer) -> SimulatedTokenObject {
        Unmanaged<SimulatedTokenObject>.fromOpaque(pointer).takeUnretainedValue()
    }
}

/// A chip manufactured under the test vendor CA for the test issuer, its memory in this process.
/// (Everything is made here: the backing store must share its region with nothing of the
/// caller's to be sent to the chip, and the region checker counts a key parameter as the caller's.)
private func manufacturedChipInMemory() throws -> SimulatedChip {
    let backing = InMemoryBackingStore()
    let issuerKey = try P256.Signing.PrivateKey(pemRepresentation: TestCredentials.issuerKeyPEM).publicKey
    try TokenFactory.manufacture(backing: backing, ca: try VendorCA.testVendor(), issuerPublicKey: issuerKey)
    return try SimulatedChip(backing: backing, random: SystemChipRandom())
}

// MARK: - The transport functions

/// Copies `bytes` into a C buffer of `capacity`; SEALKIT_E_TRANSPORT when it does not fit.
private func write(_ bytes: [UInt8], to buffer: UnsafeMutablePointer<UInt8>?, capacity: Int,
                   length: UnsafeMutablePointer<Int>?) -> Int32 {
    guard let buffer, let length, bytes.count <= capacity else { return SEALKIT_E_TRANSPORT }
    bytes.withUnsafeBufferPointer { source in
        if let base = source.baseAddress { buffer.update(from: base, count: source.count) }
    }
    length.pointee = bytes.count
    return SEALKIT_OK
}

private func simulatedConnect(_ context: UnsafeMutableRawPointer?, _ atr: UnsafeMutablePointer<UInt8>?,
                              _ capacity: Int, _ length: UnsafeMutablePointer<Int>?) -> Int32 {
    guard let context else { return SEALKIT_E_TRANSPORT }
    guard let bytes = try? SimulatedTokenObject.borrowed(context).chip.powerOn() else { return SEALKIT_E_TRANSPORT }
    return write(bytes, to: atr, capacity: capacity, length: length)
}

private func simulatedReset(_ context: UnsafeMutableRawPointer?, _ atr: UnsafeMutablePointer<UInt8>?,
                            _ capacity: Int, _ length: UnsafeMutablePointer<Int>?) -> Int32 {
    guard let context else { return SEALKIT_E_TRANSPORT }
    let chip = SimulatedTokenObject.borrowed(context).chip
    guard let bytes = try? (chip.isPowered ? chip.reset() : chip.powerOn()) else { return SEALKIT_E_TRANSPORT }
    return write(bytes, to: atr, capacity: capacity, length: length)
}

private func simulatedTransmit(_ context: UnsafeMutableRawPointer?, _ command: UnsafePointer<UInt8>?, _ commandLength: Int,
                               _ response: UnsafeMutablePointer<UInt8>?, _ capacity: Int,
                               _ length: UnsafeMutablePointer<Int>?) -> Int32 {
    guard let context, let command else { return SEALKIT_E_TRANSPORT }
    let apdu = Array(UnsafeBufferPointer(start: command, count: commandLength))
    switch SimulatedTokenObject.borrowed(context).chip.process(apdu) {
    case .response(let bytes): return write(bytes, to: response, capacity: capacity, length: length)
    case .mute: return SEALKIT_E_NO_RESPONSE
    }
}

private func simulatedDisconnect(_ context: UnsafeMutableRawPointer?) {
    guard let context else { return }
    SimulatedTokenObject.borrowed(context).chip.powerOff()
}

private func simulatedRelease(_ context: UnsafeMutableRawPointer?) {
    guard let context else { return }
    Unmanaged<SimulatedTokenObject>.fromOpaque(context).release()
}

/// The transport name, for the driver's messages. Static: the struct points at it.
private let transportName: StaticString = "SealKit simulated token (libsealkit-sim)"

// MARK: - Entry points

/// `sealkit_sim_create` (sealkit-sim.h).
@_cdecl("sealkit_sim_create")
package func sealkitSimCreate(_ statePath: UnsafePointer<CChar>?,
                             _ errorMessage: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> OpaquePointer? {
    errorMessage?.pointee = nil
    do {
        var path: String?
        if let statePath {
            guard let text = String(validatingCString: statePath), !text.isEmpty else {
                errorMessage?.pointee = strdup("state_path is empty or not UTF-8")
                return nil
            }
            path = text
        }
        let object = try runBlocking { [path] in try await SimulatedTokenObject.make(statePath: path) }
        return OpaquePointer(Unmanaged.passRetained(object).toOpaque())
    } catch {
        errorMessage?.pointee = strdup("cannot make the simulated token: \(error)")
        return nil
    }
}

/// `sealkit_sim_transport` (sealkit-sim.h).
@_cdecl("sealkit_sim_transport")
package func sealkitSimTransport(_ sim: OpaquePointer?, _ transport: UnsafeMutablePointer<sealkit_transport>?) -> Int32 {
    guard let sim, let transport else { return -1 }
    let object = SimulatedTokenObject.borrowed(UnsafeRawPointer(sim))
    transport.pointee = sealkit_transport(
        context: Unmanaged.passRetained(object).toOpaque(),
        name: UnsafeRawPointer(transportName.utf8Start).assumingMemoryBound(to: CChar.self),
        connect: simulatedConnect, reset: simulatedReset, transmit: simulatedTransmit,
        disconnect: simulatedDisconnect, release: simulatedRelease)
    return 0
}

/// `sealkit_sim_watermark_key` (sealkit-sim.h).
@_cdecl("sealkit_sim_watermark_key")
package func sealkitSimWatermarkKey(_ sim: OpaquePointer?, _ key: UnsafeMutablePointer<UInt8>?) -> Int32 {
    guard let sim, let key, let bytes = SimulatedTokenObject.borrowed(UnsafeRawPointer(sim)).watermarkKey else { return -1 }
    key.update(from: bytes, count: bytes.count)
    return 0
}

/// The test vendor root and PIN as C strings, made once (a global's lazy, thread-safe
/// initialization) and kept for the life of the process. `nonisolated(unsafe)`: nothing writes
/// through these pointers; C only reads them.
nonisolated(unsafe) private let vendorRootPEM = strdup(TestCredentials.vendorRootCertificatePEM)
nonisolated(unsafe) private let defaultPIN = strdup(TestCredentials.defaultPIN)

/// `sealkit_sim_vendor_root_pem` (sealkit-sim.h).
@_cdecl("sealkit_sim_vendor_root_pem")
package func sealkitSimVendorRootPEM() -> UnsafePointer<CChar>? {
    UnsafePointer(vendorRootPEM)
}

/// `sealkit_sim_pin` (sealkit-sim.h).
@_cdecl("sealkit_sim_pin")
package func sealkitSimPIN() -> UnsafePointer<CChar>? {
    UnsafePointer(defaultPIN)
}

/// `sealkit_sim_free` (sealkit-sim.h).
@_cdecl("sealkit_sim_free")
package func sealkitSimFree(_ sim: OpaquePointer?) {
    guard let sim else { return }
    Unmanaged<SimulatedTokenObject>.fromOpaque(UnsafeRawPointer(sim)).release()
}

/// `sealkit_sim_string_free` (sealkit-sim.h).
@_cdecl("sealkit_sim_string_free")
package func sealkitSimStringFree(_ string: UnsafeMutablePointer<CChar>?) {
    free(string)
}
