import Foundation
import Testing

@Suite("sealctl pin and PIN input")
struct PINTests {
    struct Tries: Decodable, Equatable {
        let pinTriesRemaining: Int
        let pinTryLimit: Int
        let pukTriesRemaining: Int
        let pukTryLimit: Int
        let pinBlocked: Bool
        let pukBlocked: Bool
    }

    func tries(_ sandbox: Sandbox) async throws -> Tries {
        let result = try await sandbox.run(["pin", "status", "--json"])
        #expect(result.status == 0, "\(result)")
        return try result.decode(Tries.self)
    }

    func stampStatus(_ sandbox: Sandbox, pin: String) async throws -> Int32 {
        let document = try sandbox.write("doc-\(UUID().uuidString).txt", "text\n")
        return try await sandbox.run(["stamp", "--document", document, "--pin", pin, "--out", sandbox.path("r.json")]).status
    }

    @Test func statusShowsTriesAsNumbers() async throws {
        let sandbox = try Sandbox()
        #expect(try await tries(sandbox) == Tries(pinTriesRemaining: 3, pinTryLimit: 3, pukTriesRemaining: 10, pukTryLimit: 10,
                                                  pinBlocked: false, pukBlocked: false))
        #expect(try await stampStatus(sandbox, pin: "999999") == 1)
        #expect(try await tries(sandbox).pinTriesRemaining == 2)
        let text = try await sandbox.run(["pin", "status"])
        #expect(text.stdout.contains("PIN tries left: 2 of 3") && text.stdout.contains("PUK tries left: 10 of 10"), "\(text)")
    }

    @Test func changeWithOptions() async throws {
        let sandbox = try Sandbox()
        let result = try await sandbox.run(["pin", "change", "--pin", "123456", "--new-pin", "24681357"])
        #expect(result.status == 0, "\(result)")
        #expect(try await stampStatus(sandbox, pin: "24681357") == 0)
        #expect(try await stampStatus(sandbox, pin: "123456") == 1)
    }

    @Test func changeFromEnvironment() async throws {
        let sandbox = try Sandbox()
        let result = try await sandbox.run(["pin", "change"], environment: ["SEALKIT_PIN": "123456", "SEALKIT_NEW_PIN": "777777"])
        #expect(result.status == 0, "\(result)")
        #expect(try await stampStatus(sandbox, pin: "777777") == 0)
    }

    @Test func changeFromStandardInput() async throws {
        let sandbox = try Sandbox()
        let result = try await sandbox.run(["pin", "change", "--pin-stdin"], stdin: "123456\n864200\n")
        #expect(result.status == 0, "\(result)")
        #expect(try await stampStatus(sandbox, pin: "864200") == 0)
    }

    @Test func wrongCurrentPINChangesNothingAndSpendsATry() async throws {
        let sandbox = try Sandbox()
        let result = try await sandbox.run(["pin", "change", "--pin", "000000", "--new-pin", "111111"])
        #expect(result.status == 1)
        #expect(result.stderrLines.count == 1)
        #expect(try await tries(sandbox).pinTriesRemaining == 2)
        #expect(try await stampStatus(sandbox, pin: "123456") == 0)
    }

    @Test func unblockWithThePUK() async throws {
        let sandbox = try Sandbox()
        for _ in 0..<3 { #expect(try await stampStatus(sandbox, pin: "999999") == 1) }
        #expect(try await tries(sandbox).pinBlocked)
        #expect(try await stampStatus(sandbox, pin: "123456") == 1, "a blocked PIN refuses even the right PIN")

        let wrong = try await sandbox.run(["pin", "unblock", "--puk", "87654321", "--new-pin", "135700"])
        #expect(wrong.status == 1, "\(wrong)")
        #expect(try await tries(sandbox).pukTriesRemaining == 9)

        let result = try await sandbox.run(["pin", "unblock", "--pin-stdin"], stdin: "12345678\n135700\n")
        #expect(result.status == 0, "\(result)")
        let after = try await tries(sandbox)
        #expect(after.pinTriesRemaining == 3 && after.pukTriesRemaining == 10 && !after.pinBlocked)
        #expect(try await stampStatus(sandbox, pin: "135700") == 0)
    }

    @Test func unblockFromEnvironment() async throws {
        let sandbox = try Sandbox()
        let result = try await sandbox.run(["pin", "unblock"], environment: ["SEALKIT_PUK": "12345678", "SEALKIT_NEW_PIN": "975300"])
        #expect(result.status == 0, "\(result)")
        #expect(try await stampStatus(sandbox, pin: "975300") == 0)
    }

    @Test func stampTakesThePINFromStandardInputOrEnvironment() async throws {
        let sandbox = try Sandbox()
        let document = try sandbox.write("doc.txt", "text\n")
        let fromStdin = try await sandbox.run(["stamp", "--document", document, "--pin-stdin", "--out", sandbox.path("a.json")],
                                              stdin: "123456\n")
        #expect(fromStdin.status == 0, "\(fromStdin)")
        let fromEnvironment = try await sandbox.run(["stamp", "--document", document, "--out", sandbox.path("b.json")],
                                                    environment: ["SEALKIT_PIN": "123456"])
        #expect(fromEnvironment.status == 0, "\(fromEnvironment)")
        let wrongInEnvironment = try await sandbox.run(["stamp", "--document", document, "--out", sandbox.path("c.json")],
                                                       environment: ["SEALKIT_PIN": "000000"])
        #expect(wrongInEnvironment.status == 1)
        #expect(try await sandbox.info().counter == 2)
    }

    /// At a terminal the PIN is asked for with echo off: what was typed never comes back.
    @Test func promptDoesNotEchoThePIN() async throws {
        let sandbox = try Sandbox()
        let document = try sandbox.write("doc.txt", "text\n")
        _ = try await sandbox.info()
        let terminal = try PseudoTerminal(.sealctl, ["stamp", "--document", document, "--out", sandbox.path("r.json")], sandbox: sandbox)
        #expect(terminal.read(until: "PIN: "), "no prompt: \(terminal.text)")
        terminal.type("123456\r")
        let status = terminal.finish()
        #expect(status == 0, "\(terminal.text)")
        #expect(terminal.text.contains("record written to"), "\(terminal.text)")
        #expect(!terminal.text.contains("123456"), "the PIN was echoed: \(terminal.text)")
        #expect(FileManager.default.fileExists(atPath: sandbox.path("r.json")))
    }

    /// The same at `pin change`: three prompts, none echoes; a mistyped repeat changes nothing.
    @Test func changeAtATerminal() async throws {
        let sandbox = try Sandbox()
        _ = try await sandbox.info()
        let mistyped = try PseudoTerminal(.sealctl, ["pin", "change"], sandbox: sandbox)
        #expect(mistyped.read(until: "PIN: "))
        mistyped.type("123456\r")
        #expect(mistyped.read(until: "New PIN: "))
        mistyped.type("246800\r")
        #expect(mistyped.read(until: "Repeat new PIN: "))
        mistyped.type("246810\r")
        #expect(mistyped.finish() == 1, "\(mistyped.text)")
        #expect(try await stampStatus(sandbox, pin: "123456") == 0)

        let terminal = try PseudoTerminal(.sealctl, ["pin", "change"], sandbox: sandbox)
        #expect(terminal.read(until: "PIN: "))
        terminal.type("123456\r")
        #expect(terminal.read(until: "New PIN: "))
        terminal.type("246800\r")
        #expect(terminal.read(until: "Repeat new PIN: "))
        terminal.type("246800\r")
        #expect(terminal.finish() == 0, "\(terminal.text)")
        #expect(!terminal.text.contains("123456") && !terminal.text.contains("246800"), "echoed: \(terminal.text)")
        #expect(try await stampStatus(sandbox, pin: "246800") == 0)
    }
}
