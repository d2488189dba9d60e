#if canImport(CPCSCLite)
import CPCSCLite
#endif
import Foundation
@testable import SealPCSC
import SealSimulatorServers
import SealSimulatedToken
import SealProtocol
import SealFirmware
import SealHostDriver
import Synchronization
import Testing

// MARK: - Pure tests (no pcscd needed)

@Suite("PC/SC multi-strings")
struct PCSCMultiStringTests {
    @Test func parsesDoubleNulTerminatedList() {
        let bytes = Array("Virtual PCD 00 00\0Virtual PCD 00 01\0\0".utf8)
        #expect(PCSCMultiString.parse(bytes) == ["Virtual PCD 00 00", "Virtual PCD 00 01"])
    }

    @Test func emptyListsParseToNothing() {
        #expect(PCSCMultiString.parse([UInt8]()) == [])
        #expect(PCSCMultiString.parse([0]) == [])
        #expect(PCSCMultiString.parse([0, 0]) == [])
    }

    @Test func stopsAtTheFirstEmptyString() {
        // Whatever follows the terminating empty string (stale buffer bytes) is ignored.
        let bytes = Array("A\0\0B\0\0".utf8)
        #expect(PCSCMultiString.parse(bytes) == ["A"])
    }

    @Test func toleratesAMissingFinalNul() {
        #expect(PCSCMultiString.parse(Array("A\0B".utf8)) == ["A", "B"])
        #expect(PCSCMultiString.parse(Array("A\0".utf8)) == ["A"])
    }

    @Test func decodesUTF8AndRoundTrips() {
        let names = ["Lecteur à puce 00 00", "Reader [CCID] (1234) 01 00"]
        let encoded = PCSCMultiString.encode(names)
        #expect(encoded.suffix(2) == [0, 0])
        #expect(PCSCMultiString.parse(encoded) == names)
        #expect(PCSCMultiString.encode([]) == [0, 0])
    }
}

@Suite("PC/SC reader query resolution")
struct PCSCReaderQueryTests {
    static let vpcd = ["Virtual PCD 00 00", "Virtual PCD 00 01"]

    @Test func exactNameWins() throws {
        #expect(try PCSCTransport.resolve(readerQuery: "Virtual PCD 00 01", among: Self.vpcd) == "Virtual PCD 00 01")
        // An exact name wins even when it is also a substring of another reader's name.
        #expect(try PCSCTransport.resolve(readerQuery: "ACS ACR", among: ["ACS ACR 00 00", "ACS ACR"]) == "ACS ACR")
    }

    @Test func caseInsensitiveEqualityBeforeSubstring() throws {
        #expect(try PCSCTransport.resolve(readerQuery: "virtual pcd 00 00", among: Self.vpcd) == "Virtual PCD 00 00")
        #expect(try PCSCTransport.resolve(readerQuery: "READER", among: ["reader", "Reader 2"]) == "reader")
    }

    @Test func uniqueSubstringIgnoringCase() throws {
        #expect(try PCSCTransport.resolve(readerQuery: "00 01", among: Self.vpcd) == "Virtual PCD 00 01")
        #expect(try PCSCTransport.resolve(readerQuery: "pcd 00 00", among: Self.vpcd) == "Virtual PCD 00 00")
        #expect(try PCSCTransport.resolve(readerQuery: "  00 00 \t", among: Self.vpcd) == "Virtual PCD 00 00")
    }

    @Test func ambiguousQueryListsTheMatches() {
        #expect {
            try PCSCTransport.resolve(readerQuery: "virtual", among: Self.vpcd + ["ACS ACR122U 00 00"])
        } throws: { error in
            guard let error = error as? PCSCError else { return false }
            return error.code == .readerAmbiguous && error.readers == Self.vpcd
                && error.message.contains("\"Virtual PCD 00 00\", \"Virtual PCD 00 01\"")
                && !error.message.contains("ACS")
        }
    }

    @Test func unknownQueryListsTheReaders() {
        #expect {
            try PCSCTransport.resolve(readerQuery: "Gemalto", among: Self.vpcd)
        } throws: { error in
            guard let error = error as? PCSCError else { return false }
            return error.code == .readerNotFound && error.readers == Self.vpcd
                && error.message.contains("\"Virtual PCD 00 01\"")
                && error.driverError.code == .invalidArgument
        }
    }

    @Test func noReadersSaysToPlugOneIn() {
        #expect {
            try PCSCTransport.resolve(readerQuery: "Virtual", among: [])
        } throws: { error in
            guard let error = error as? PCSCError else { return false }
            return error.code == .readerNotFound && error.message.contains("pcsc_scan -r")
        }
    }

    @Test func emptyQueryIsAnInvalidArgument() {
        #expect(throws: PCSCError(code: .invalidArgument, reason: "")) {
            try PCSCTransport.resolve(readerQuery: " ", among: Self.vpcd)
        }
    }
}

