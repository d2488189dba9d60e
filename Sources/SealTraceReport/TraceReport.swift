import Foundation

/// The traceability report of one stamp (docs/report.md): which seal, who, when, where, which
/// document, every verification check, the inclusion proof and its witnesses, the seal's lifecycle
/// history and its alerts. A plain value built by ``TraceReportBuilder`` from what the ledger
/// serves and rendered by ``TraceReportHTML``; the same model serves `sealctl report` and the
/// ledger's `GET /v1/reports/{index}`.
///
/// Personal data (operator ID, biometric reference, device fingerprint, location) is in the model
/// only when the viewer's role may see it: otherwise the model holds the signed commitment alone.
package struct TraceReport: Sendable {
    /// Who the report was made for, as far as personal data goes.
    package struct Viewer: Sendable, Hashable {
        /// The role's name: `public`, `auditor` or `issuer`.
        package var role: String
        /// The audited organization, for an auditor.
        package var organization: String?
        /// Whether the report carries the openings of the personal fields.
        package var seesPersonalData: Bool

        /// A viewer.
        package init(role: String, organization: String? = nil, seesPersonalData: Bool) {
            self.role = role
            self.organization = organization
            self.seesPersonalData = seesPersonalData
        }

        /// The public verifier: commitments only.
        package static let publicVerifier = Viewer(role: "public", seesPersonalData: false)
    }

    /// A personal field as the viewer sees it.
    package enum PersonalValue: Sendable, Hashable {
        /// The opened value (the viewer may see it).
        case shown(String)
        /// Only the signed commitment (SHA-256 of domain, tag, salt and value), in hex.
        case withheld(commitment: String)
        /// The record has no such field.
        case absent
    }

    /// Where the stamp was made, as the viewer sees it.
    package enum Location: Sendable, Hashable {
        /// Latitude and longitude in microdegrees.
        case shown(latitudeMicrodegrees: Int32, longitudeMicrodegrees: Int32)
        /// Only the commitment, in hex.
        case withheld(commitment: String)
        /// The record has no location.
        case absent
    }

    /// Which seal stamped.
    package struct Seal: Sendable, Hashable {
        /// The chip ID, 32 hex digits.
        package var chipID: String
        /// The organization the chip signs.
        package var organizationName: String
        /// The seal name the chip signs.
        package var sealName: String
        /// The physical-feature hash the chip signs, hex.
        package var featureHash: String
        /// SHA-256 of the seal public key, hex.
        package var keyID: String
        /// The device certificate's subject, issuer and validity (nil when it does not parse).
        package var certificate: Certificate?
        /// The seal image hash the chip signs in this stamp, hex (nil: the seal has no image).
        package var signedImageHash: String?
        /// The personalization event of this chip in the ledger, if any: its index and registered image hash.
        package var personalization: Personalization?
        /// The registered seal image (PNG) when the caller had it and it hashes to the signed hash.
        package var imagePNG: [UInt8]?

        /// The device certificate as the report shows it.
        package struct Certificate: Sendable, Hashable {
            /// The subject distinguished name.
            package var subject: String
            /// The issuer distinguished name.
            package var issuer: String
            /// The certificate serial number, hex.
            package var serialNumber: String
            /// Not valid before.
            package var notValidBefore: Date
            /// Not valid after.
            package var notValidAfter: Date
        }

        /// The personalization lifecycle event the seal's image was registered in.
        package struct Personalization: Sendable, Hashable {
            /// Its ledger index.
            package var index: UInt64
            /// When the issuer says it happened (seconds since 1970).
            package var time: UInt64
            /// The registered seal image hash, hex (nil: registered without an image).
            package var imageHash: String?
            /// The organization and seal name it registered.
            package var organizationName: String
            /// The seal name it registered.
            package var sealName: String

            /// A personalization event.
            package init(index: UInt64, time: UInt64, imageHash: String?, organizationName: String, sealName: String) {
                self.index = index
                self.time = time
                self.imageHash = imageHash
                self.organizationName = organizationName
                self.sealName = sealName
            }
        }

        /// How the registered image hash compares with the one the chip signs.
        package var imageComparison: ImageComparison {
            guard let personalization else { return .noRegistration }
            switch (personalization.imageHash, signedImageHash) {
            case (nil, nil): return .noImage
            case (let registered?, let signed?) where registered == signed: return .matches
            default: return .differs
            }
        }
    }

    /// How the seal image registered at personalization compares with the one the chip signs.
    package enum ImageComparison: String, Sendable, Hashable {
        /// The same hash.
        case matches
        /// Different hashes (or only one side has an image).
        case differs
        /// Neither names an image.
        case noImage = "no image"
        /// The ledger holds no personalization event of the chip.
        case noRegistration = "no personalization event"
    }

    /// Who stamped.
    package struct Who: Sendable, Hashable {
        /// The operator's organization unit (signed in clear).
        package var organizationUnit: String?
        /// The approval node (signed in clear).
        package var approvalNode: String?
        /// The operator ID.
        package var operatorID: PersonalValue
        /// The operator's biometric reference (SHA-256 of the matched template), hex.
        package var biometricReference: PersonalValue
        /// The stamping device.
        package var deviceFingerprint: PersonalValue
    }

    /// When it was stamped.
    package struct When: Sendable, Hashable {
        /// The time the stamp claims (signed metadata), seconds since 1970.
        package var claimed: UInt64
        /// The earliest witness cosignature on the checkpoint that covers the entry: the entry was in
        /// the log by then.
        package var cosignedBound: UInt64?
        /// The witness whose cosignature gives the bound.
        package var cosignedBoundWitness: String?
        /// Whether that cosignature was verified under a trusted witness key.
        package var cosignedBoundVerified: Bool
        /// The RFC 3161 time-stamp bound, when the record carries a token a trusted TSA signed.
        package var timestampBound: Date?
        /// The watermark's expiry (seconds since 1970).
        package var expiry: UInt64
    }

    /// Which document.
    package struct Document: Sendable, Hashable {
        /// The name signed in clear, if any.
        package var name: String?
        /// The SHA-256 the chip signed, hex.
        package var digest: String
        /// The serial and expiration code printed on the document.
        package var serial: String
        /// The expiration code.
        package var expirationCode: String
        /// The stamp counter.
        package var counter: UInt32
    }

    /// One verification check and its outcome.
    package struct Check: Sendable, Hashable {
        /// The check's ID (`stamp-signature`, `inclusion-proof`, …).
        package var id: String
        /// `passed`, `failed` or `skipped`.
        package var outcome: String
        /// What was compared.
        package var detail: String
        /// Which verifier ran it: `stamp` (StampVerifier) or `ledger`.
        package var group: String

        /// A check.
        package init(id: String, outcome: String, detail: String, group: String) {
            self.id = id
            self.outcome = outcome
            self.detail = detail
            self.group = group
        }
    }

    /// The inclusion proof of the entry in the checkpoint.
    package struct Proof: Sendable, Hashable {
        /// The log's origin.
        package var origin: String
        /// The entry's index.
        package var index: UInt64
        /// The checkpoint's tree size.
        package var treeSize: UInt64
        /// The checkpoint's root hash, base64.
        package var rootHash: String
        /// The record hash (SHA-256 of the leaf bytes), hex.
        package var recordHash: String
        /// The proof's hashes, base64, leaf to root.
        package var hashes: [String]
        /// The checkpoint note as served.
        package var checkpointNote: String
    }

    /// One cosignature line of the checkpoint.
    package struct Witness: Sendable, Hashable {
        /// The witness's key name.
        package var name: String
        /// Its key ID, 8 hex digits.
        package var keyID: String
        /// The cosignature's time (seconds since 1970), when the line is a cosignature.
        package var time: UInt64?
        /// `verified`, `invalid`, `not checked` (no trusted key for it) or `collected` (by the ledger itself).
        package var status: String
    }

    /// One entry of the seal's history in the ledger.
    package struct HistoryEntry: Sendable, Hashable {
        /// The ledger index.
        package var index: UInt64
        /// The entry kind (`stamp-record`, `lifecycle-event`, …).
        package var kind: String
        /// The lifecycle event (`personalized`, `suspended`, …), for an event.
        package var event: String?
        /// The event's time (seconds since 1970), for an event.
        package var time: UInt64?
        /// The stamp counter (records, evidence), the final counter (termination) or the newest (audit).
        package var counter: UInt32?
        /// A short description of the rest.
        package var detail: String
        /// For a personalization: the seal it registered.
        package var personalization: Seal.Personalization?

        /// An entry.
        package init(index: UInt64, kind: String, event: String? = nil, time: UInt64? = nil, counter: UInt32? = nil,
                     detail: String = "", personalization: Seal.Personalization? = nil) {
            self.index = index
            self.kind = kind
            self.event = event
            self.time = time
            self.counter = counter
            self.detail = detail
            self.personalization = personalization
        }
    }

    /// One alert about the seal (issue 11's alert kinds).
    package struct Alert: Sendable, Hashable {
        /// The alert's ID.
        package var id: Int
        /// Its kind, e.g. `verification-failed`.
        package var kind: String
        /// When it was raised (RFC 3339).
        package var raisedAt: String
        /// The entry it concerns, if any.
        package var entryIndex: UInt64?
        /// Whether an authenticated caller raised it.
        package var authenticated: Bool
        /// Its detail, as text.
        package var detail: String

        /// An alert.
        package init(id: Int, kind: String, raisedAt: String, entryIndex: UInt64?, authenticated: Bool, detail: String) {
            self.id = id
            self.kind = kind
            self.raisedAt = raisedAt
            self.entryIndex = entryIndex
            self.authenticated = authenticated
            self.detail = detail
        }
    }

    /// The report's viewer.
    package var viewer: Viewer
    /// When the report was made.
    package var generatedAt: Date
    /// Which seal.
    package var seal: Seal
    /// Who.
    package var who: Who
    /// When.
    package var when: When
    /// Where.
    package var location: Location
    /// Which document.
    package var document: Document
    /// Every check, the stamp's first, then the ledger's.
    package var checks: [Check]
    /// The inclusion proof.
    package var proof: Proof
    /// The checkpoint's cosignatures.
    package var witnesses: [Witness]
    /// The seal's history in the ledger, oldest first.
    package var history: [HistoryEntry]
    /// The seal's alerts; nil when no alert source was available.
    package var alerts: [Alert]?

    /// Whether no check failed.
    package var isValid: Bool { !checks.contains { $0.outcome == "failed" } }
}
