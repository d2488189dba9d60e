import Foundation
import SealSimulatorServers
import Testing

@testable import SealFirmware

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

@Suite("vpcd card server: a slot whose token fails the power-on check")
struct VPCDMemoryFaultTests {
    @Test("sealsim serve logs why in one line and the card answers every command 6581")
    func refusedImage() async throws {
        let state = VPCDCardServerTests.temporaryStateDirectory()
        defer { try? FileManager.default.removeItem(at: state) }
        let (listener, port) = try #require(FakeVPCD.listen())
        defer { close(listener) }
        var configuration = VPCDCardServerTests.configuration(state: state, port: port)
        configuration.slots = 1

        // A first run makes the token; then its counter record is lost, as in a damaged image.
        let first = try await VPCDCardServer.start(configuration: configuration) { _ in }
        let firstCard = try #require(FakeVPCD.accept(listener))
        first.stop()
        firstCard.hangUp()
        let stateFile = VPCDCardServer.stateFile(slot: 0, stateDirectory: state)
        try NonVolatileMemory(backing: FileBackingStore(url: stateFile)).erase(RecordID.signatureCounter.rawValue)

        let log = VPCDTestLog()
        let server = try await VPCDCardServer.start(configuration: configuration) { log.append($0) }
        defer { server.stop() }
        let refusals = log.all.filter { $0.contains("answers every command 6581") }
        #expect(refusals.count == 1, "\(log.all)")
        #expect(refusals.first?.contains("signature counter record is missing") == true, "\(log.all)")
        #expect(refusals.first?.contains("\n") == false)

        let card = try #require(FakeVPCD.accept(listener))
        card.send([0x04])
        #expect(card.receive() == SealChip.answerToReset, "a refusing chip still answers the ATR")
        card.send([0x01])
        #expect(card.transmit(VPCDCardServerTests.selectSeal) == [0x65, 0x81])
        #expect(card.transmit(VPCDCardServerTests.verifyStatus) == [0x65, 0x81])
    }
}
