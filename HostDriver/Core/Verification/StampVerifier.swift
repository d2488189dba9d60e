#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Crypto
import SealProtocol
import SwiftASN1
@_spi(FixedExpiryValidationTime) import X509

/// Verifies a ``StampRecord`` offline, against the document and the vendor's root certificates.
///
/// ```swift
/// let verifier = try StampVerifier(trustedRootsPEM: vendorRootPEM)
/// let record = try StampRecord(jsonData: recordJSON)
/// let report = try await verifier.verify(record, documentAt: pdfURL)
/// try report.throwIfInvalid()          // or inspect report.isValid and report.checks
/// ```
///
/// Every check of ``StampVerificationCheck/ID/allCases`` runs, independently, so the report shows
/// everything that is wrong, not just the first problem; a check whose input is unusable fails with
/// a detail saying so. The procedure is specified in `docs/stamp-record.md`.
public struct StampVerifier: Sendable {
    /// The trusted vendor root certificates.
    public let trustedRoots: [Certificate]
    /// Untrusted intermediate certificates that may sit between a root and device certificates.
    public let intermediates: [Certificate]
    /// The trusted roots of RFC 3161 time-stamping authorities: a record's timestamp token counts
    /// (``StampVerificationReport/timestampBound``) only when its TSA chains to one of them.
    public var timestampRoots: [Certificate] = []
    /// One signature verifier per seal key algorithm: P-256 built in, others added with
    /// ``addSignatureVerifier(_:)``.
    var signatureVerifiers = SealSignatureVerifiers()

    /// Adds (or replaces) the verifier of `verifier.algorithm`, e.g. the SM2 verifier of the
    /// `SealSM2Verifier` target. A record whose seal algorithm has no verifier fails
    /// ``StampVerificationCheck/ID/stampSignature`` with a detail saying so.
    public mutating func addSignatureVerifier(_ verifier: any SealSignatureVerifier) {
        signatureVerifiers.add(verifier)
    }

    /// The signature verifier this verifier uses for seal keys of `algorithm`, or `nil` when it has
    /// none: what a ledger checks a chip's pushed audit log with (`SealToken.verifyAuditChain`
    /// takes it), so audit entries and records of one seal are judged by the same code.
    public func signatureVerifier(for algorithm: SealKeyAlgorithm) -> (any SealSignatureVerifier)? {
        signatureVerifiers.verifier(for: algorithm)
    }
    /// Device certificate chains validated so far (see ``CertificateChainCache``): shared by the
    /// copies of this verifier, all of which have the same roots and intermediates.
    package let chainCache: CertificateChainCache

    /// Creates a verifier trusting `trustedRoots`.
    ///
    /// An empty `trustedRoots` is accepted here (the certificates were built in code), but then
    /// every record fails ``StampVerificationCheck/ID/deviceCertificateChain``; the initializers
    /// that parse roots refuse input without a certificate.
    public init(trustedRoots: [Certificate], intermediates: [Certificate] = []) {
        self.trustedRoots = trustedRoots
        self.intermediates = intermediates
        self.chainCache = CertificateChainCache(trustedRoots: trustedRoots, intermediates: intermediates)
    }

    /// Creates a verifier from PEM text holding one or more `CERTIFICATE` blocks.
    ///
    /// - Parameters:
    ///   - trustedRootsPEM: The vendor root certificates.
    ///   - intermediatesPEM: Untrusted intermediate certificates, when the vendor uses any.
    /// - Throws: ``SealDriverError/Code-swift.struct/invalidTrustAnchors`` when the text holds no
    ///   `CERTIFICATE` block (e.g. it is not PEM at all), a block that is not a certificate, or a
    ///   certificate that does not parse.
    public init(trustedRootsPEM: String, intermediatesPEM: String? = nil) throws(SealDriverError) {
        self.init(trustedRoots: try Self.certificates(pem: trustedRootsPEM, role: "trusted roots"),
                  intermediates: try intermediatesPEM.map { pem throws(SealDriverError) in
                      try Self.certificates(pem: pem, role: "intermediates")
                  } ?? [])
    }

