#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CSealKit
import CSealKitSKF
import Foundation
import SealHostDriver
import SealKitCBridge
import SealPCSC
import SealProtocol
import SealSM2Verifier
import Synchronization
import X509

/// The devices registered with `SKF_SealKit_AddTransportDevice`, by name, in registration order.
private let registeredDevices = Mutex<[RegisteredTransport]>([])

/// The vendor roots of `SKF_SealKit_SetVendorRoots`; nil until it is called.
private let configuredVendorRoots = Mutex<[Certificate]?>(nil)

/// The roots chips are authenticated under: those set by `SKF_SealKit_SetVendorRoots`, else the
/// PEM file named by `SEALKIT_VENDOR_ROOTS` (read at each connect), else none — and with none,
/// the driver refuses every chip.
private func vendorRoots() throws -> [Certificate] {
    if let roots = configuredVendorRoots.withLock({ $0 }) { return roots }
    guard let path = ProcessInfo.processInfo.environment["SEALKIT_VENDOR_ROOTS"], !path.isEmpty else { return [] }
    guard let bytes = FileManager.default.contents(atPath: path) else {
        throw SKFFailure(SAR_FAIL, "SEALKIT_VENDOR_ROOTS names \(path), which cannot be read")
    }
    return try StampVerifier(trustedRoots: [UInt8](bytes)).trustedRoots
}

/// `SKF_SealKit_SetVendorRoots` (skf.h).
@_cdecl("SKF_SealKit_SetVendorRoots")
package func skfSetVendorRoots(_ roots: UnsafePointer<UInt8>?, _ length: UInt32) -> UInt32 {
    skfEntry("SKF_SealKit_SetVendorRoots") {
        let bytes = try bytesArgument(roots, length, "pbRoots")
        guard !bytes.isEmpty else { throw SKFFailure(SAR_INVALIDPARAMERR, "no vendor roots given") }
        let certificates = try StampVerifier(trustedRoots: bytes).trustedRoots
        configuredVendorRoots.withLock { $0 = certificates }
    }
}

/// `SKF_SealKit_AddTransportDevice` (skf.h).
@_cdecl("SKF_SealKit_AddTransportDevice")
package func skfAddTransportDevice(_ name: UnsafePointer<CChar>?, _ transport: UnsafePointer<sealkit_transport>?) -> UInt32 {
    skfEntry("SKF_SealKit_AddTransportDevice") {
        guard let transport else { throw SKFFailure(SAR_INVALIDPARAMERR, "pTransport is NULL") }
        let copy = transport.pointee
        let text: String
        do {
            text = try stringArgument(name, "szName")
            guard !text.isEmpty else { throw SKFFailure(SAR_INVALIDPARAMERR, "the device name is empty") }
        } catch {
            copy.release?(copy.context)
            throw error
        }
        let device = try RegisteredTransport(name: text, transport: copy)
        let added = registeredDevices.withLock { devices in
            guard !devices.contains(where: { $0.name == text }) else { return false }
            devices.append(device)
            return true
        }
        guard added else {
            device.discard()
            throw SKFFailure(SAR_INVALIDPARAMERR, "a device named \(text) is already registered")
        }
    }
}

/// `SKF_EnumDev` (skf.h): the registered devices, then the PC/SC readers.
@_cdecl("SKF_EnumDev")
package func skfEnumDev(_ present: Int32, _ nameList: UnsafeMutablePointer<CChar>?, _ size: UnsafeMutablePointer<UInt32>?) -> UInt32 {
    skfEntry("SKF_EnumDev") {
        var names = registeredDevices.withLock { $0.map(\.name) }
        // No pcscd (or no PC/SC at all) means no readers, not a failure of the enumeration.
        if let readers = try? runBlocking({ try await PCSCReaders.list() }) {
            names += readers.filter { present == 0 || $0.isCardPresent }.map(\.name).filter { !names.contains($0) }
        }
        try writeSized(multiString(names), to: UnsafeMutableRawPointer(nameList)?.assumingMemoryBound(to: UInt8.self),
                       size: size, "the device list")
    }
}

