/// The shape every SealKit error follows (after `ASN1Error` of swift-asn1): a stable ``code`` to
/// match on, a free-form ``reason`` for people, and equality and hashing by code only, so callers
/// and tests compare against `SomeError(code: .x, reason: "")` without caring about the text.
///
/// Conforming types declare `code` and `reason`; `==`, `hash(into:)` and a default
/// `description` (`TypeName.code: reason`) come from here.
public protocol CodedError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The type of ``code``: a struct of static members over a private enum, so codes can be added
    /// without breaking a caller's exhaustive `switch`.
    associatedtype Code: Hashable & Sendable & CustomStringConvertible
    /// The kind of failure; stable across releases.
    var code: Code { get }
    /// Human-readable detail. Not part of equality.
    var reason: String { get }
}

extension CodedError {
    public static func == (lhs: Self, rhs: Self) -> Bool { lhs.code == rhs.code }

    public func hash(into hasher: inout Hasher) { hasher.combine(code) }

    public var description: String {
        reason.isEmpty ? "\(Self.self).\(code)" : "\(Self.self).\(code): \(reason)"
    }
}