@Suite("PC/SC reader state flags")
struct PCSCReaderStateTests {
    @Test func decodesStateWords() {
        // Words as pcsc-lite 1.9.9 reported them for vpcd: 0x10022 = card present, event 1.
        let present = PCSCReaderState(pcscStateWord: 0x10022 as UInt)
        #expect(present == [.changed, .present])
        #expect(PCSCReaderState.eventCount(ofStateWord: 0x10022 as UInt) == 1)
        #expect(present.description == "[changed, present]")
        let empty = PCSCReaderState(pcscStateWord: 0x12 as UInt)
        #expect(empty == [.changed, .empty])
        #expect(PCSCReaderState.eventCount(ofStateWord: 0x12 as UInt) == 0)
        let shared = PCSCReaderState(pcscStateWord: 0x0003_0120 as UInt)
        #expect(shared == [.present, .inUse])
        #expect(PCSCReaderState.eventCount(ofStateWord: 0x0003_0120 as UInt) == 3)
        #expect(PCSCReaderState(rawValue: 0).description == "[]")
        #expect(PCSCReaderState(rawValue: 0x0280).description == "[exclusive, mute]")
        #expect(PCSCReaderState(rawValue: 0x8000).description == "[0x8000]")
    }

    @Test func readerInfoExposesPresenceAndATR() {
        let info = PCSCReaderInfo(name: "Virtual PCD 00 00", state: [.present, .exclusive], atr: [0x3B, 0x8A], eventCount: 1)
        #expect(info.isCardPresent && info.isExclusivelyInUse)
        #expect(info.description == "Virtual PCD 00 00 [present, exclusive] ATR 3B 8A")
        #expect(!PCSCReaderInfo(name: "R", state: [.empty], atr: nil).isCardPresent)
    }

    #if canImport(CPCSCLite)
    @Test func flagValuesMatchPCSCLiteHeaders() {
        let pairs: [(PCSCReaderState, Int32)] = [
            (.ignore, SCARD_STATE_IGNORE), (.changed, SCARD_STATE_CHANGED), (.unknown, SCARD_STATE_UNKNOWN),
            (.unavailable, SCARD_STATE_UNAVAILABLE), (.empty, SCARD_STATE_EMPTY), (.present, SCARD_STATE_PRESENT),
            (.atrMatch, SCARD_STATE_ATRMATCH), (.exclusive, SCARD_STATE_EXCLUSIVE), (.inUse, SCARD_STATE_INUSE),
            (.mute, SCARD_STATE_MUTE), (.unpowered, SCARD_STATE_UNPOWERED),
        ]
        for (flag, constant) in pairs {
            #expect(flag.rawValue == UInt32(constant))
        }
    }

    @Test func linuxTypeFactsHold() {
        // The facts docs/pcsc.md relies on: DWORD and LONG are 64-bit, error codes are positive.
        #expect(MemoryLayout<DWORD>.size == 8)
        #expect(MemoryLayout<LONG>.size == 8)
        #expect(MemoryLayout<SCARD_READERSTATE>.size == 80)
        #expect(Int(SCARD_E_NO_SERVICE) == 2_148_532_253)
        #expect(Int(MAX_BUFFER_SIZE) == 264)
        #expect(pcscMaxBufferSizeExtended == 65_548)
        #expect(PCSCMonitorLoop.pnpNotificationReader == "\\\\?PnP?\\Notification")
    }
    #endif
}

#if canImport(CPCSCLite)
@Suite("PC/SC error mapping")
struct PCSCErrorMappingTests {
    struct Row: Sendable, CustomTestStringConvertible {
        let rv: LONG
        let code: PCSCError.Code
        let driverCode: SealDriverError.Code
        var testDescription: String { PCSCReturnCode.describe(rv) }
    }