    /// Creates a verifier from DER-encoded certificates, one per array element.
    ///
    /// - Throws: ``SealDriverError/Code-swift.struct/invalidTrustAnchors`` when `trustedRootsDER`
    ///   is empty or an element is not a DER X.509 certificate.
    public init(trustedRootsDER: [[UInt8]], intermediatesDER: [[UInt8]] = []) throws(SealDriverError) {
        guard !trustedRootsDER.isEmpty else {
            throw SealDriverError(code: .invalidTrustAnchors, reason: "no trusted root certificate given")
        }
        self.init(trustedRoots: try trustedRootsDER.map { der throws(SealDriverError) in
                      try Self.certificate(der: der, role: "trusted root")
                  },
                  intermediates: try intermediatesDER.map { der throws(SealDriverError) in
                      try Self.certificate(der: der, role: "intermediate")
                  })
    }

    /// Creates a verifier from the contents of a root certificate file, PEM or DER, as read from
    /// disk: PEM text with one or more `CERTIFICATE` blocks, or one DER certificate.
    ///
    /// ```swift
    /// let verifier = try StampVerifier(trustedRoots: Array(try Data(contentsOf: rootURL)))
    /// ```
    ///
    /// - Parameters:
    ///   - bytes: The trusted root certificates, PEM or DER.
    ///   - intermediates: Untrusted intermediate certificates, PEM or DER, when the vendor uses any.
    /// - Throws: ``SealDriverError/Code-swift.struct/invalidTrustAnchors`` when the bytes hold no
    ///   certificate, or one that does not parse.
    public init(trustedRoots bytes: [UInt8], intermediates: [UInt8]? = nil) throws(SealDriverError) {
        self.init(trustedRoots: try Self.certificates(pemOrDER: bytes, role: "trusted roots"),
                  intermediates: try intermediates.map { bytes throws(SealDriverError) in
                      try Self.certificates(pemOrDER: bytes, role: "intermediates")
                  } ?? [])
    }

    /// Verifies `record` against the document bytes.
    public func verify(_ record: StampRecord, document: [UInt8],
                       options: StampVerificationOptions = .init()) async -> StampVerificationReport {
        await verify(record, documentDigest: SealDigest.sha256(document), options: options)
    }

    /// Verifies `record` against the file at `url`, hashed in constant memory
    /// (``SealDigest/sha256(contentsOf:)``).
    ///
    /// - Throws: ``SealDriverError/Code-swift.struct/fileUnreadable`` when the file cannot be read;
    ///   a record that does not verify is not an error but a report whose
    ///   ``StampVerificationReport/isValid`` is `false`.
    public func verify(_ record: StampRecord, documentAt url: URL,
                       options: StampVerificationOptions = .init()) async throws(SealDriverError) -> StampVerificationReport {
        let digest = try SealDigest.sha256(contentsOf: url)
        return await verify(record, documentDigest: digest, options: options)
    }

    /// Verifies `record` against the SHA-256 digest of the document.
    public func verify(_ record: StampRecord, documentDigest: [UInt8],
                       options: StampVerificationOptions = .init()) async -> StampVerificationReport {
        var run = CheckRun()
        checkRecord(record, documentDigest: documentDigest, options: options, into: &run)
        await checkDevice(record, options: options, into: &run)
        if let lastSeen = options.lastSeenCounter {
            run.add(.counterFreshness, record.counter > lastSeen,
                    "counter \(record.counter), last seen \(lastSeen)")
        } else {
            run.skip(.counterFreshness, "no last seen counter given")
        }
        let bound = await checkTimestamp(record, into: &run)
        return StampVerificationReport(checks: run.checks, timestampBound: bound)
    }

