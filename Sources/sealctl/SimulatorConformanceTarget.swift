import Crypto
import Foundation
import SealConformance
import SealFirmware
@_spi(Testing) import SealHostDriver
import SealProtocol
import SealSimulatedToken
import SealSimulatorServers
import Synchronization
import X509

/// Builds the conformance target for a simulated token under test: the simulator also offers what
/// a vendor's single token cannot — fresh MANUFACTURED tokens (in memory, under the same issuer key),
/// power-loss injection and a token that requires remote authorization.
enum SimulatorConformanceTarget {
    static func make(
        name: String, openToken: @escaping @Sendable () async throws -> any CardTransport, pin: String, puk: String,
        issuerKeyPEM: String, vendorRoots: [Certificate], capabilities: SealCapabilities = .reference
    ) throws -> ConformanceTarget {
        let issuerKey = try P256.Signing.PrivateKey(pemRepresentation: issuerKeyPEM)
        // Private keys are not Sendable; the closures carry the PEM and parse it where they run.
        @Sendable func manufacture() throws -> InProcessTransport {
            let backing = InMemoryBackingStore()
            let issuerKey = try P256.Signing.PrivateKey(pemRepresentation: issuerKeyPEM)
            try TokenFactory.manufacture(backing: backing, ca: try VendorCA.testVendor(), issuerPublicKey: issuerKey.publicKey)
            return try InProcessTransport(name: "simulated fresh token", backing: backing, capabilities: capabilities)
        }
        return ConformanceTarget(
            name: name,
            openToken: openToken,
            pin: pin, puk: puk,
            issuerSigner: P256IssuerSigner(privateKey: issuerKey),
            vendorRoots: vendorRoots,
            makeFreshToken: { try manufacture() },
            makeRemoteAuthorizationToken: {
                let authority = try P256.Signing.PrivateKey(pemRepresentation: TestCredentials.remoteAuthorityKeyPEM)
                var data = TokenStore.defaultPersonalization(watermarkKey: SystemChipRandom().randomBytes(count: 32))
                data.remoteAuthorityKey = Array(authority.publicKey.x963Representation)
                data.requiresRemoteAuthorization = true
                let transport = try manufacture()
                let issuerKey = try P256.Signing.PrivateKey(pemRepresentation: issuerKeyPEM)
                try await TokenFactory.personalize(transport: transport, issuerKey: issuerKey, data: data, activate: true)
                return (transport, authority, data.pin)
            },
            isSimulator: true)
    }
    /// How the suite reaches the simulator slot where fresh tokens are made.
    enum FreshSlotAccess: Sendable {
        /// A transport of its own for each fresh token, the previous one closed when the next is
        /// made (PC/SC: a handle outlives the card it was connected to, so it cannot be shared).
        case reopened(@Sendable () async throws -> any CardTransport)
        /// One transport for the whole run (USB/IP: the device stays attached and the card in its
        /// slot changes under it, as in a reader with a removable card). The caller closes it.
        case shared(any CardTransport)
    }

    /// The target for a token served by `sealsim serve --vpcd` (in a PC/SC reader) or `--usbip`
    /// (a USB/IP device): the token under test is whatever `openToken` opens; fresh tokens are made
    /// in slot `freshSlot` by the simulator's control socket (`fresh N`) and reached through
    /// `freshSlotAccess` (that slot's reader or device), with power-loss injection through the same
    /// socket. Remote-authorization tokens are fresh tokens the suite personalizes through the
    /// reader with the test remote authority (Fixtures/test-remote-authority).
    static func makeControlled(
        name: String, openToken: @escaping @Sendable () async throws -> any CardTransport, pin: String, puk: String,
        issuerKeyPEM: String, vendorRoots: [Certificate], control: SimulatorControlClient, freshSlot: Int,
        freshSlotAccess: FreshSlotAccess
    ) throws -> ConformanceTarget {
        let issuerKey = try P256.Signing.PrivateKey(pemRepresentation: issuerKeyPEM)
        // Each fresh token replaces the last one in the slot, so the last one's transport (a PC/SC
        // context and its queue) is closed then rather than left to pile up until the run ends.
        let lastFresh = LastFreshTransport()
        // Over a shared transport, the wrapper of a replaced token goes stale instead.
        let generations = FreshTokenGenerations()
        @Sendable func fresh() async throws -> SimulatorSlotTransport {
            switch freshSlotAccess {
            case .reopened(let open):
                if let previous = lastFresh.take() { await previous.close() }
                _ = try await blocking { () throws(SimulatorError) in try control.freshToken(slot: freshSlot) }
                let base = try await open()
                lastFresh.set(base)
                return SimulatorSlotTransport(base: base, control: control, slot: freshSlot)
            case .shared(let base):
                await base.disconnect()
                _ = try await blocking { () throws(SimulatorError) in try control.freshToken(slot: freshSlot) }
                return SimulatorSlotTransport(base: base, control: control, slot: freshSlot,
                                              sharing: (generations, generations.next()))
            }
        }
        return ConformanceTarget(
            name: name,
            openToken: openToken,
            pin: pin, puk: puk,
            issuerSigner: P256IssuerSigner(privateKey: issuerKey),
            vendorRoots: vendorRoots,
            makeFreshToken: { try await fresh() },
            makeRemoteAuthorizationToken: {
                let authority = try P256.Signing.PrivateKey(pemRepresentation: TestCredentials.remoteAuthorityKeyPEM)
                var data = TokenStore.defaultPersonalization(watermarkKey: SystemChipRandom().randomBytes(count: 32))
                data.remoteAuthorityKey = Array(authority.publicKey.x963Representation)
                data.requiresRemoteAuthorization = true
                let transport = try await fresh()
                let issuerKey = try P256.Signing.PrivateKey(pemRepresentation: issuerKeyPEM)
                try await TokenFactory.personalize(transport: transport, issuerKey: issuerKey, data: data, activate: true)
                return (transport, authority, data.pin)
            },
            isSimulator: true)
    }
}