    static let table: [Row] = [
        Row(rv: LONG(SCARD_E_NO_SERVICE), code: .serviceUnavailable, driverCode: .transportFailure),
        Row(rv: LONG(SCARD_E_SERVICE_STOPPED), code: .serviceUnavailable, driverCode: .transportFailure),
        Row(rv: LONG(SCARD_E_UNKNOWN_READER), code: .readerNotFound, driverCode: .invalidArgument),
        Row(rv: LONG(SCARD_E_READER_UNAVAILABLE), code: .readerUnavailable, driverCode: .transportFailure),
        Row(rv: LONG(SCARD_E_NO_SMARTCARD), code: .noCard, driverCode: .cardRemoved),
        Row(rv: LONG(SCARD_W_REMOVED_CARD), code: .cardRemoved, driverCode: .cardRemoved),
        Row(rv: LONG(SCARD_W_RESET_CARD), code: .cardReset, driverCode: .transportFailure),
        Row(rv: LONG(SCARD_W_UNRESPONSIVE_CARD), code: .cardUnresponsive, driverCode: .noResponse),
        Row(rv: LONG(SCARD_W_UNPOWERED_CARD), code: .cardUnresponsive, driverCode: .noResponse),
        Row(rv: LONG(SCARD_E_PROTO_MISMATCH), code: .protocolNotSupported, driverCode: .notSupportedByToken),
        Row(rv: LONG(SCARD_W_UNSUPPORTED_CARD), code: .cardUnsupported, driverCode: .notSupportedByToken),
        Row(rv: LONG(SCARD_E_SHARING_VIOLATION), code: .sharingViolation, driverCode: .transportFailure),
        Row(rv: LONG(SCARD_E_TIMEOUT), code: .timeout, driverCode: .transportFailure),
        Row(rv: LONG(SCARD_E_CANCELLED), code: .cancelled, driverCode: .transportFailure),
        Row(rv: LONG(SCARD_F_COMM_ERROR), code: .serviceUnavailable, driverCode: .transportFailure),
        Row(rv: LONG(SCARD_E_NOT_TRANSACTED), code: .cardUnresponsive, driverCode: .noResponse),
        Row(rv: LONG(SCARD_E_INVALID_HANDLE), code: .failure, driverCode: .transportFailure),
        Row(rv: 0x1234, code: .failure, driverCode: .transportFailure),
    ]

    @Test(arguments: table)
    func mapsReturnCodes(row: Row) {
        let error = PCSCReturnCode.error(row.rv, "SCardTransmit", reader: "Virtual PCD 00 00")
        #expect(error.code == row.code)
        #expect(error.driverCode == row.driverCode)
        #expect(error.driverError.code == row.driverCode)
        #expect(error.returnCode == UInt32(truncatingIfNeeded: row.rv))
        #expect(error.reason.hasPrefix("SCardTransmit(\"Virtual PCD 00 00\"): "))
        #expect(!error.message.isEmpty && !error.message.contains("\n"))
    }

    @Test func returnCodesAreComparedAsImported() {
        // SCARD_E_NO_SERVICE is ((LONG)0x8010001D): a positive Int on Linux x86-64, never an Int32.
        #expect(PCSCReturnCode.value(LONG(SCARD_E_NO_SERVICE)) == 0x8010_001D)
        #expect(PCSCReturnCode.describe(LONG(SCARD_E_NO_SERVICE)) == "SCARD_E_NO_SERVICE (0x8010001D)")
        #expect(PCSCReturnCode.describe(LONG(SCARD_S_SUCCESS)) == "SCARD_S_SUCCESS (0x0)")
        #expect(PCSCReturnCode.describe(0x1234) == "0x1234")
    }

    @Test func messagesSayWhatToDo() {
        let noService = PCSCReturnCode.error(LONG(SCARD_E_NO_SERVICE), "SCardEstablishContext")
        #expect(noService.message.contains("sudo systemctl start pcscd"))
        #expect(noService.message.contains("pcscd -f"))
        // The advice survives the mapping into the driver error's one-line message.
        #expect(noService.driverError.message.contains("pcscd -f"))
        let gone = PCSCReturnCode.error(LONG(SCARD_E_READER_UNAVAILABLE), "SCardTransmit", reader: "R")
        #expect(gone.message.contains("plug it back in"))
        let removed = PCSCReturnCode.error(LONG(SCARD_W_REMOVED_CARD), "SCardTransmit", reader: "R")
        #expect(removed.message.contains("reinsert"))
        let sharing = PCSCReturnCode.error(LONG(SCARD_E_SHARING_VIOLATION), "SCardConnect", reader: "R")
        #expect(sharing.message.contains("exclusively"))
        #expect(sharing.driverError.message.contains("exclusively"))
    }

