import CSealKit
import Foundation
import Testing

// sealkit_token_open_transport: what the driver does with a caller's C functions. A probe
// transport records every call and forwards to the simulated token of libsealkit-sim.

/// Records the driver's calls and forwards them to `inner`, with faults on request.
private final class Probe {
    let inner: sealkit_transport
    /// What `connect` returns instead of forwarding, when set.
    let connectStatus: Int32?
    /// Whether `transmit` claims more response bytes than the buffer holds.
    let overstatesResponse: Bool
    var calls: [String] = []
    /// What a libsealkit call made from inside `transmit` returned.
    var reentrantCode: Int32?

    init(inner: sealkit_transport, connectStatus: Int32? = nil, overstatesResponse: Bool = false) {
        self.inner = inner
        self.connectStatus = connectStatus
        self.overstatesResponse = overstatesResponse
    }

    static func from(_ context: UnsafeMutableRawPointer?) -> Probe {
        // The tests always pass a probe as the context.
        Unmanaged<Probe>.fromOpaque(context!).takeUnretainedValue()
    }

    /// A transport whose context is this probe (unretained: the test keeps the probe alive).
    func transport(name: UnsafePointer<CChar>?, withTransmit: Bool = true) -> sealkit_transport {
        sealkit_transport(
            context: Unmanaged.passUnretained(self).toOpaque(), name: name,
            connect: { context, atr, capacity, length in
                let probe = Probe.from(context)
                probe.calls.append("connect")
                if let status = probe.connectStatus { return status }
                return probe.inner.connect!(probe.inner.context, atr, capacity, length)
            },
            reset: nil,
            transmit: withTransmit ? { context, command, commandLength, response, capacity, length in
                let probe = Probe.from(context)
                probe.calls.append("transmit")
                if probe.reentrantCode == nil {
                    probe.reentrantCode = sealkit_token_verify_pin(nil, "123456", nil)
                }
                let status = probe.inner.transmit!(probe.inner.context, command, commandLength, response, capacity, length)
                if probe.overstatesResponse { length?.pointee = capacity + 1 }
                return status
            } : nil,
            disconnect: { context in
                let probe = Probe.from(context)
                probe.calls.append("disconnect")
                probe.inner.disconnect?(probe.inner.context)
            },
            release: { context in
                let probe = Probe.from(context)
                probe.calls.append("release")
                probe.inner.release?(probe.inner.context)
            })
    }
}

/// Opens a token over a probe around a fresh simulated token, runs `body` on it when it opens,
/// closes it, and returns the probe's calls and the failure to open, if any.
private func withProbe(connectStatus: Int32? = nil, overstatesResponse: Bool = false, withTransmit: Bool = true,
                       _ body: (TokenPointer) throws -> Void = { _ in }) throws -> (calls: [String], failure: CallFailure?, reentrantCode: Int32?) {
    let probe = Probe(inner: try SimulatedToken().transport, connectStatus: connectStatus, overstatesResponse: overstatesResponse)
    var transport = "probe transport".withCString { probe.transport(name: strdup($0), withTransmit: withTransmit) }
    defer { free(UnsafeMutableRawPointer(mutating: transport.name)) }
    var error: OpaquePointer?
    let roots = Array(vendorRootPEM.utf8)
    guard let token = sealkit_token_open_transport(&transport, roots, roots.count, &error) else {
        return (probe.calls, takeError(error), probe.reentrantCode)
    }
    try body(TokenPointer(pointer: token))
    sealkit_token_close(token)
    return (probe.calls, nil, probe.reentrantCode)
}

@Suite("caller-supplied transports", .timeLimit(.minutes(2)))
struct CallbackTransportTests {
    @Test("the driver connects, transmits, disconnects and releases exactly once, under the given name")
    func lifecycle() async throws {
        let (calls, info, reentrantCode) = try await onCThread { () -> ([String], String, Int32?) in
            var info = ""
            let (calls, failure, reentrantCode) = try withProbe { token in
                info = try callString { sealkit_token_info(token.pointer, $0) }
            }
            #expect(failure == nil)
            return (calls, info, reentrantCode)
        }
        // A blocking libsealkit call from inside a callback is refused before anything else.
        #expect(reentrantCode == SEALKIT_E_WRONG_THREAD)
        #expect(calls.first == "connect")
        #expect(calls.filter { $0 == "transmit" }.count >= 5)
        #expect(calls.suffix(2) == ["disconnect", "release"])
        #expect(calls.filter { $0 == "release" }.count == 1)
        #expect(try jsonObject(info)["transport"] as? String == "probe transport")
    }

    @Test("a connect failure is reported with its code and the transport is still released", arguments: [
        (SEALKIT_E_CARD_REMOVED, SEALKIT_E_CARD_REMOVED),
        (SEALKIT_E_NO_RESPONSE, SEALKIT_E_NO_RESPONSE),
        (SEALKIT_E_TRANSPORT, SEALKIT_E_TRANSPORT),
        (Int32(42), SEALKIT_E_TRANSPORT),
    ])
    func connectFailure(status: Int32, expected: Int32) async throws {
        let (calls, failure, _) = try await onCThread { try withProbe(connectStatus: status) }
        #expect(failure?.code == expected)
        if expected == SEALKIT_E_TRANSPORT {
            #expect(failure?.message.contains("probe transport: connect failed (\(status))") == true, "\(String(describing: failure))")
        }
        #expect(calls.filter { $0 == "release" }.count == 1)
        #expect(!calls.contains("transmit"))
    }

    @Test("a transport without transmit is refused, and released")
    func missingTransmit() async throws {
        let (calls, failure, _) = try await onCThread { try withProbe(withTransmit: false) }
        #expect(failure?.code == SEALKIT_E_INVALID_ARGUMENT)
        #expect(calls == ["release"])
    }

    @Test("a transmit that claims more bytes than the buffer is a transport failure")
    func overstatedResponse() async throws {
        let (calls, failure, _) = try await onCThread { try withProbe(overstatesResponse: true) }
        #expect(failure?.code == SEALKIT_E_TRANSPORT)
        #expect(failure?.message.contains("more than the 65538-byte buffer") == true, "\(String(describing: failure))")
        #expect(calls.filter { $0 == "release" }.count == 1)
    }
}
