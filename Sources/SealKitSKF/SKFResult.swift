#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CSealKitSKF
import Foundation
import SealGMCrypto
import SealESeal
import SealHostDriver
import SealKitCBridge
import SealPCSC
import SealProtocol

/// A failed SKF call: the `SAR_*` code it returns, why (for `SEALKIT_SKF_DEBUG`), and the tries
/// left for a wrong PIN or PUK (`*pulRetryCount`).
struct SKFFailure: Error {
    let code: UInt32
    let reason: String
    var triesRemaining: UInt32? = nil

    init(_ code: Int32, _ reason: String, triesRemaining: UInt32? = nil) {
        self.code = UInt32(bitPattern: code)
        self.reason = reason
        self.triesRemaining = triesRemaining
    }

    /// The SKF code of any error the driver, the PC/SC layer or the GB/T 38540 code throws.
    /// Each driver condition maps to the one GM/T 0016 code that says the same to an SKF
    /// application (docs/skf.md, "Errors").
    init(_ error: any Error) {
        switch error {
        case let failure as SKFFailure:
            self = failure
        case let driver as SealDriverError:
            self = Self(driver)
        case let pcsc as PCSCError:
            self = Self(pcsc)
        case is BlockingCallError:
            self.init(SAR_FAIL, "called from a Swift concurrency task; call libsealkit-skf from an ordinary thread")
        case let ses as SESError:
            self.init(SAR_INDATAERR, "\(ses)")
        case let data as SealDataError:
            self.init(SAR_INDATAERR, "\(data)")
        case let crypto as GMCryptoError:
            self.init(SAR_FAIL, "\(crypto)")
        default:
            self.init(SAR_UNKNOWNERR, "\(error)")
        }
    }

    private init(_ error: SealDriverError) {
        if let underlying = error.underlyingError as? PCSCError {
            self.init(underlying)
            return
        }
        let reason = error.message
        if error.isPINIncorrect, let tries = error.triesRemaining {
            self.init(SAR_PIN_INCORRECT, reason, triesRemaining: UInt32(tries))
        } else if error.isBlocked {
            self.init(SAR_PIN_LOCKED, reason, triesRemaining: 0)
        } else if error.isSecurityStatusNotSatisfied {
            self.init(SAR_USER_NOT_LOGGED_IN, reason)
        } else if error.isReferencedDataNotFound {
            self.init(SAR_FILE_NOT_EXIST, reason)
        } else {
            switch error.code {
            case .cardRemoved, .notConnected: self.init(SAR_DEVICE_REMOVED, reason)
            case .noResponse: self.init(SAR_TIMEOUTERR, reason)
            case .invalidArgument, .invalidTrustAnchors: self.init(SAR_INVALIDPARAMERR, reason)
            case .notSupportedByToken: self.init(SAR_NOTSUPPORTYETERR, reason)
            default: self.init(SAR_FAIL, reason)
            }
        }
    }

    private init(_ error: PCSCError) {
        switch error.code {
        case .noCard, .cardRemoved: self.init(SAR_DEVICE_REMOVED, error.message)
        case .readerNotFound, .invalidArgument: self.init(SAR_INVALIDPARAMERR, error.message)
        case .cardUnresponsive: self.init(SAR_TIMEOUTERR, error.message)
        default: self.init(SAR_FAIL, error.message)
        }
    }
}

/// Runs the body of an SKF entry point: `SAR_OK`, or the failure's code. With
/// `SEALKIT_SKF_DEBUG` set, each failure is explained on stderr (SKF has no error text of its own).
func skfEntry(_ function: StaticString, _ body: () throws -> Void) -> UInt32 {
    do {
        try refuseTaskThread()
        try body()
        return UInt32(SAR_OK)
    } catch {
        let failure = SKFFailure(error)
        if debugEnabled {
            FileHandle.standardError.write(Data("libsealkit-skf: \(function): 0x\(String(failure.code, radix: 16, uppercase: true)): \(failure.reason)\n".utf8))
        }
        return failure.code
    }
}

/// Whether `SEALKIT_SKF_DEBUG` is set (read once).
private let debugEnabled = getenv("SEALKIT_SKF_DEBUG") != nil

/// A C string argument: NULL and invalid UTF-8 are `SAR_INVALIDPARAMERR`.
func stringArgument(_ pointer: UnsafePointer<CChar>?, _ name: String) throws(SKFFailure) -> String {
    guard let pointer else { throw SKFFailure(SAR_INVALIDPARAMERR, "\(name) is NULL") }
    guard let text = String(validatingCString: pointer) else { throw SKFFailure(SAR_INVALIDPARAMERR, "\(name) is not UTF-8") }
    return text
}

/// `count` bytes at `pointer`; NULL with a nonzero count is `SAR_INVALIDPARAMERR`.
func bytesArgument(_ pointer: UnsafePointer<UInt8>?, _ count: UInt32, _ name: String) throws(SKFFailure) -> [UInt8] {
    guard count > 0 else { return [] }
    guard let pointer else { throw SKFFailure(SAR_INVALIDPARAMERR, "\(name) is NULL but its length is \(count)") }
    return Array(UnsafeBufferPointer(start: pointer, count: Int(count)))
}

/// Writes `bytes` by GM/T 0016's size-query convention: `*size` always receives the length
/// needed; a NULL buffer is a size query (SAR_OK), a buffer smaller than `*size` was on entry is
/// `SAR_BUFFER_TOO_SMALL`.
func writeSized(_ bytes: [UInt8], to buffer: UnsafeMutablePointer<UInt8>?, size: UnsafeMutablePointer<UInt32>?,
                _ name: String) throws(SKFFailure) {
    guard let size else { throw SKFFailure(SAR_INVALIDPARAMERR, "the size pointer of \(name) is NULL") }
    let capacity = size.pointee
    size.pointee = UInt32(bytes.count)
    guard let buffer else { return }
    guard capacity >= UInt32(bytes.count) else {
        throw SKFFailure(SAR_BUFFER_TOO_SMALL, "\(name) needs \(bytes.count) bytes, the buffer has \(capacity)")
    }
    bytes.withUnsafeBufferPointer { source in
        guard let base = source.baseAddress else { return }
        buffer.update(from: base, count: source.count)
    }
}

/// A GM/T 0016 multi-string: each name followed by NUL, then one more NUL ("\0\0" when empty:
/// the list's terminator after an empty string, as SKF implementations write it).
func multiString(_ names: [String]) -> [UInt8] {
    let body: [UInt8] = names.flatMap { name -> [UInt8] in Array(name.utf8) + [0] }
    return body.isEmpty ? [0, 0] : body + [0]
}

/// A PIN argument checked as the chip would (6–12 ASCII digits), before anything is sent, so
/// that a malformed PIN spends no try: the wrong length is `SAR_PIN_LEN_RANGE`, another
/// character `SAR_PIN_INVALID`.
func pinArgument(_ pointer: UnsafePointer<CChar>?, _ name: String, lengths: ClosedRange<Int> = PersonalizationData.pinLengths)
    throws(SKFFailure) -> String {
    let pin = try stringArgument(pointer, name)
    guard lengths.contains(pin.utf8.count) else {
        throw SKFFailure(SAR_PIN_LEN_RANGE, "\(name) must be \(lengths.lowerBound) to \(lengths.upperBound) digits, got \(pin.utf8.count) characters")
    }
    guard pin.utf8.allSatisfy({ (0x30...0x39).contains($0) }) else {
        throw SKFFailure(SAR_PIN_INVALID, "\(name) must be digits only")
    }
    return pin
}