/// A token in a slot of `sealsim serve`, reached through a real stack (a PC/SC reader fed by vpcd,
/// or a USB/IP device), with the simulator's control socket for what a reader cannot do: power
/// loss at the n-th NVM write, the NVM write count and a power cycle. The conformance suite's
/// tearing cases use it through ``FaultInjectingTransport`` exactly as they use an in-process chip.
///
/// A torn command gets no answer: over vpcd the simulator drops the card out of the reader and
/// presents it again after about a second, so ``powerCycle()`` (and ``connect()``) wait for the
/// card to be back before they power it on; over USB/IP the slot reports the card inactive.
///
/// Over a transport shared by every fresh token (USB/IP), each wrapper belongs to one card: once
/// the next fresh token replaces it, the wrapper is stale, as a closed PC/SC transport would be —
/// its commands fail with `cardRemoved` and its `disconnect()` leaves the new card alone.
final class SimulatorSlotTransport: FaultInjectingTransport {
    let base: any CardTransport
    let control: SimulatorControlClient
    let slot: Int
    /// How long ``connect()`` waits for the card to be presented again.
    let presenceTimeout: Duration
    /// For a shared base: the slot's card generations and this wrapper's.
    let sharing: (generations: FreshTokenGenerations, generation: Int)?

    init(base: any CardTransport, control: SimulatorControlClient, slot: Int, presenceTimeout: Duration = .seconds(10),
         sharing: (generations: FreshTokenGenerations, generation: Int)? = nil) {
        self.base = base
        self.control = control
        self.slot = slot
        self.presenceTimeout = presenceTimeout
        self.sharing = sharing
    }

    var name: String { "\(base.name) (simulator slot \(slot))" }

    /// `false` once a newer fresh token has replaced this one in a shared slot.
    private var isCurrent: Bool {
        guard let sharing else { return true }
        return sharing.generations.current == sharing.generation
    }

    private func checkCurrent() throws {
        guard isCurrent else {
            throw SealDriverError(code: .cardRemoved, reason: "\(name): this fresh token was replaced by a newer one")
        }
    }

    /// Connects, retrying while the reader has no card yet (a token just replaced or torn comes
    /// back after the reader has noticed it leave).
    func connect() async throws -> [UInt8] {
        let clock = ContinuousClock()
        let deadline = clock.now + presenceTimeout
        while true {
            try checkCurrent()
            do {
                return try await base.connect()
            } catch {
                guard clock.now < deadline else { throw error }
                await base.disconnect()
                try await Task.sleep(for: .milliseconds(100))
            }
        }
    }

    func reset() async throws -> [UInt8] {
        try checkCurrent()
        return try await base.reset()
    }

    func disconnect() async {
        guard isCurrent else { return }
        await base.disconnect()
    }

    /// Closes the base, unless it is shared: then its owner closes it at the end of the run.
    func close() async {
        if sharing == nil { await base.close() } else { await disconnect() }
    }

    nonisolated(nonsending) func transmit(_ apdu: [UInt8]) async throws -> [UInt8] {
        try checkCurrent()
        return try await base.transmit(apdu)
    }

    nonisolated(nonsending) func withTransaction<T: Sendable>(_ body: () async throws -> T) async throws -> T {
        try checkCurrent()
        return try await base.withTransaction(body)
    }

    func armPowerLoss(atNVMWrite n: Int) async throws {
        try await blocking { [control, slot] () throws(SimulatorError) in try control.tear(slot: slot, atNVMWrite: n) }
    }

    func disarmPowerLoss() async throws {
        try await blocking { [control, slot] () throws(SimulatorError) in try control.tear(slot: slot, atNVMWrite: nil) }
    }

    func nvmWriteCount() async throws -> Int {
        try await blocking { [control, slot] () throws(SimulatorError) in try control.nvmWriteCount(slot: slot) }
    }

    /// Power-cycles the token through the control socket (out of the reader, unpowered, back in),
    /// then powers it on again through the reader.
    func powerCycle() async throws -> [UInt8] {
        try checkCurrent()
        await base.disconnect()
        try await blocking { [control, slot] () throws(SimulatorError) in try control.reset(slot: slot) }
        return try await connect()
    }
}

/// Numbers the fresh tokens made in a shared slot; the newest is the one in the slot.
final class FreshTokenGenerations: Sendable {
    private let value = Mutex(0)

    /// The generation of the token in the slot.
    var current: Int { value.withLock { $0 } }

    /// Starts the next generation and returns it.
    func next() -> Int {
        value.withLock { value in
            value += 1
            return value
        }
    }
}

/// The transport of the newest fresh token.
final class LastFreshTransport: Sendable {
    private let transport = Mutex<(any CardTransport)?>(nil)

    func set(_ newValue: any CardTransport) { transport.withLock { $0 = newValue } }

    func take() -> (any CardTransport)? {
        transport.withLock { value in
            defer { value = nil }
            return value
        }
    }
}

/// Runs a blocking control-socket call on its own thread, so the call (up to a second for a
/// power cycle) does not hold one of the few cooperative threads.
func blocking<T: Sendable>(_ body: @escaping @Sendable () throws(SimulatorError) -> T) async throws -> T {
    try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
        Thread.detachNewThread {
            do {
                continuation.resume(returning: try body())
            } catch {
                continuation.resume(throwing: error)
            }
        }
    }
}