    /// Verifies and throws the first failure.
    /// - Returns: The report, whose ``StampVerificationReport/isValid`` is `true`.
    /// - Throws: ``SealDriverError/Code-swift.struct/stampInvalid`` whose
    ///   ``SealDriverError/failedCheck`` is the first failed check.
    @discardableResult
    public func validate(_ record: StampRecord, document: [UInt8],
                         options: StampVerificationOptions = .init()) async throws(SealDriverError) -> StampVerificationReport {
        let report = await verify(record, document: document, options: options)
        try report.throwIfInvalid()
        return report
    }

    // MARK: Trust anchors

    private static func certificates(pem: String, role: String) throws(SealDriverError) -> [Certificate] {
        let documents: [PEMDocument]
        do {
            documents = try PEMDocument.parseMultiple(pemString: pem)
        } catch {
            throw SealDriverError(code: .invalidTrustAnchors, reason: "the \(role) are not PEM: \(error)", underlyingError: error)
        }
        guard !documents.isEmpty else {
            throw SealDriverError(code: .invalidTrustAnchors, reason: "the \(role) hold no PEM CERTIFICATE block")
        }
        var certificates: [Certificate] = []
        for (index, document) in documents.enumerated() {
            guard document.discriminator == "CERTIFICATE" else {
                throw SealDriverError(code: .invalidTrustAnchors,
                                      reason: "PEM block \(index + 1) of the \(role) is a \(document.discriminator), not a CERTIFICATE")
            }
            certificates.append(try certificate(der: document.derBytes, role: "\(role) PEM block \(index + 1)"))
        }
        return certificates
    }

    private static func certificate(der: [UInt8], role: String) throws(SealDriverError) -> Certificate {
        do {
            return try Certificate(derEncoded: der)
        } catch {
            throw SealDriverError(code: .invalidTrustAnchors, reason: "the \(role) is not an X.509 certificate: \(error)",
                                  underlyingError: error)
        }
    }

    /// PEM when the bytes are text holding a PEM header, DER otherwise.
    private static func certificates(pemOrDER bytes: [UInt8], role: String) throws(SealDriverError) -> [Certificate] {
        guard !bytes.isEmpty else {
            throw SealDriverError(code: .invalidTrustAnchors, reason: "the \(role) are empty")
        }
        let text = String(decoding: bytes, as: UTF8.self)
        if text.contains("-----BEGIN") {
            return try certificates(pem: text, role: role)
        }
        return [try certificate(der: bytes, role: role)]
    }

    // MARK: Record checks

