import CSealKitSKF
import SealHostDriver
import SealProtocol
import Synchronization

/// The object behind a `DEVHANDLE`: a connected ``SealToken`` (an actor: its operations run one
/// at a time, which is what skf.h promises for a handle shared by threads).
final class SKFDevice: Sendable {
    let name: String
    let token: SealToken

    init(name: String, token: SealToken) {
        self.name = name
        self.token = token
    }
}

/// The object behind an `HAPPLICATION`: the seal applet of a device.
final class SKFApplication: Sendable {
    let device: SKFDevice

    init(device: SKFDevice) { self.device = device }
}

/// The object behind an `HCONTAINER`: the seal key, and the signatures of the stamps prepared
/// on it (`SKF_SealKit_PrepareStamp`), each keyed by the SM2 digest e that `SKF_ECCSignData`
/// must be given to hand it out.
final class SKFContainer: Sendable {
    let device: SKFDevice
    /// The seal public key, 65 bytes `04 ‖ x ‖ y`.
    let publicKey: [UInt8]
    let algorithm: SealKeyAlgorithm
    /// e = SM3(Z_A ‖ signed TBS_Sign) → the chip's DER signature over that TBS_Sign.
    let preparedSignatures = Mutex<[[UInt8]: [UInt8]]>([:])

    init(device: SKFDevice, publicKey: [UInt8], algorithm: SealKeyAlgorithm) {
        self.device = device
        self.publicKey = publicKey
        self.algorithm = algorithm
    }
}

/// The handles handed to C. A handle is a number (shown to C as a pointer) looked up in this
/// table, never a pointer the library dereferences, so a closed, forged or mistyped handle is
/// `SAR_INVALIDHANDLEERR` instead of a crash. Closing a device closes what was opened on it.
enum SKFHandles {
    private enum Object: Sendable {
        case device(SKFDevice)
        case application(SKFApplication, device: UInt)
        case container(SKFContainer, device: UInt, application: UInt)
    }

    private struct Table: Sendable {
        /// Handles start far from 0 and small integers, so that an uninitialised or
        /// zero-filled HANDLE is never a live one.
        var next: UInt = 0x5EA1_0001
        var objects: [UInt: Object] = [:]

        mutating func add(_ object: Object) -> UInt {
            let id = next
            next += 1
            objects[id] = object
            return id
        }
    }

    private static let table = Mutex(Table())

    private static func id(_ handle: UnsafeMutableRawPointer?) -> UInt {
        UInt(bitPattern: handle)
    }

    private static func pointer(_ id: UInt) -> UnsafeMutableRawPointer? {
        UnsafeMutableRawPointer(bitPattern: id)
    }

    private static func invalid(_ what: String) -> SKFFailure {
        SKFFailure(SAR_INVALIDHANDLEERR, "not an open \(what) handle")
    }

    static func addDevice(_ device: SKFDevice) -> UnsafeMutableRawPointer? {
        pointer(table.withLock { $0.add(.device(device)) })
    }

    static func addApplication(_ application: SKFApplication, device handle: UnsafeMutableRawPointer?) throws(SKFFailure)
        -> UnsafeMutableRawPointer? {
        let deviceID = id(handle)
        let added: UInt? = table.withLock { table in
            guard case .device = table.objects[deviceID] else { return nil }
            return table.add(.application(application, device: deviceID))
        }
        guard let added else { throw invalid("device") }
        return pointer(added)
    }

    static func addContainer(_ container: SKFContainer, application handle: UnsafeMutableRawPointer?) throws(SKFFailure)
        -> UnsafeMutableRawPointer? {
        let applicationID = id(handle)
        let added: UInt? = table.withLock { table in
            guard case .application(_, let deviceID) = table.objects[applicationID] else { return nil }
            return table.add(.container(container, device: deviceID, application: applicationID))
        }
        guard let added else { throw invalid("application") }
        return pointer(added)
    }

    static func device(_ handle: UnsafeMutableRawPointer?) throws(SKFFailure) -> SKFDevice {
        guard case .device(let device) = table.withLock({ $0.objects[id(handle)] }) else { throw invalid("device") }
        return device
    }

    static func application(_ handle: UnsafeMutableRawPointer?) throws(SKFFailure) -> SKFApplication {
        guard case .application(let application, _) = table.withLock({ $0.objects[id(handle)] }) else { throw invalid("application") }
        return application
    }

    static func container(_ handle: UnsafeMutableRawPointer?) throws(SKFFailure) -> SKFContainer {
        guard case .container(let container, _, _) = table.withLock({ $0.objects[id(handle)] }) else { throw invalid("container") }
        return container
    }

    /// Removes a device and everything opened on it; returns the device.
    static func removeDevice(_ handle: UnsafeMutableRawPointer?) throws(SKFFailure) -> SKFDevice {
        let deviceID = id(handle)
        let removed: SKFDevice? = table.withLock { table in
            guard case .device(let device) = table.objects[deviceID] else { return nil }
            table.objects = table.objects.filter { key, object in
                switch object {
                case .device: key != deviceID
                case .application(_, let device), .container(_, let device, _): device != deviceID
                }
            }
            return device
        }
        guard let removed else { throw invalid("device") }
        return removed
    }

    /// Removes an application and its containers; returns the application.
    static func removeApplication(_ handle: UnsafeMutableRawPointer?) throws(SKFFailure) -> SKFApplication {
        let applicationID = id(handle)
        let removed: SKFApplication? = table.withLock { table in
            guard case .application(let application, _) = table.objects[applicationID] else { return nil }
            table.objects = table.objects.filter { key, object in
                switch object {
                case .device: true
                case .application: key != applicationID
                case .container(_, _, let application): application != applicationID
                }
            }
            return application
        }
        guard let removed else { throw invalid("application") }
        return removed
    }

    static func removeContainer(_ handle: UnsafeMutableRawPointer?) throws(SKFFailure) {
        let containerID = id(handle)
        let removed = table.withLock { table -> Bool in
            guard case .container = table.objects[containerID] else { return false }
            table.objects[containerID] = nil
            return true
        }
        guard removed else { throw invalid("container") }
    }
}