/// `SKF_ConnectDev` (skf.h).
@_cdecl("SKF_ConnectDev")
package func skfConnectDev(_ name: UnsafePointer<CChar>?, _ handle: UnsafeMutablePointer<UnsafeMutableRawPointer?>?) -> UInt32 {
    skfEntry("SKF_ConnectDev") {
        guard let handle else { throw SKFFailure(SAR_INVALIDPARAMERR, "phDev is NULL") }
        handle.pointee = nil
        let text = try stringArgument(name, "szName")
        guard !text.isEmpty else { throw SKFFailure(SAR_INVALIDPARAMERR, "the device name is empty") }
        let settings = SecureChannelSettings(trustedVendorRoots: try vendorRoots())
        let transport: any CardTransport
        if let registered = registeredDevices.withLock({ $0.first { $0.name == text } }) {
            // One connection at a time: sealkit.h never calls a transport's functions concurrently.
            let free = registered.connected.withLock { connected in
                defer { connected = true }
                return !connected
            }
            guard free else { throw SKFFailure(SAR_FAIL, "\(text) is already connected; disconnect it first") }
            transport = registered.connection()
        } else {
            let readers = (try? runBlocking({ try await PCSCReaders.names() })) ?? []
            guard readers.contains(text) else {
                throw SKFFailure(SAR_INVALIDPARAMERR, "no device named \(text) (SKF_EnumDev lists them)")
            }
            transport = PCSCTransport(readerName: text, shareMode: .shared)
        }
        let device = try runBlocking {
            let token = SealToken(transport: transport, secureChannel: settings)
            // The driver checks every native stamp signature; an SM2 seal key needs this verifier.
            await token.addSignatureVerifier(SM2SealSignatureVerifier())
            do {
                try await token.connect()
            } catch {
                await token.close()
                throw error
            }
            return SKFDevice(name: text, token: token)
        }
        handle.pointee = SKFHandles.addDevice(device)
    }
}

/// `SKF_DisConnectDev` (skf.h).
@_cdecl("SKF_DisConnectDev")
package func skfDisConnectDev(_ handle: UnsafeMutableRawPointer?) -> UInt32 {
    skfEntry("SKF_DisConnectDev") {
        let device = try SKFHandles.removeDevice(handle)
        // close() never throws; the result is only the completion signal.
        _ = try? runBlocking { await device.token.close() }
    }
}

/// `SKF_GetDevInfo` (skf.h): the token's identity and personalization as a DEVINFO.
@_cdecl("SKF_GetDevInfo")
package func skfGetDevInfo(_ handle: UnsafeMutableRawPointer?, _ info: UnsafeMutablePointer<DEVINFO>?) -> UInt32 {
    skfEntry("SKF_GetDevInfo") {
        let device = try SKFHandles.device(handle)
        guard let info else { throw SKFFailure(SAR_INVALIDPARAMERR, "pDevInfo is NULL") }
        let state = try runBlocking { try await device.token.info() }
        let bytes = DeviceInfoLayout(state).bytes
        guard bytes.count == MemoryLayout<DEVINFO>.size else {
            throw SKFFailure(SAR_UNKNOWNERR, "DEVINFO is \(MemoryLayout<DEVINFO>.size) bytes, not the \(bytes.count) of GM/T 0016")
        }
        bytes.withUnsafeBytes { source in
            guard let base = source.baseAddress else { return }
            UnsafeMutableRawPointer(info).copyMemory(from: base, byteCount: source.count)
        }
    }
}

/// The 294 bytes of GM/T 0016's packed DEVINFO, written field by field in declaration order
/// (ULONGs in the host's byte order, as a C compiler stores them), so that no field depends on
/// how Swift lays out an imported packed structure.
struct DeviceInfoLayout {
    private(set) var bytes: [UInt8] = []

    init(_ info: SealTokenInfo) {
        let protocolVersion = info.capabilities.specVersion
        version(1, 0)
        text("SealKit", 64)
        text(info.personalization?.organizationName ?? "", 64)
        text(info.personalization?.sealName ?? "", 32)
        text(hexString(info.chipID).uppercased(), 32)
        version(protocolVersion.first ?? 0, protocolVersion.dropFirst().first ?? 0)
        version(protocolVersion.first ?? 0, protocolVersion.dropFirst().first ?? 0)
        let sm2 = info.capabilities.sealKeyAlgorithm == .sm2
        ulong(0)                                              // AlgSymCap
        ulong(sm2 ? UInt32(SGD_SM2_1) : 0)                    // AlgAsymCap
        ulong(UInt32(SGD_SM3) | UInt32(SGD_SHA256))           // AlgHashCap
        ulong(0)                                              // DevAuthAlgId
        ulong(0)                                              // TotalSpace
        ulong(0)                                              // FreeSpace
        ulong(UInt32(info.capabilities.maxCommandData))       // MaxECCBufferSize
        ulong(UInt32(info.capabilities.maxCommandData))       // MaxBufferSize
        bytes += [UInt8](repeating: 0, count: 64)             // Reserved
    }

    private mutating func version(_ major: UInt8, _ minor: UInt8) { bytes += [major, minor] }

    /// A fixed-width character field, NUL-padded; a value as long as the field fills it without
    /// a NUL (the 32 hex digits of the chip ID), a longer one loses its end at a UTF-8 boundary.
    private mutating func text(_ value: String, _ width: Int) {
        var utf8 = Array(value.utf8)
        while utf8.count > width {
            utf8.removeLast()
            while let last = utf8.last, last & 0xC0 == 0x80 { utf8.removeLast() }
            if let last = utf8.last, last >= 0xC0 { utf8.removeLast() }
        }
        bytes += utf8 + [UInt8](repeating: 0, count: width - utf8.count)
    }

    private mutating func ulong(_ value: UInt32) {
        withUnsafeBytes(of: value) { bytes += $0 }
    }
}