    private func checkRecord(_ record: StampRecord, documentDigest: [UInt8], options: StampVerificationOptions,
                             into run: inout CheckRun) {
        var problems: [String] = []
        if record.formatVersion != StampRecord.currentFormatVersion {
            problems.append("format version \(record.formatVersion) is not \(StampRecord.currentFormatVersion)")
        }
        for (name, bytes, length) in [
            ("chip ID", record.chipID, 16...16), ("document digest", record.documentDigest, 32...32),
            ("metadata digest", record.metadataDigest, 32...32), ("feature hash", record.featureHash, 32...32),
            ("key ID", record.keyID, 32...32), ("seal public key", record.sealPublicKey, 65...65),
            ("signature", record.signature, 8...72), ("attestation signature", record.attestationSignature, 8...72),
            ("seal image hash", record.sealImageHash ?? [UInt8](repeating: 0, count: 32), 32...32),
        ] where !length.contains(bytes.count) {
            problems.append("\(name) has \(bytes.count) bytes")
        }
        for (name, text) in [("organization name", record.organizationName), ("seal name", record.sealName)]
        where !(1...64).contains(text.utf8.count) {
            problems.append("\(name) must be 1 to 64 bytes")
        }
        run.add(.recordFormat, problems.isEmpty, problems.isEmpty ? "format \(record.formatVersion)" : problems.joined(separator: "; "))

        run.add(.documentDigest, constantTimeEqual(documentDigest, record.documentDigest),
                "document SHA-256 \(hexString(documentDigest)), record \(hexString(record.documentDigest))")

        // Metadata: the recorded A1 value must be exactly the canonical encoding of the fields the
        // record shows (the commitments as shown, not as recomputed from the openings: those are
        // the personal-data check's business).
        var shown = record.metadata.withoutPersonalData
        for (field, commitment) in record.metadata.withheldCommitments { shown.withheldCommitments[field] = commitment }
        let canonical: Result<[UInt8], SealDataError> = Result { () throws(SealDataError) in try shown.encoded() }
        let decoded: Result<StampMetadata, SealDataError> = Result { () throws(SealDataError) in
            try StampMetadata(decoding: record.metadataEncoding)
        }
        switch (canonical, decoded) {
        case (.failure(let error), _):
            run.fail(.metadataEncoding, "metadata fields are invalid: \(error.reason)")
        case (_, .failure(let error)):
            run.fail(.metadataEncoding, "recorded A1 value is not canonical: \(error.reason)")
        case (.success(let encoding), .success(let fields)):
            run.add(.metadataEncoding, encoding == record.metadataEncoding && fields == shown,
                    encoding == record.metadataEncoding ? "fields encode to the recorded A1 value"
                        : "fields encode to \(hexString(encoding)), record has \(hexString(record.metadataEncoding))")
        }
        let metadataDigest = sha256(record.metadataEncoding)
        run.add(.metadataDigest, constantTimeEqual(metadataDigest, record.metadataDigest),
                "SHA-256(A1) \(hexString(metadataDigest)), record \(hexString(record.metadataDigest))")

        checkPersonalData(record, into: &run)

        let keyID = sealKeyID(publicKeyX963: record.sealPublicKey)
        run.add(.keyID, constantTimeEqual(keyID, record.keyID), "SHA-256(seal key) \(hexString(keyID)), record \(hexString(record.keyID))")

        // Watermark serial and code (SPEC §10).
        if let parsed = Watermark.parseSerial(record.serial) {
            run.pass(.serialFormat, "\(record.serial) is well formed, check symbol matches")
            let expected = Watermark.chipPrefix(chipID: record.chipID)
            run.add(.serialChip, parsed.prefix == expected,
                    "serial prefix \(String(decoding: parsed.prefix, as: UTF8.self)), chip prefix \(String(decoding: expected, as: UTF8.self))")
            run.add(.serialCounter, parsed.counter == record.counter,
                    "serial counter \(parsed.counter), record counter \(record.counter)")
        } else {
            run.fail(.serialFormat, "\"\(record.serial)\" is not a well-formed serial with a matching check symbol")
            run.fail(.serialChip, "cannot check: serial is malformed")
            run.fail(.serialCounter, "cannot check: serial is malformed")
        }
        let codeBytes = Array(record.expirationCode.utf8)
        let codeWellFormed = codeBytes.count == Watermark.codeDigits && codeBytes.allSatisfy { (0x30...0x39).contains($0) }
        run.add(.expirationCodeFormat, codeWellFormed, "\"\(record.expirationCode)\"")
        if let key = options.watermarkKey {
            if key.count == 32 {
                let expected = Watermark.expirationCode(watermarkKey: key, serial: record.serial, expiry: record.expiry)
                run.add(.expirationCode, constantTimeEqual(Array(expected.utf8), codeBytes),
                        constantTimeEqual(Array(expected.utf8), codeBytes) ? "matches the watermark key"
                            : "does not match the watermark key")
            } else {
                run.fail(.expirationCode, "watermark key must be 32 bytes, got \(key.count)")
            }
        } else {
            run.skip(.expirationCode, "no watermark key given; format checked only")
        }

        run.add(.expiryAfterStampTime, record.expiry > record.metadata.time,
                "expiry \(record.expiry), stamp time \(record.metadata.time)")
        let now = Self.seconds(options.now)
        run.add(.notExpired, now <= record.expiry, "expiry \(record.expiry), now \(now)")

        let algorithm = record.sealKeyAlgorithm
        if let verifier = signatureVerifiers.verifier(for: algorithm) {
            let tbs = record.tbs.encoded()
            let scheme = algorithm == .sm2 ? "SM2 with SM3 (distinguishing ID 1234567812345678)" : "ECDSA P-256"
            run.add(.stampSignature, verifier.isValidSignature(record.signature, over: tbs, publicKey: record.sealPublicKey),
                    "\(scheme) over the \(tbs.count)-byte TBS with the seal key "
                        + "(it signs the organization, seal name, feature hash and image hash the record shows)")
        } else {
            run.fail(.stampSignature, "the seal key is \(algorithm) and this verifier has no \(algorithm) signature verifier "
                        + "(it has \(signatureVerifiers.algorithms.map(\.description).joined(separator: ", ")))")
        }
    }

