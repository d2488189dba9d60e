import SealPCSC
import ArgumentParser
import Foundation
import SealHostDriver
import SealProtocol

struct Readers: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List PC/SC readers with their cards and USB CCID devices; --watch follows hot-plug and card events.")

    @Flag(help: "Keep running and print reader and card events (Ctrl-C to stop).") var watch = false
    @Flag(help: "Print JSON.") var json = false

    struct ReaderOutput: Encodable {
        let name: String
        let cardPresent: Bool
        let atr: String?
        let exclusive: Bool
    }

    func run() async throws {
        if watch {
            try await userFacing {
                do {
                    for try await event in PCSCReaderMonitor() {
                        // Unbuffered, so a pipe sees each event as it happens.
                        FileHandle.standardOutput.write(Data("\(event)\n".utf8))
                    }
                } catch let error as PCSCError {
                    throw CLIError(error.message)
                }
            }
            return
        }
        let readers: [PCSCReaderInfo]
        var pcscProblem: String?
        do {
            readers = try await PCSCReaders.list()
        } catch {
            readers = []
            pcscProblem = error.message
        }
        let usb = await USBListing.describe()
        if json {
            struct Output: Encodable {
                let readers: [ReaderOutput]
                let pcscProblem: String?
                let usbDevices: [String]
                let usbProblem: String?
            }
            try printJSON(Output(
                readers: readers.map { ReaderOutput(name: $0.name, cardPresent: $0.isCardPresent, atr: $0.atr.map { hexString($0) },
                                                    exclusive: $0.isExclusivelyInUse) },
                pcscProblem: pcscProblem, usbDevices: usb.devices, usbProblem: usb.problem))
            return
        }
        print("PC/SC readers:")
        if let pcscProblem {
            print("  (none: \(pcscProblem))")
        } else if readers.isEmpty {
            print("  (none: pcscd is running but has no readers)")
        }
        for reader in readers {
            let card = reader.isCardPresent ? "card present, ATR \(reader.atr.map { hexString($0) } ?? "?")" : "no card"
            print("  \(reader.name)  [\(card)\(reader.isExclusivelyInUse ? ", in exclusive use" : "")]")
        }
        print("USB CCID devices:")
        if let problem = usb.problem { print("  (none: \(problem))") }
        for device in usb.devices { print("  \(device)") }
    }
}