    @Test func equalityAndHashingConsiderTheCodeOnly() {
        let a = PCSCError(code: .cardRemoved, reason: "a", reader: "R1", returnCode: 1)
        let b = PCSCError(code: .cardRemoved, reason: "b", reader: "R2", returnCode: 1)
        let c = PCSCError(code: .cardRemoved, reason: "a", returnCode: 2)
        #expect(a == b)
        #expect(a == c)  // the return code is a diagnostic: compare it explicitly
        #expect(a.returnCode != c.returnCode)
        #expect(a != PCSCError(code: .noCard, reason: "a", reader: "R1", returnCode: 1))
        #expect(Set([a, b, c]).count == 1)
        #expect(a.description.hasPrefix("PCSCError.cardRemoved: "))
    }

    @Test func theDriverErrorWrapsThePCSCError() {
        let removed = PCSCReturnCode.error(LONG(SCARD_W_REMOVED_CARD), "SCardTransmit", reader: "R")
        let wrapped = removed.driverError
        #expect(wrapped.code == .cardRemoved)
        #expect(wrapped.reason == removed.description)
        #expect((wrapped.underlyingError as? PCSCError)?.returnCode == removed.returnCode)
    }
}
#endif

@Suite("PC/SC transport without a connection")
struct PCSCTransportStateTests {
    @Test func callsBeforeConnectAreNotConnected() async {
        let transport = PCSCTransport(readerName: "Nowhere 00 00")
        #expect(transport.name == "Nowhere 00 00")
        #expect(await !transport.isConnected)
        await #expect(throws: SealDriverError(code: .notConnected, reason: "")) {
            try await transport.transmit([0x00, 0xA4, 0x04, 0x00])
        }
        await #expect(throws: SealDriverError(code: .notConnected, reason: "")) {
            try await transport.withTransaction { 1 }
        }
        await transport.disconnect()
        await transport.disconnect()
        #expect(await transport.recoveredResets == 0)
    }

    @Test func invalidAPDUsAreRefusedBeforeAnythingIsSent() async {
        let vpcd = PCSCTransport(readerName: "Virtual PCD 00 00")
        await #expect(throws: SealDriverError(code: .invalidArgument, reason: "")) { try await vpcd.transmit([]) }
        await #expect(throws: SealDriverError(code: .invalidArgument, reason: "")) {
            try await vpcd.transmit([UInt8](repeating: 0, count: 65_549))
        }
        // vpcd would read a 1-byte frame as a control message and never answer.
        await #expect(throws: SealDriverError(code: .invalidArgument, reason: "")) { try await vpcd.transmit([0x00]) }
        let other = PCSCTransport(readerName: "ACS ACR39U ICC Reader 00 00")
        await #expect(throws: SealDriverError(code: .notConnected, reason: "")) { try await other.transmit([0x00]) }
    }

    @Test func eventsDescribeThemselves() {
        let event = PCSCReaderEvent.cardInserted(reader: "Virtual PCD 00 00", atr: [0x3B, 0x8A])
        #expect(event.reader == "Virtual PCD 00 00")
        #expect(event.description == "card inserted in Virtual PCD 00 00: ATR 3B 8A")
        #expect(PCSCReaderEvent.readerRemoved(name: "R").reader == "R")
    }
}

// MARK: - Integration tests (pcscd with the vsmartcard-vpcd driver)

/// Set by the lead's scripts once pcscd runs with vpcd (and possibly the simulator as a virtual card).
let pcscIntegrationEnabled = ProcessInfo.processInfo.environment["SEALKIT_PCSC_TESTS"] == "1"

@Suite("PC/SC with pcscd + vpcd", .serialized, .enabled(if: pcscIntegrationEnabled, "set SEALKIT_PCSC_TESTS=1 with pcscd and vpcd running"))
struct PCSCIntegrationTests {
    static let vpcdReaders = ["Virtual PCD 00 00", "Virtual PCD 00 01"]

    @Test func listsTheVirtualReaders() async throws {
        let readers = try await PCSCReaders.list()
        let names = readers.map(\.name)
        for name in Self.vpcdReaders { #expect(names.contains(name)) }
        for reader in readers {
            #expect(reader.isCardPresent == (reader.atr != nil))
            #expect(reader.state.contains(.present) != reader.state.contains(.empty))
            #expect(!reader.state.contains(.changed))
        }
        #expect(try await PCSCReaders.names() == names)
    }

    @Test func resolvesQueriesAgainstLiveReaders() async throws {
        #expect(try await PCSCTransport.resolve(readerQuery: "PCD 00 01") == "Virtual PCD 00 01")
        #expect(try await PCSCTransport.resolve(readerQuery: "Virtual PCD 00 00") == "Virtual PCD 00 00")
        await #expect(throws: PCSCError(code: .readerAmbiguous, reason: "")) {
            try await PCSCTransport.resolve(readerQuery: "virtual pcd")
        }
    }

