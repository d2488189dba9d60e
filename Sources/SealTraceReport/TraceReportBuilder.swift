import Foundation
import SealHostDriver
import SealLedger
import SealProtocol
import X509

/// What a report is made from: the record and what the ledger served about it, the keys the
/// viewer trusts and the viewer's role. `sealctl report` fills it from HTTP answers, the ledger's
/// `GET /v1/reports/{index}` from its own storage.
package struct TraceReportInput: Sendable {
    /// The record. Its personal plaintexts are read only when ``viewer`` sees personal data.
    package var record: StampRecord
    /// Who the report is for.
    package var viewer: TraceReport.Viewer
    /// The entry's index in the ledger.
    package var entryIndex: UInt64
    /// The entry's bytes as the ledger holds them.
    package var entry: [UInt8]
    /// The entry's inclusion proof in the checkpoint's tree.
    package var inclusionProof: [MerkleHash]
    /// The (cosigned) checkpoint note the proof leads to.
    package var checkpointNote: String
    /// The log's key, when the viewer gave one: the checkpoint's signature is checked under it.
    package var logKey: NoteVerifier?
    /// The witnesses the viewer trusts, with their quorum.
    package var witnessPolicy: WitnessPolicy?
    /// Whether the ledger itself collected the cosignatures (its own report page): lines without
    /// a trusted key are then shown as `collected` rather than `not checked`.
    package var cosignaturesCollectedByLedger = false
    /// The record's own verification (StampVerifier).
    package var stampVerification: StampVerificationReport
    /// The seal's history in the ledger.
    package var history: [TraceReport.HistoryEntry]
    /// The seal's alerts; nil when no source was available.
    package var alerts: [TraceReport.Alert]?
    /// The registered seal image (PNG), when the caller has it; shown only if it hashes to the signed hash.
    package var sealImagePNG: [UInt8]?
    /// When the report is made.
    package var now: Date

    /// An input.
    package init(record: StampRecord, viewer: TraceReport.Viewer, entryIndex: UInt64, entry: [UInt8], inclusionProof: [MerkleHash],
                 checkpointNote: String, logKey: NoteVerifier?, witnessPolicy: WitnessPolicy?, stampVerification: StampVerificationReport,
                 history: [TraceReport.HistoryEntry], alerts: [TraceReport.Alert]?, sealImagePNG: [UInt8]? = nil, now: Date = Date()) {
        self.record = record
        self.viewer = viewer
        self.entryIndex = entryIndex
        self.entry = entry
        self.inclusionProof = inclusionProof
        self.checkpointNote = checkpointNote
        self.logKey = logKey
        self.witnessPolicy = witnessPolicy
        self.stampVerification = stampVerification
        self.history = history
        self.alerts = alerts
        self.sealImagePNG = sealImagePNG
        self.now = now
    }
}

/// Where a report's alerts come from: the ledger's alerts for a chip (the alerts service, once it
/// is there), or nothing. Nil means "not available", an empty array "none".
package protocol ReportAlertSource: Sendable {
    /// The alerts about `chipID`, or nil when alerts are not available.
    func alerts(chipID: [UInt8]) async -> [TraceReport.Alert]?
}

/// No alert service: every report says alerts are not available.
package struct UnavailableAlertSource: ReportAlertSource {
    /// The source.
    package init() {}

    /// Always nil.
    package func alerts(chipID: [UInt8]) async -> [TraceReport.Alert]? { nil }
}