    /// Each personal field's opening (plaintext and salt) must reproduce the commitment signed in
    /// the recorded `A1` value (SPEC §9.2.1). A commitment without its opening is fine: the
    /// record's holder withheld the personal data.
    private func checkPersonalData(_ record: StampRecord, into run: inout CheckRun) {
        guard let signed = try? StampMetadata(decoding: record.metadataEncoding) else {
            run.fail(.personalData, "cannot check: the recorded A1 value does not decode")
            return
        }
        var problems: [String] = []
        var opened: [String] = []
        var withheld: [String] = []
        for field in StampMetadata.PersonalField.allCases {
            let committed = signed.withheldCommitments[field]
            guard record.metadata.holdsPlaintext(field) else {
                if committed != nil { withheld.append(field.rawValue) }
                continue
            }
            guard let plaintext = record.metadata.plaintextBytes(field), let salt = record.metadata.salts[field],
                  salt.count == StampMetadata.saltLength else {
                problems.append("\(field.rawValue): incomplete opening")
                continue
            }
            guard let committed else {
                problems.append("\(field.rawValue): opened but not committed in the signed metadata")
                continue
            }
            if constantTimeEqual(StampMetadata.commitment(field: field, salt: salt, plaintext: plaintext), committed) {
                opened.append(field.rawValue)
            } else {
                problems.append("\(field.rawValue): plaintext and salt do not match the signed commitment")
            }
        }
        let detail = problems.isEmpty
            ? "opened: \(opened.isEmpty ? "none" : opened.joined(separator: ", ")); withheld: \(withheld.isEmpty ? "none" : withheld.joined(separator: ", "))"
            : problems.joined(separator: "; ")
        run.add(.personalData, problems.isEmpty, detail)
    }

    // MARK: Device checks

    /// RFC 5280 validation of the device certificate's chain to a trusted root at `time`; a valid
    /// chain is remembered in ``chainCache``.
    private func validateChain(_ certificate: Certificate, der: [UInt8], at time: Date, into run: inout CheckRun) async {
        var verifier = Verifier(rootCertificates: CertificateStore(trustedRoots)) {
            RFC5280Policy(fixedExpiryValidationTime: time)
        }
        switch await verifier.validate(leaf: certificate, intermediates: CertificateStore(intermediates)) {
        case .validCertificate(let chain):
            let detail = "chains to \(chain.last?.subject.description ?? "a trusted root") (\(chain.count) certificates)"
            run.pass(.deviceCertificateChain, detail)
            chainCache.store(der, chain: Array(chain), detail: detail)
        case .couldNotValidate(let failures):
            let reasons = failures.map { "\($0.policyFailureReason)" }.joined(separator: "; ")
            run.fail(.deviceCertificateChain,
                     "\(certificate.subject) does not chain to a trusted root at \(Self.seconds(time))\(reasons.isEmpty ? "" : ": \(reasons)")")
        }
    }

