import SealProtocol

/// A case's assertion failed: the token did not do what the spec says.
///
/// ``message`` states what was checked, what was expected and what the token did, with the command
/// bytes when an APDU is involved, so a vendor can reproduce it from the report alone.
package struct ConformanceFailure: Error, Sendable, CustomStringConvertible {
    package let message: String

    package init(_ message: String) {
        self.message = message
    }

    package var description: String { message }
}

/// Thrown by a case that cannot check its assertion on this target (e.g. the token's PIN try
/// limit is 1, so a wrong try could block it). Reported as skipped with the reason.
package struct ConformanceSkip: Error, Sendable, CustomStringConvertible {
    package let reason: String

    package init(_ reason: String) {
        self.reason = reason
    }

    package var description: String { reason }
}

/// One command and what the token answered.
package struct CardExchange: Sendable, CustomStringConvertible {
    /// The command bytes exactly as sent.
    package let command: [UInt8]
    package let response: ResponseAPDU

    package init(command: [UInt8], response: ResponseAPDU) {
        self.command = command
        self.response = response
    }

    package var data: [UInt8] { response.data }
    package var sw: StatusWord { response.statusWord }

    /// `"00 CA 01 01 00"` — the command, abbreviated after 24 bytes.
    package var commandHex: String { spacedHex(command, limit: 24) }

    package var description: String {
        "\(commandHex) → \(response.data.isEmpty ? "" : spacedHex(response.data, limit: 24) + " ")\(hex16(sw.rawValue))"
    }
}

// MARK: - Expectations

/// Fails unless the token answered `expected`.
package func expectSW(_ exchange: CardExchange, _ expected: StatusWord, _ what: String) throws {
    guard exchange.sw == expected else {
        throw ConformanceFailure(
            "\(what): expected SW \(hex16(expected.rawValue)), got \(swText(exchange.sw)) — command \(exchange.commandHex)\(dataNote(exchange))")
    }
}

/// Fails unless the token answered one of `expected`.
package func expectSW(_ exchange: CardExchange, oneOf expected: [StatusWord], _ what: String) throws {
    guard expected.contains(exchange.sw) else {
        let list = expected.map { hex16($0.rawValue) }.joined(separator: " or ")
        throw ConformanceFailure("\(what): expected SW \(list), got \(swText(exchange.sw)) — command \(exchange.commandHex)\(dataNote(exchange))")
    }
}

/// Fails unless the token answered `9000` with no data.
package func expectSuccessNoData(_ exchange: CardExchange, _ what: String) throws {
    try expectSW(exchange, .success, what)
    try expect(exchange.data.isEmpty, "\(what): expected no response data, got \(exchange.data.count) byte(s): \(spacedHex(exchange.data, limit: 24))")
}

/// Fails unless `actual == expected`.
package func expectEqual<T: Equatable>(_ actual: T, _ expected: T, _ what: String) throws {
    guard actual == expected else {
        throw ConformanceFailure("\(what): expected \(expected), got \(actual)")
    }
}

/// Fails unless the byte strings are equal; shows both in hex.
package func expectBytes(_ actual: [UInt8], _ expected: [UInt8], _ what: String) throws {
    guard actual == expected else {
        throw ConformanceFailure(
            "\(what): expected \(expected.count) byte(s) \(spacedHex(expected, limit: 48)), got \(actual.count) byte(s) \(spacedHex(actual, limit: 48))")
    }
}

/// Fails with `message` unless `condition` holds.
package func expect(_ condition: Bool, _ message: @autoclosure () -> String) throws {
    guard condition else { throw ConformanceFailure(message()) }
}

/// Unwraps or fails with `message`.
package func expectValue<T>(_ value: T?, _ message: @autoclosure () -> String) throws -> T {
    guard let value else { throw ConformanceFailure(message()) }
    return value
}

/// Runs `body` and turns any decoding error into a failure that names `what`.
package func expectDecodes<T>(_ what: String, _ body: () throws -> T) throws -> T {
    do {
        return try body()
    } catch let failure as ConformanceFailure {
        throw failure
    } catch {
        throw ConformanceFailure("\(what) does not decode: \(error)")
    }
}

// MARK: - Formatting

func hex16(_ value: UInt16) -> String {
    hexString(bigEndianBytes(value))
}

func swText(_ sw: StatusWord) -> String {
    hex16(sw.rawValue)
}

func spacedHex(_ bytes: [UInt8], limit: Int = .max) -> String {
    if bytes.isEmpty { return "(empty)" }
    let shown = bytes.prefix(limit).map { hexString([$0]) }.joined(separator: " ")
    return bytes.count > limit ? "\(shown) … (\(bytes.count) bytes)" : shown
}

private func dataNote(_ exchange: CardExchange) -> String {
    exchange.data.isEmpty ? "" : ", response data \(spacedHex(exchange.data, limit: 16))"
}