/// Builds ``TraceReport`` values: a pure function of its input (no network, no clock but the input's).
package enum TraceReportBuilder {
    /// The IDs of the ledger checks, in order, after the stamp's own.
    package static let ledgerCheckIDs = ["ledger-entry", "checkpoint-signature", "inclusion-proof", "witness-quorum", "seal-image-registration"]

    /// The report of `input`.
    package static func build(_ input: TraceReportInput) -> TraceReport {
        // Personal plaintexts never reach the model of a viewer who may not see them, whatever
        // the record held.
        let record = input.viewer.seesPersonalData ? input.record : input.record.withoutPersonalData()
        let metadata = record.metadata
        let personalization = personalizationEvent(in: input.history, before: input.entryIndex)
        var imagePNG: [UInt8]?
        if let png = input.sealImagePNG, let signed = record.sealImageHash, SealDigest.sha256(png) == signed { imagePNG = png }
        let seal = TraceReport.Seal(
            chipID: hexString(record.chipID), organizationName: record.organizationName, sealName: record.sealName,
            featureHash: hexString(record.featureHash), keyID: hexString(record.keyID),
            certificate: certificate(record.deviceCertificate), signedImageHash: record.sealImageHash.map(hexString),
            personalization: personalization, imagePNG: imagePNG)

        let who = TraceReport.Who(
            organizationUnit: metadata.organizationUnit, approvalNode: metadata.approvalNode,
            operatorID: personal(metadata, .operatorID) { $0.operatorID },
            biometricReference: personal(metadata, .operatorBiometricReference) { $0.operatorBiometricReference.map(hexString) },
            deviceFingerprint: personal(metadata, .deviceFingerprint) { metadata in
                metadata.deviceFingerprint.map { String(validating: $0, as: UTF8.self) ?? hexString($0) }
            })

        let location: TraceReport.Location
        if let lat = metadata.latitudeMicrodegrees, let lon = metadata.longitudeMicrodegrees {
            location = .shown(latitudeMicrodegrees: lat, longitudeMicrodegrees: lon)
        } else if let commitment = metadata.commitment(for: .location) {
            location = .withheld(commitment: hexString(commitment))
        } else {
            location = .absent
        }

        let parsedNote = try? SignedNote(parsing: input.checkpointNote)
        let checkpoint = parsedNote.flatMap { try? Checkpoint(text: $0.text) }
        let witnesses = cosignatures(parsedNote, checkpoint: checkpoint, input: input)
        let verified = witnesses.filter { $0.status == "verified" && $0.time != nil }
        let boundFrom = (verified.isEmpty ? witnesses.filter { $0.time != nil } : verified).min { ($0.time ?? 0) < ($1.time ?? 0) }
        let when = TraceReport.When(claimed: metadata.time, cosignedBound: boundFrom?.time, cosignedBoundWitness: boundFrom?.name,
                                    cosignedBoundVerified: !verified.isEmpty, timestampBound: input.stampVerification.timestampBound,
                                    expiry: record.expiry)
        let document = TraceReport.Document(name: metadata.documentName, digest: hexString(record.documentDigest), serial: record.serial,
                                            expirationCode: record.expirationCode, counter: record.counter)

        var checks = input.stampVerification.checks.map {
            TraceReport.Check(id: $0.id.rawValue, outcome: $0.outcome.rawValue, detail: $0.detail, group: "stamp")
        }
        checks += ledgerChecks(input, record: record, checkpoint: checkpoint, seal: seal)

        let proof = TraceReport.Proof(
            origin: checkpoint?.origin ?? "", index: input.entryIndex, treeSize: checkpoint?.size ?? 0,
            rootHash: checkpoint.map { Data($0.rootHash).base64EncodedString() } ?? "",
            recordHash: hexString(LedgerLeaf.recordHash(input.entry)),
            hashes: input.inclusionProof.map { Data($0).base64EncodedString() }, checkpointNote: input.checkpointNote)
        return TraceReport(viewer: input.viewer, generatedAt: input.now, seal: seal, who: who, when: when, location: location,
                           document: document, checks: checks, proof: proof, witnesses: witnesses, history: input.history,
                           alerts: input.alerts)
    }

    /// The field's opened value when the metadata holds it, else its commitment.
    private static func personal(_ metadata: StampMetadata, _ field: StampMetadata.PersonalField,
                                 _ value: (StampMetadata) -> String?) -> TraceReport.PersonalValue {
        if metadata.holdsPlaintext(field), let shown = value(metadata) { return .shown(shown) }
        if let commitment = metadata.commitment(for: field) { return .withheld(commitment: hexString(commitment)) }
        return .absent
    }

    private static func certificate(_ der: [UInt8]) -> TraceReport.Seal.Certificate? {
        guard let certificate = try? Certificate(derEncoded: der) else { return nil }
        return .init(subject: certificate.subject.description, issuer: certificate.issuer.description,
                     serialNumber: hexString(certificate.serialNumber.bytes.map { $0 }),
                     notValidBefore: certificate.notValidBefore, notValidAfter: certificate.notValidAfter)
    }

    /// The chip's personalization event: the latest one before the entry, else the latest at all.
    private static func personalizationEvent(in history: [TraceReport.HistoryEntry], before index: UInt64) -> TraceReport.Seal.Personalization? {
        let events = history.compactMap(\.personalization)
        return events.last { $0.index < index } ?? events.last
    }

    /// Every signature line of the checkpoint but the log's own, with its time and status.
    private static func cosignatures(_ note: SignedNote?, checkpoint: Checkpoint?, input: TraceReportInput) -> [TraceReport.Witness] {
        guard let note else { return [] }
        var lines: [TraceReport.Witness] = []
        for line in note.signatures {
            if line.name == checkpoint?.origin && line.signature.count == 64 { continue }
            var time: UInt64?
            if line.signature.count == 72 { time = line.signature[0..<8].reduce(UInt64(0)) { value, byte in value << 8 | UInt64(byte) } }
            var status = input.cosignaturesCollectedByLedger ? "collected" : "not checked"
            if let witness = input.witnessPolicy?.witnesses.first(where: { $0.name == line.name && $0.keyID == line.keyID }) {
                let verified: UInt64? = (try? witness.cosignatureTime(on: note)).flatMap { $0 }
                status = verified != nil ? "verified" : "invalid"
            }
            lines.append(.init(name: line.name, keyID: String(format: "%08x", line.keyID), time: time, status: status))
        }
        return lines
    }

    private static func ledgerChecks(_ input: TraceReportInput, record: StampRecord, checkpoint: Checkpoint?,
                                     seal: TraceReport.Seal) -> [TraceReport.Check] {
        var checks: [TraceReport.Check] = []
        func add(_ id: String, _ outcome: StampVerificationCheck.Outcome, _ detail: String) {
            checks.append(.init(id: id, outcome: outcome.rawValue, detail: detail, group: "ledger"))
        }
        let leaf = LedgerLeaf.stampRecordBytes(record)
        add("ledger-entry", leaf == input.entry ? .passed : .failed,
            leaf == input.entry ? "entry \(input.entryIndex) of the ledger holds this record"
                : "entry \(input.entryIndex) of the ledger is not this record (record hash \(hexString(LedgerLeaf.recordHash(input.entry))))")

        if let logKey = input.logKey {
            do throws(LedgerError) {
                let opened = try Checkpoint.open(input.checkpointNote, verifier: logKey)
                add("checkpoint-signature", .passed, "signed by \(logKey.name) (key \(String(format: "%08x", logKey.keyID))), tree size \(opened.size)")
            } catch {
                add("checkpoint-signature", .failed, error.reason)
            }
        } else {
            add("checkpoint-signature", .skipped, "no log key given: the checkpoint's signature is not checked")
        }

        if let checkpoint {
            do throws(LedgerError) {
                try MerkleTree.verifyInclusion(leafHash: MerkleTree.leafHash(input.entry), index: input.entryIndex, size: checkpoint.size,
                                               proof: input.inclusionProof, root: checkpoint.rootHash)
                add("inclusion-proof", .passed, "entry \(input.entryIndex) is in the tree of size \(checkpoint.size) of \(checkpoint.origin)")
            } catch {
                add("inclusion-proof", .failed, error.reason)
            }
        } else {
            add("inclusion-proof", .failed, "the checkpoint does not parse")
        }

        if let policy = input.witnessPolicy, let note = try? SignedNote(parsing: input.checkpointNote) {
            do throws(LedgerError) {
                let cosigners = try policy.cosigners(of: note)
                let names = cosigners.map(\.witness.name).joined(separator: ", ")
                add("witness-quorum", cosigners.count >= policy.quorum ? .passed : .failed,
                    "\(cosigners.count) of \(policy.witnesses.count) trusted witnesses cosigned (quorum \(policy.quorum))\(names.isEmpty ? "" : ": \(names)")")
            } catch {
                add("witness-quorum", .failed, error.reason)
            }
        } else {
            add("witness-quorum", .skipped, "no witness keys given: the cosignatures are listed, not checked")
        }

        switch seal.imageComparison {
        case .matches:
            add("seal-image-registration", .passed, "the image hash registered at entry \(seal.personalization?.index ?? 0) matches the signed one")
        case .noImage:
            add("seal-image-registration", .passed, "neither the personalization event nor the stamp names a seal image")
        case .differs:
            add("seal-image-registration", .failed,
                "the personalization event (entry \(seal.personalization?.index ?? 0)) registered \(seal.personalization?.imageHash ?? "no image"), the chip signs \(seal.signedImageHash ?? "no image")")
        case .noRegistration:
            add("seal-image-registration", .skipped, "the ledger holds no personalization event of this chip")
        }
        return checks
    }

    // MARK: History and alerts

    /// The history entries of the ledger's stored entries about a chip.
    package static func history(_ entries: [StoredEntry]) -> [TraceReport.HistoryEntry] {
        entries.map { entry in
            var item = TraceReport.HistoryEntry(index: entry.index, kind: entry.kind.name, counter: entry.counter)
            switch entry.kind {
            case .stampRecord:
                item.detail = entry.serial.map { "serial \($0)" } ?? ""
            case .lifecycleEvent:
                if let event = try? SignedLifecycleEvent(bytes: entry.bytes).event {
                    item.event = event.kind.description
                    item.time = event.time
                    item.counter = event.finalCounter
                    if let seal = event.seal {
                        item.detail = "\(seal.organizationName) / \(seal.sealName)"
                        item.personalization = .init(index: entry.index, time: event.time, imageHash: seal.sealImageHash.map(hexString),
                                                     organizationName: seal.organizationName, sealName: seal.sealName)
                    }
                }
            case .auditLog:
                if let push = try? AuditPush(bytes: entry.bytes), let first = push.entries.first, let last = push.entries.last {
                    item.detail = "audit log, counters \(first.counter)–\(last.counter)"
                }
            default:
                item.detail = "evidence"
            }
            return item
        }
    }

    /// The history entries of a `GET /v1/chips/{chipID}/history` answer.
    package static func history(json object: [String: Any]) -> [TraceReport.HistoryEntry] {
        (object["entries"] as? [[String: Any]] ?? []).compactMap { view in
            guard let index = (view["index"] as? NSNumber)?.uint64Value, let kind = view["kind"] as? String else { return nil }
            var item = TraceReport.HistoryEntry(index: index, kind: kind)
            item.event = view["event"] as? String
            item.time = (view["time"] as? NSNumber)?.uint64Value
            item.counter = ((view["finalCounter"] ?? view["counter"] ?? view["lastCounter"]) as? NSNumber)?.uint32Value
            var details: [String] = []
            if let serial = view["serial"] as? String { details.append("serial \(serial)") }
            if let flag = view["flag"] as? String { details.append(flag) }
            if let first = view["firstCounter"] as? NSNumber, let last = view["lastCounter"] as? NSNumber {
                details.append("audit log, counters \(first)–\(last)")
            }
            if let organization = view["organizationName"] as? String, let sealName = view["sealName"] as? String {
                details.append("\(organization) / \(sealName)")
                if item.event == "personalized" {
                    item.personalization = .init(index: index, time: item.time ?? 0, imageHash: view["sealImageHash"] as? String,
                                                 organizationName: organization, sealName: sealName)
                }
            }
            item.detail = details.joined(separator: "; ")
            return item
        }
    }

    /// The alerts of a `GET /v1/alerts` answer (`{"alerts": [...]}`).
    package static func alerts(json object: [String: Any]) -> [TraceReport.Alert] {
        (object["alerts"] as? [[String: Any]] ?? []).compactMap { view in
            guard let id = (view["id"] as? NSNumber)?.intValue, let kind = view["kind"] as? String else { return nil }
            var detail = ""
            if let value = view["detail"], !(value is NSNull),
               let data = try? JSONSerialization.data(withJSONObject: value, options: [.sortedKeys, .withoutEscapingSlashes, .fragmentsAllowed]) {
                detail = String(decoding: data, as: UTF8.self)
            }
            return TraceReport.Alert(id: id, kind: kind, raisedAt: view["raisedAt"] as? String ?? "",
                                     entryIndex: (view["entryIndex"] as? NSNumber)?.uint64Value,
                                     authenticated: (view["authenticated"] as? Bool) ?? false, detail: detail)
        }
    }
}