    private func checkDevice(_ record: StampRecord, options: StampVerificationOptions, into run: inout CheckRun) async {
        // A chip's records share its certificate: its chain is validated once per verifier, and
        // the cache answers only for these exact bytes, only inside the chain's validity window.
        let cached = chainCache.chain(for: record.deviceCertificate, at: options.now)
        let certificate: Certificate
        do {
            certificate = try cached?.leaf ?? Certificate(derEncoded: record.deviceCertificate)
        } catch {
            let reason = "device certificate is not DER X.509: \(error)"
            for id in [StampVerificationCheck.ID.deviceCertificateChain, .deviceCertificateChipID, .deviceCertificateProfile] {
                run.fail(id, reason)
            }
            checkAttestation(record, deviceKey: nil, into: &run)
            return
        }

        if let cached {
            run.pass(.deviceCertificateChain, cached.detail)
        } else {
            await validateChain(certificate, der: record.deviceCertificate, at: options.now, into: &run)
        }

        let profile = cached?.leafProfile ?? DeviceCertificateProfile(certificate)
        let expected = hexString(record.chipID)
        run.add(.deviceCertificateChipID, profile.subjectSerialNumbers == [expected],
                "subject serialNumber \(profile.subjectSerialNumbers.isEmpty ? "absent" : profile.subjectSerialNumbers.joined(separator: ", ")), chip ID \(expected)")
        run.add(.deviceCertificateProfile, profile.problems.isEmpty,
                profile.problems.isEmpty ? "P-256, digitalSignature, CA:false" : profile.problems.joined(separator: "; "))

        let deviceKey = profile.p256Key
        checkAttestation(record, deviceKey: deviceKey, into: &run)
    }

    private func checkAttestation(_ record: StampRecord, deviceKey: P256.Signing.PublicKey?, into run: inout CheckRun) {
        let statement: AttestationStatement?
        do {
            statement = try AttestationStatement(decoding: record.attestationStatement)
            run.pass(.attestationFormat, "\(record.attestationStatement.count)-byte statement")
        } catch {
            statement = nil
            run.fail(.attestationFormat, "statement does not parse: \(error.reason)")
        }

        if let deviceKey {
            let valid = (try? P256.Signing.ECDSASignature(derRepresentation: record.attestationSignature))
                .map { deviceKey.isValidSignature($0, for: record.attestationStatement) } ?? false
            run.add(.attestationSignature, valid, "ECDSA P-256 over the statement with the device certificate key")
        } else {
            run.fail(.attestationSignature, "cannot check: no usable P-256 device certificate key")
        }

        guard let statement else {
            for id in [StampVerificationCheck.ID.attestationChipID, .attestationSealKey, .attestationKeyID,
                       .attestationFeatureHash, .attestationKeyPolicy, .attestationBinding] {
                run.fail(id, "cannot check: statement does not parse")
            }
            return
        }
        run.add(.attestationChipID, statement.chipID == record.chipID,
                "statement \(hexString(statement.chipID)), record \(hexString(record.chipID))")
        run.add(.attestationSealKey, statement.sealPublicKey == record.sealPublicKey,
                "statement \(hexString(statement.sealPublicKey)), record \(hexString(record.sealPublicKey))")
        run.add(.attestationKeyID, statement.keyID == record.keyID,
                "statement \(hexString(statement.keyID)), record \(hexString(record.keyID))")
        run.add(.attestationFeatureHash, statement.featureHash == record.featureHash,
                "statement \(hexString(statement.featureHash)), record \(hexString(record.featureHash))")
        run.add(.attestationKeyPolicy, statement.keyPolicy.contains(.generatedOnChip),
                "key policy \(hexString([statement.keyPolicy.rawValue])) (bit0 = generated on chip)")
        let nonce = StampRecord.attestationNonce(signature: record.signature)
        let bound = statement.nonce == nonce && statement.counter >= record.counter
            && statement.audit.newestCounter == statement.counter
        run.add(.attestationBinding, bound,
                "nonce \(statement.nonce == nonce ? "is" : "is not") SHA-256 of the stamp signature; statement counter \(statement.counter), "
                    + "stamp counter \(record.counter), signed audit head counter \(statement.audit.newestCounter)")
    }