    @Test func unknownReaderIsAnInvalidArgumentListingReaders() async {
        let transport = PCSCTransport(readerName: "No Such Reader 00 00")
        await #expect {
            try await transport.connect()
        } throws: { error in
            guard let error = error as? SealDriverError else { return false }
            return error.code == .invalidArgument && error.message.contains("Virtual PCD 00 00")
        }
    }

    @Test func monitorReportsReadersAndEndsOnCancellation() async throws {
        // A card of this test's own, in a tray reader no other test uses (scripts/pcscd.sh serves
        // ports 35965…35974): other suites insert and remove cards in the other readers meanwhile,
        // so only this reader's events can be predicted.
        let reader = "Virtual PCD 35973 00 00"
        let state = URL(fileURLWithPath: "/tmp/sealkit-monitor-\(UUID().uuidString.prefix(8))", isDirectory: true)
        defer { try? FileManager.default.removeItem(at: state) }
        let server = try await VPCDCardServer.start(configuration: VPCDCardServer.Configuration(stateDirectory: state, basePort: 35973, slots: 1)) { _ in }
        defer { server.stop() }
        var atr: [UInt8]?
        for _ in 0..<50 where atr == nil {   // pcscd notices a card within ~400 ms
            atr = try await PCSCReaders.list().first { $0.name == reader }?.atr
            if atr == nil { try await Task.sleep(for: .milliseconds(100)) }
        }
        let cardATR = try #require(atr, "pcscd does not see the test's card in \(reader)")

        let seen = EventLog()
        let task = Task { () throws in
            for try await event in PCSCReaderMonitor() { seen.events.withLock { $0.append(event) } }   // ends when cancelled
        }
        func waitUntilSeen(_ event: PCSCReaderEvent) async throws -> Bool {
            for _ in 0..<100 {
                if seen.events.withLock({ $0.contains(event) }) { return true }
                try await Task.sleep(for: .milliseconds(50))
            }
            return false
        }
        // Existing readers and cards are reported first; then the removal as it happens.
        #expect(try await waitUntilSeen(.cardInserted(reader: reader, atr: cardATR)))
        try SimulatorControlClient(stateDirectory: state).remove(slot: 0)
        #expect(try await waitUntilSeen(.cardRemoved(reader: reader)))

        let start = ContinuousClock.now
        task.cancel()
        try await task.value
        #expect(ContinuousClock.now - start < .seconds(2))   // SCardCancel interrupts the wait
        let events = seen.events.withLock { $0 }
        for name in Self.vpcdReaders + [reader] { #expect(events.contains(.readerAdded(name: name)), "\(name)") }
        #expect(events.filter { $0.reader == reader } == [.readerAdded(name: reader), .cardInserted(reader: reader, atr: cardATR),
                                                          .cardRemoved(reader: reader)])
    }

    @Test func monitorWithoutExistingReadersReportsNothingWhenNothingChanges() async throws {
        let task = Task { () throws -> [PCSCReaderEvent] in
            var events: [PCSCReaderEvent] = []
            for try await event in PCSCReaderMonitor(reportsExistingReaders: false, pollInterval: .milliseconds(50)) {
                events.append(event)
            }
            return events
        }
        try await Task.sleep(for: .milliseconds(300))   // several poll rounds, each re-reading the list
        task.cancel()
        // Other suites insert and remove simulated cards meanwhile, so card events may come; the
        // reader list itself does not change, and existing readers must not be reported.
        let readerEvents = try await task.value.filter {
            switch $0 {
            case .readerAdded, .readerRemoved: return true
            case .cardInserted, .cardRemoved: return false
            }
        }
        #expect(readerEvents == [])
    }

    @Test func monitorEndsWhenTheIteratorIsDropped() async throws {
        var iterator: PCSCReaderMonitor.AsyncIterator? = PCSCReaderMonitor(reportsExistingReaders: true).makeAsyncIterator()
        let first = try await iterator?.next()
        #expect(first.map { if case .readerAdded = $0 { true } else { false } } == true)
        iterator = nil   // SCardCancel; the monitor thread releases its context
        #expect(iterator == nil)
    }
}

/// The events a monitor task has reported so far, readable while it runs.
private final class EventLog: Sendable {
    let events = Mutex<[PCSCReaderEvent]>([])
}
