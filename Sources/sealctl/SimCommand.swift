import SealSimulatorServers
import ArgumentParser
import Foundation
import SealSimulatedToken

struct Sim: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Control a running `sealsim serve --vpcd` (with --usbip, `sealsim serve --usbip`): insert, remove, reset or tear a token, or show the slots.",
        discussion: """
            Over USB/IP the device stays attached: its CCID slot reports the card out and in \
            (RDR_to_PC_NotifySlotChange), as a reader with a removable card does.
            """,
        subcommands: [Insert.self, Remove.self, Reset.self, Tear.self, Status.self])

    struct Options: ParsableArguments {
        @Option(help: "The simulator's state directory (default $SEALKIT_HOME/vpcd, with --usbip $SEALKIT_HOME/usbip).") var state: String?
        @Flag(help: "Control the USB/IP server (`sealsim serve --usbip`, socket usbip.sock) instead of the vpcd one.") var usbip = false
        @Flag(help: "Print JSON.") var json = false

        /// Prints what happened to a slot, as text or JSON.
        func report(slot: Int, _ action: String, text: String) throws {
            if json {
                struct Out: Encodable { let slot: Int; let action: String }
                try printJSON(Out(slot: slot, action: action))
            } else {
                print(text)
            }
        }

        var client: SimulatorControlClient {
            let directory = state.map { URL(fileURLWithPath: $0, isDirectory: true) }
                ?? TokenStore().home.appendingPathComponent(usbip ? "usbip" : "vpcd", isDirectory: true)
            return SimulatorControlClient(stateDirectory: directory, usbip: usbip)
        }
    }

    struct Insert: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Insert the token of a slot (connect it to vpcd; USB/IP: the slot reports a card).")
        @OptionGroup var options: Options
        @Option(help: "Slot number.") var slot: Int
        func run() async throws {
            do { try options.client.insert(slot: slot) } catch { throw CLIError(error.reason) }
            try options.report(slot: slot, "inserted", text: "slot \(slot): inserted")
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove the token of a slot (the reader sees no card).")
        @OptionGroup var options: Options
        @Option(help: "Slot number.") var slot: Int
        func run() async throws {
            do { try options.client.remove(slot: slot) } catch { throw CLIError(error.reason) }
            try options.report(slot: slot, "removed", text: "slot \(slot): removed")
        }
    }

    struct Reset: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Power-cycle the token of a slot (remove and insert).")
        @OptionGroup var options: Options
        @Option(help: "Slot number.") var slot: Int
        func run() async throws {
            do { try options.client.reset(slot: slot) } catch { throw CLIError(error.reason) }
            try options.report(slot: slot, "reset", text: "slot \(slot): reset")
        }
    }

    struct Tear: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Cut a token's power at its K-th NVM write from now (power-loss injection); --off disarms.")
        @OptionGroup var options: Options
        @Option(help: "Slot number.") var slot: Int
        @Option(name: .customLong("at"), help: "The NVM write (1 = the next) at which power is lost.") var write: Int?
        @Flag(help: "Disarm a pending power loss.") var off = false

        func validate() throws {
            if (write == nil) == !off { throw ValidationError("give --at K or --off") }
            if let write, write < 1 { throw ValidationError("--at must be 1 or more") }
        }

        func run() async throws {
            do { try options.client.tear(slot: slot, atNVMWrite: write) } catch { throw CLIError(error.reason) }
            if options.json {
                struct Out: Encodable { let slot: Int; let action: String; let atNVMWrite: Int? }
                try printJSON(Out(slot: slot, action: write == nil ? "disarmed" : "armed", atNVMWrite: write))
            } else {
                print(write.map { "slot \(slot): power is lost at NVM write \($0) from now" } ?? "slot \(slot): power loss disarmed")
            }
        }
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show each slot's state.")
        @OptionGroup var options: Options
        func run() async throws {
            let status: SimulatorStatus
            do { status = try options.client.status() } catch { throw CLIError(error.reason) }
            if options.json {
                struct Slot: Encodable { let slot: Int; let state: String; let powered: Bool }
                struct Out: Encodable { let transport: String; let reversed: Bool; let host: String; let basePort: Int; let slots: [Slot] }
                try printJSON(Out(transport: status.usbip ? "usbip" : "vpcd", reversed: status.reversed, host: status.host,
                                  basePort: Int(status.basePort),
                                  slots: status.slots.map { Slot(slot: $0.slot, state: $0.state.rawValue, powered: $0.powered) }))
            } else {
                print(status)
            }
        }
    }
}