    // MARK: Timestamp token

    /// Trusts the TSA roots in `bytes` (PEM with one or more `CERTIFICATE` blocks, or one DER
    /// certificate) besides those already in ``timestampRoots``.
    ///
    /// - Throws: ``SealDriverError/Code-swift.struct/invalidTrustAnchors`` when the bytes hold no
    ///   certificate, or one that does not parse.
    public mutating func trustTimestampAuthorities(_ bytes: [UInt8]) throws(SealDriverError) {
        timestampRoots += try Self.certificates(pemOrDER: bytes, role: "TSA roots")
    }

    /// The RFC 3161 checks; returns the token's time when all three pass.
    private func checkTimestamp(_ record: StampRecord, into run: inout CheckRun) async -> Date? {
        guard let bytes = record.timestampToken else {
            for id in [StampVerificationCheck.ID.timestampImprint, .timestampSignature, .timestampAuthority] {
                run.skip(id, "the record carries no timestamp token")
            }
            return nil
        }
        let token: RFC3161TimestampToken
        do {
            token = try RFC3161TimestampToken(derEncoded: bytes)
        } catch {
            for id in [StampVerificationCheck.ID.timestampImprint, .timestampSignature, .timestampAuthority] {
                run.fail(id, "the timestamp token does not parse: \(error.reason)")
            }
            return nil
        }
        let time = Self.seconds(token.generationTime)
        let imprintOK = token.imprintMatches(record.signature)
        run.add(.timestampImprint, imprintOK, imprintOK ? "SHA-256 of the stamp signature, stamped at \(time)"
                    : "the imprint \(hexString(token.imprint)) is not SHA-256 of the stamp signature")
        let signatureProblem = token.verifySignature()
        run.add(.timestampSignature, signatureProblem == nil, signatureProblem ?? "ECDSA P-256 by \(token.signerCertificate?.subject.description ?? "?")")
        guard !timestampRoots.isEmpty else {
            run.skip(.timestampAuthority, "no TSA root configured: the token's time \(time) is not trusted")
            return nil
        }
        let authorityProblem = await token.verifyTSA(roots: timestampRoots)
        let later = record.metadata.time > time ? "; the stamp's own time \(record.metadata.time) is after it (the host clock was ahead)" : ""
        run.add(.timestampAuthority, authorityProblem == nil,
                authorityProblem ?? "the TSA chains to a TSA root: the stamp existed before \(time)\(later)")
        return imprintOK && signatureProblem == nil && authorityProblem == nil ? token.generationTime : nil
    }

    // MARK: Helpers

    /// Whole seconds since the epoch, 0 for times before it.
    static func seconds(_ date: Date) -> UInt64 {
        let interval = date.timeIntervalSince1970
        guard interval.isFinite, interval > 0 else { return 0 }
        return interval >= Double(UInt64.max) ? UInt64.max : UInt64(interval)
    }
}

/// Accumulates check results in order.
private struct CheckRun {
    var checks: [StampVerificationCheck] = []

    mutating func add(_ id: StampVerificationCheck.ID, _ passed: Bool, _ detail: String) {
        checks.append(StampVerificationCheck(id: id, outcome: passed ? .passed : .failed, detail: detail))
    }

    mutating func pass(_ id: StampVerificationCheck.ID, _ detail: String) { add(id, true, detail) }
    mutating func fail(_ id: StampVerificationCheck.ID, _ detail: String) { add(id, false, detail) }

    mutating func skip(_ id: StampVerificationCheck.ID, _ detail: String) {
        checks.append(StampVerificationCheck(id: id, outcome: .skipped, detail: detail))
    }
}
