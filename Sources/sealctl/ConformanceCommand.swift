import ArgumentParser
import Crypto
import Foundation
import SealConformance
import SealFirmware
import SealHostDriver
import SealProtocol
import SealPCSC
import SealUSB
import SealSimulatedToken
import SealSimulatorServers
import X509

struct Conformance: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the conformance suite (docs/conformance.md) against a token.",
        discussion: """
            Without a target it runs against the embedded simulator, with every simulator-only case \
            (fresh tokens, tearing, remote authorization) enabled. Exit status 0 only when every \
            mandatory case passed.

            Through a reader served by `sealsim serve --vpcd`, --simulator-control STATE_DIR and \
            --fresh-slot N/--fresh-reader NAME give the suite what only the simulator has: fresh \
            MANUFACTURED tokens made in slot N (reached through reader NAME), power loss at the n-th \
            NVM write and remote-authorization tokens, so every case runs through pcscd. Through a \
            device served by `sealsim serve --usbip`, --usbip … --simulator-control STATE_DIR \
            --fresh-slot N does the same over USB/IP: fresh tokens are swapped into slot N's device \
            (bus ID 1-(N+1) on the same server, or --fresh-usbip), which stays attached.

            --all-readers validates a tray: the suite runs on every PC/SC reader with a card, in \
            parallel, one report per chip (JUnit, JSON, Markdown) named by chip ID in --report-dir, \
            and a summary table; exit status 1 if any chip fails.
            """)

    @OptionGroup var target: TargetOptions
    @Option(help: "PIN of the token under test (the test PIN by default; visible in the process list).")
    var pin: String = TestCredentials.defaultPIN
    @Option(help: "PUK of the token under test (the test PUK by default; visible in the process list).")
    var puk: String = TestCredentials.defaultPUK
    @Option(help: "Issuer private key (PEM): enables issuer cases on a non-simulated token.") var issuerKey: String?
    @Option(help: "Run only these areas, ID prefixes or IDs (repeatable), e.g. --only PIN --only SEAL-STP-001.") var only: [String] = []
    @Option(help: "Write a JUnit XML report here.") var junit: String?
    @Option(help: ArgumentHelp("Write a JSON report here; `-` prints it on standard output instead of the progress lines.",
                               valueName: "FILE"))
    var json: String?
    @Option(help: "Write a Markdown report here.") var markdown: String?
    @Flag(help: "Print every APDU (to stderr).") var trace = false
    @Option(help: "Rules to hold the token to: native (every rule) or java-card (skips the native-OS rules of SPEC §13.1).")
    var profile: String = ConformanceProfile.native.rawValue
    @Option(help: ArgumentHelp("State directory of the `sealsim serve --vpcd` serving the reader: its control socket provides fresh tokens and power-loss injection (with --fresh-slot and --fresh-reader).",
                               valueName: "STATE_DIR"))
    var simulatorControl: String?
    @Option(help: "With --simulator-control: the simulator slot whose token is replaced by each fresh token.") var freshSlot: Int?
    @Option(help: "With --simulator-control and --reader: the PC/SC reader of --fresh-slot (exact name or unique substring).") var freshReader: String?
    @Option(help: ArgumentHelp("With --simulator-control and --usbip: the USB/IP device of --fresh-slot (default: bus ID 1-(N+1) on the --usbip server).",
                               valueName: "HOST[:PORT]/BUSID"))
    var freshUsbip: String?
    @Flag(help: "Run the suite on every PC/SC reader with a card, in parallel (a production-line tray).") var allReaders = false
    @Option(help: ArgumentHelp("With --all-readers: write each chip's reports here (<chip ID>.junit.xml, .json, .md) and the tray summary (tray.md).",
                               valueName: "DIR"))
    var reportDir: String?
    @Option(help: ArgumentHelp("With --all-readers: only the readers whose name contains TEXT (repeatable; any of them).", valueName: "TEXT"))
    var readersMatching: [String] = []

    func validate() throws {
        if allReaders {
            if target.reader != nil || target.usb != nil || target.usbip != nil || target.tokenState != nil || target.simulator {
                throw ValidationError("--all-readers takes no other target")
            }
            if junit != nil || json != nil || markdown != nil {
                throw ValidationError("--all-readers writes one report per chip: use --report-dir instead of --junit, --json and --markdown")
            }
            if simulatorControl != nil { throw ValidationError("--simulator-control needs one --reader, not --all-readers") }
            if target.vendorRoot.isEmpty { throw ValidationError("--all-readers needs --vendor-root PEM: the vendor root the chips are authenticated under") }
        } else if reportDir != nil || !readersMatching.isEmpty {
            throw ValidationError("--report-dir and --readers-matching go with --all-readers")
        }
        if simulatorControl != nil {
            if target.reader != nil {
                guard let freshSlot, freshSlot >= 0, freshReader != nil else {
                    throw ValidationError("--simulator-control needs --fresh-slot N (0 or more) and --fresh-reader NAME")
                }
                if freshUsbip != nil { throw ValidationError("--fresh-usbip goes with --usbip, not --reader") }
            } else if target.usbip != nil {
                guard let freshSlot, freshSlot >= 0 else {
                    throw ValidationError("--simulator-control needs --fresh-slot N (0 or more)")
                }
                if freshReader != nil { throw ValidationError("--fresh-reader goes with --reader; over USB/IP the fresh device is --fresh-usbip") }
                if let freshUsbip {
                    guard let address = try? USBIPAddress(parsing: freshUsbip), address.busID != nil else {
                        throw ValidationError("--fresh-usbip needs HOST[:PORT]/BUSID, got \(freshUsbip)")
                    }
                }
            } else {
                throw ValidationError("--simulator-control needs --reader (a reader served by `sealsim serve --vpcd`) or --usbip (a device served by `sealsim serve --usbip`)")
            }
        } else if freshSlot != nil || freshReader != nil || freshUsbip != nil {
            throw ValidationError("--fresh-slot, --fresh-reader and --fresh-usbip go with --simulator-control")
        }
    }

    func run() async throws {
        if allReaders {
            try await runTray()
            return
        }
        guard let chosenProfile = ConformanceProfile(rawValue: profile) else {
            throw ValidationError("--profile must be native or java-card, got \(profile)")
        }
        var (conformanceTarget, transport, freshTransport) = try await userFacing { try await makeTarget() }
        conformanceTarget.profile = chosenProfile
        var runner = ConformanceRunner()
        if !only.isEmpty { runner = runner.selecting(only) }
        let jsonToStandardOutput = json == "-"
        let report = await runner.run(target: conformanceTarget) { result in
            if !jsonToStandardOutput { print(result.progressLine) }
        }
        try userFacingWrite(junit) { Data(report.junitXML().utf8) }
        if jsonToStandardOutput {
            FileHandle.standardOutput.write(try report.json())
            FileHandle.standardOutput.write(Data("\n".utf8))
        } else {
            try userFacingWrite(json) { try report.json() }
        }
        try userFacingWrite(markdown) { Data(report.markdown().utf8) }
        await transport.close()
        await freshTransport?.close()
        if !jsonToStandardOutput { print(report.summaryLine) }
        if !report.allMandatoryPassed { throw ExitCode(1) }
    }

    private func userFacingWrite(_ path: String?, _ content: () throws -> Data) throws {
        guard let path else { return }
        do {
            try content().write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw CLIError("cannot write \(path): \(error.localizedDescription)")
        }
    }

    /// The target, the transport of the token under test, and (USB/IP with --simulator-control)
    /// the transport of the fresh-token device, shared by every fresh token; the caller closes them.
    private func makeTarget() async throws -> (ConformanceTarget, any CardTransport, (any CardTransport)?) {
        // The chip is authenticated under these roots in every case (SPEC §14.2), as by every
        // other command: --vendor-root, or the TEST root for a simulated token.
        let roots = try target.trustedVendorRoots()
        let issuerPEM = try issuerKey.map { String(decoding: try readFile($0, what: "issuer key"), as: UTF8.self) }
        // One transport for the whole run: every case connects and disconnects it, as it would a
        // token left in a reader (a USB/IP device can only be imported by one client at a time).
        let transport = try await target.openTransport()
        let name = target.targetDescription
        if let simulatorControl, let freshSlot, let freshReader {
            let control = SimulatorControlClient(stateDirectory: URL(fileURLWithPath: simulatorControl))
            let freshReaderName = try await PCSCTransport.resolve(readerQuery: freshReader)
            guard freshReaderName != transport.name else {
                throw CLIError("--fresh-reader is the reader under test: fresh tokens need a reader of their own")
            }
            return (try SimulatorConformanceTarget.makeControlled(
                name: name, openToken: { transport }, pin: pin, puk: puk,
                issuerKeyPEM: issuerPEM ?? TestCredentials.issuerKeyPEM, vendorRoots: roots, control: control, freshSlot: freshSlot,
                freshSlotAccess: .reopened({ PCSCTransport(readerName: freshReaderName, shareMode: .shared) })), transport, nil)
        }
        if let simulatorControl, let freshSlot, let usbip = target.usbip {
            let control = SimulatorControlClient(stateDirectory: URL(fileURLWithPath: simulatorControl), usbip: true)
            let freshAddress = try freshUSBIPAddress(underTest: usbip, freshSlot: freshSlot)
            guard !transport.name.hasSuffix(" at \(freshAddress)") else {
                throw CLIError("the fresh-token device \(freshAddress) is the device under test: fresh tokens need a device of their own")
            }
            let freshTransport = try await CCIDTransport.usbip(freshAddress.description)
            do {
                return (try SimulatorConformanceTarget.makeControlled(
                    name: name, openToken: { transport }, pin: pin, puk: puk,
                    issuerKeyPEM: issuerPEM ?? TestCredentials.issuerKeyPEM, vendorRoots: roots, control: control, freshSlot: freshSlot,
                    freshSlotAccess: .shared(freshTransport)), transport, freshTransport)
            } catch {
                await freshTransport.close()
                throw error
            }
        }
        if target.isSimulated {
            return (try SimulatorConformanceTarget.make(
                name: name, openToken: { transport }, pin: pin, puk: puk,
                issuerKeyPEM: issuerPEM ?? TestCredentials.issuerKeyPEM, vendorRoots: roots,
                capabilities: target.simulatedCapabilities), transport, nil)
        }
        // A token in a reader: only what the user supplies. Issuer cases need --issuer-key (the test
        // issuer key for sealsim tokens: Fixtures/test-issuer/issuer-key.pem); fresh tokens and
        // power-loss injection exist only in process or through a simulator's control socket
        // (--simulator-control), so those cases are skipped.
        let signer = try issuerPEM.map { P256IssuerSigner(privateKey: try P256.Signing.PrivateKey(pemRepresentation: $0)) }
        return (ConformanceTarget(name: name, openToken: { transport }, pin: pin, puk: puk, issuerSigner: signer,
                                  vendorRoots: roots), transport, nil)
    }

    /// The USB/IP device of the fresh-token slot: --fresh-usbip, or bus ID `1-(N+1)` (the bus ID
    /// `sealsim serve --usbip` gives slot N) on the server of the device under test.
    private func freshUSBIPAddress(underTest: String, freshSlot: Int) throws -> USBIPAddress {
        do {
            if let freshUsbip { return try USBIPAddress(parsing: freshUsbip) }  // checked in validate()
            var address = try USBIPAddress(parsing: underTest)
            address.busID = USBIPServer.busID(slot: freshSlot)
            return address
        } catch {
            throw CLIError(error.message, status: .usage)
        }
    }
}
