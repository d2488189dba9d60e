import SealSimulatedToken
import SealReaderWire
import SealProtocol

/// The answer of a device catalog to OP_REQ_IMPORT.
package enum USBIPImportResult {
    /// The device is now attached to this connection: its record and its URB-phase session.
    case attached(USBIPDevice, USBIPServerDeviceSession)
    /// Refused, with the OP_REP_IMPORT status: ``USBIPServerConnection/statusUnavailable`` (1)
    /// for an unknown bus ID, ``USBIPServerConnection/statusBusy`` (2) for a device another
    /// client holds.
    case refused(status: UInt32)
}

/// One USB/IP client connection, as a pure byte-stream state machine: the operation phase
/// (OP_REQ_DEVLIST, OP_REQ_IMPORT) and, once a device is imported, the URB phase, handed to the
/// device's ``USBIPServerDeviceSession``. Bytes from the socket in, bytes for the socket out.
///
/// Like `usbipd`, the connection answers any number of DEVLIST requests, switches to the URB
/// phase on a successful IMPORT, and ends after a refused IMPORT or on malformed input.
package final class USBIPServerConnection {
    /// OP_REP_IMPORT status for an unknown bus ID (`ST_NA`).
    package static let statusUnavailable: UInt32 = 1
    /// OP_REP_IMPORT status for a device already imported by another client (`ST_DEV_BUSY`).
    package static let statusBusy: UInt32 = 2

    /// Where the connection is.
    package enum Phase {
        /// Operation phase: DEVLIST and IMPORT requests.
        case operation
        /// URB phase with the imported device.
        case attached(USBIPDevice, USBIPServerDeviceSession)
        /// Ended; further input is ignored.
        case closed(reason: String)
    }

    /// The current phase.
    package private(set) var phase: Phase = .operation {
        didSet {
            if case .attached(_, let session) = phase { attachedSession = session } else { attachedSession = nil }
        }
    }
    /// The session of the URB phase, kept apart from `phase` so that each command reaches it
    /// without copying the device record out of the enum.
    // This state is touched by the connection's thread alone and never by overlapping accesses
    // (the runtime's exclusivity checks on it cost time on every command).
    @exclusivity(unchecked) private var attachedSession: USBIPServerDeviceSession?

    private let listDevices: () -> [USBIPDevice]
    private let importDevice: (String) -> USBIPImportResult
    private let maximumTransferLength: Int
    @exclusivity(unchecked) private var buffer: [UInt8] = []
    /// The returns of the command at hand; kept (empty) for the next one.
    @exclusivity(unchecked) private var replyScratch: [USBIPServerReply] = []

    /// A connection over a catalog of devices.
    ///
    /// - Parameters:
    ///   - listDevices: the records OP_REP_DEVLIST reports (with their interfaces).
    ///   - importDevice: attaches the device with this bus ID to the connection.
    ///   - maximumTransferLength: bound on a CMD_SUBMIT's `transfer_buffer_length` (default
    ///     1 MiB); a larger one ends the connection.
    package init(listDevices: @escaping () -> [USBIPDevice], importDevice: @escaping (String) -> USBIPImportResult,
                maximumTransferLength: Int = USBIP.defaultMaximumTransferLength) {
        self.listDevices = listDevices
        self.importDevice = importDevice
        self.maximumTransferLength = maximumTransferLength
    }

    /// The session of the imported device, once there is one.
    package var session: USBIPServerDeviceSession? { attachedSession }

    /// Whether the connection has ended (the socket should be closed after sending the last
    /// output).
    package var isClosed: Bool {
        if attachedSession != nil { return false }
        if case .closed = phase { return true }
        return false
    }

    /// Takes bytes read from the socket and returns the bytes to write back.
    ///
    /// URB commands are decoded where they lie in the buffer (a read usually holds two: a
    /// bulk-OUT CMD_SUBMIT and the bulk-IN one posted with it), and the consumed bytes are dropped
    /// once at the end, so a read costs no copy of the buffer per command.
    package func receive(_ bytes: some Collection<UInt8>) -> [UInt8] {
        var output: [UInt8] = []
        // Room for the usual answer (two RET_SUBMITs and a short CCID reply) in one allocation.
        output.reserveCapacity(256)
        receive(bytes, into: &output)
        return output
    }

    /// Takes bytes read from the socket and appends the bytes to write back to `output`, as
    /// ``receive(_:)`` returns them (a server thread reuses one output buffer).
    package func receive(_ bytes: some Collection<UInt8>, into output: inout [UInt8]) {
        guard !isClosed else { return }
        buffer.append(contentsOf: bytes)
        var replies = replyScratch
        replyScratch = []
        var consumedTotal = 0
        defer {
            if consumedTotal == buffer.count {
                buffer.removeAll(keepingCapacity: true)
            } else if consumedTotal > 0 {
                buffer.removeFirst(consumedTotal)
            }
            replies.removeAll(keepingCapacity: true)
            replyScratch = replies
        }
        while !isClosed {
            if let session = attachedSession {
                let decoded: (message: USBIPCommand, consumed: Int)?
                do {
                    decoded = try USBIPCommand.decode(from: buffer, at: consumedTotal, maximumTransferLength: maximumTransferLength)
                } catch {
                    phase = .closed(reason: "malformed URB command: \(error)")
                    return
                }
                guard let (command, consumed) = decoded else { return }
                consumedTotal += consumed
                replies.removeAll(keepingCapacity: true)
                session.handle(command, into: &replies)
                for reply in replies { reply.message.append(direction: reply.direction, to: &output) }
                continue
            }
            switch phase {
            case .closed:
                return
            case .operation:
                // Once per connection: the copy of the rest does not matter here.
                let pending = consumedTotal == 0 ? buffer : Array(buffer[consumedTotal...])
                let decoded: (message: USBIPOperationRequest, consumed: Int)?
                do {
                    decoded = try USBIPOperationRequest.decode(from: pending)
                } catch {
                    phase = .closed(reason: "malformed operation request: \(error)")
                    return
                }
                guard let (request, consumed) = decoded else { return }
                consumedTotal += consumed
                output += answer(request)
            case .attached:
                // `attachedSession` mirrors this phase (set in `phase`'s didSet), so the branch
                // above has taken every attached connection; nothing is left to decode here.
                return
            }
        }
    }

    /// Ends the connection (the peer closed it, or the server stops); detaches the device.
    package func close(reason: String) {
        if case .attached(_, let session) = phase { session.detach() }
        phase = .closed(reason: reason)
    }

    private func answer(_ request: USBIPOperationRequest) -> [UInt8] {
        switch request {
        case .deviceList:
            return USBIPOperationReply.deviceList(status: 0, devices: listDevices()).encoded()
        case .importDevice(let busID):
            switch importDevice(busID) {
            case .attached(let device, let session):
                phase = .attached(device, session)
                return USBIPOperationReply.importDevice(status: 0, device: device).encoded()
            case .refused(let status):
                phase = .closed(reason: "import of \(busID) refused (status \(status))")
                return USBIPOperationReply.importDevice(status: status == 0 ? Self.statusUnavailable : status, device: nil).encoded()
            }
        }
    }
}
